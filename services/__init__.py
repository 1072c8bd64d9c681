"""Speech and offline translation: plain Python services with no Qt.

`services.speech.Speaker` speaks results and writes them to WAV files; `services.translation`
translates English descriptions offline with argostranslate, imported only when used.
"""
