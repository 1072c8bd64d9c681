"""Offline translation with tiny Argos packages built in the test run (tests/support/tiny_argos.py)."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from services import translation
from services.argos_install import install_translation_package, main as install_main
from services.errors import TranslationError
from services.translation import Language, Translator, installed_languages, installed_packages
from tests.support.tiny_argos import argosmodel_name, build_minisbd_model, without_splitter

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("argostranslate", "stanza", "spacy", "torch", "ctranslate2", "transformers")
S1 = "A dog sits on a red sofa."
S2 = "A cat sleeps on a wooden table."


def _no_fetch(url: str, dest: Path) -> None:
    raise AssertionError(f"unexpected download of {url}")


@pytest.fixture(scope="module")
def packages(tiny_argos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """en-de and fr-en installed into a fresh packages folder."""
    folder = tmp_path_factory.mktemp("argos-packages")
    for pair in (("en", "de"), ("fr", "en")):
        install_translation_package(tiny_argos / argosmodel_name(*pair), folder, fetch=_no_fetch)
    return folder


class Server:
    """Serves a folder on 127.0.0.1 (allowed by the socket guard) and logs the paths asked."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_request(self, *args) -> None:
                log.append(self.path)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    s = Server(root)
    s.root = root
    yield s
    s.close()


def test_install_from_file_needs_no_network(no_network, tiny_argos: Path, tmp_path: Path) -> None:
    pkg = install_translation_package(tiny_argos / argosmodel_name("en", "de"), tmp_path)
    assert (pkg.from_code, pkg.to_code, pkg.to_name, pkg.splitter) == ("en", "de", "German", "minisbd")
    assert installed_languages(tmp_path) == [Language("de", "German")]
    assert [p.pair for p in installed_packages(tmp_path)] == ["en-de"]


def test_translates_offline_and_deterministically(no_network, packages: Path) -> None:
    out = Translator(packages).translate(S1, "de")
    assert out.strip() and out != S1
    assert Translator(packages).translate(S1, "de") == out  # a fresh load gives the same
    assert Translator(packages).translate(S2, "de") != out  # and it depends on the input


def test_output_is_the_packages_own_ctranslate2_model(packages: Path) -> None:
    """Checked against CTranslate2 and SentencePiece run directly on the package's files."""
    import ctranslate2
    import sentencepiece

    pkg = next(p for p in installed_packages(packages) if p.pair == "en-de")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(pkg.path / "sentencepiece.model"))
    model = ctranslate2.Translator(str(pkg.path / "model"), compute_type="auto")  # as argos
    result = model.translate_batch([sp.encode(S1, out_type=str)], beam_size=4,
                                   length_penalty=0.2, replace_unknowns=True)
    expected = sp.decode_pieces(result[0].hypotheses[0]).replace("\u2581", " ").strip()
    assert Translator(packages).translate(S1, "de").strip() == expected


def test_sentences_are_split_by_the_packaged_model(packages: Path) -> None:
    t = Translator(packages)
    one, both = t.translate(S1, "de"), t.translate(f"{S1} {S2}", "de")
    assert both.startswith(one) and len(both) > len(one)  # each sentence translated alone
    splitter = next(iter(t._loaded.values())).sentencizer
    assert type(splitter).__name__ == "MiniSBDSentencizer"
    assert splitter.split_sentences(f"{S1} {S2} Why?") == [S1, S2, "Why?"]


def test_pivots_through_english(no_network, packages: Path) -> None:
    t = Translator(packages)
    text = "Un chien est assis sur un canape rouge."
    english = t.translate(text, "en", from_code="fr")
    assert english != text
    assert t.translate(text, "de", from_code="fr") == t.translate(english, "de")


def test_line_breaks_and_same_language_are_kept(packages: Path) -> None:
    t = Translator(packages)
    out = t.translate(f"{S1}\n\n{S2}", "de")
    lines = out.split("\n")
    assert len(lines) == 3 and lines[1] == "" and lines[0] == t.translate(S1, "de")
    assert t.translate(S1, "en") == S1
    assert t.translate("   ", "de") == "   "


def test_missing_languages_say_what_to_install(packages: Path) -> None:
    t = Translator(packages)
    with pytest.raises(TranslationError, match="install-translation en-ru"):
        t.translate(S1, "ru")
    with pytest.raises(TranslationError, match="install-translation es-en"):
        t.translate("Hola.", "de", from_code="es")
    assert installed_languages(packages) == [Language("de", "German")]


def test_module_functions_use_the_packages_env_folder(packages: Path, monkeypatch) -> None:
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(packages))
    assert translation.packages_dir() == packages
    assert translation.installed_languages() == [Language("de", "German")]
    assert translation.translate(S1, "de") == Translator(packages).translate(S1, "de")


def test_listing_and_checking_do_not_import_argostranslate(packages: Path) -> None:
    script = f"""
import sys
from services.translation import installed_languages, translation_route
from services.speech import Speaker
import desktop.cli.speech_options as so
import argparse
p = argparse.ArgumentParser(); so.add_arguments(p)
with so.output(p.parse_args([])) as speech:
    assert speech.apply(None, {{"caption": "x"}}) == {{"caption": "x"}}
assert [l.code for l in installed_languages()] == ["de"]
translation_route("de")
so.SpeechOutput(lang="de")  # checks --lang without loading anything
print(sorted(m for m in {HEAVY!r} + ("pyttsx3",) if m in sys.modules))
"""
    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(packages)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_offline_install_without_a_splitter_falls_back_to_rules(
        no_network, tiny_argos: Path, tmp_path: Path) -> None:
    bare = without_splitter(tiny_argos / argosmodel_name("en", "de"), tmp_path / "bare.argosmodel")

    def offline(url: str, dest: Path) -> None:
        raise OSError("network is unreachable")

    monkeypatch_home = tmp_path / "home"  # no cached MiniSBD models to copy from
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "home", staticmethod(lambda: monkeypatch_home))
        mp.setenv("XDG_DATA_HOME", str(monkeypatch_home / "share"))
        pkg = install_translation_package(bare, tmp_path / "pk", fetch=offline)
    assert pkg.splitter == "rules"
    t = Translator(tmp_path / "pk")
    one, both = t.translate(S1, "de"), t.translate(f"{S1} {S2}", "de")
    assert one != S1 and both.startswith(one)
    assert type(next(iter(t._loaded.values())).sentencizer).__name__ == "RuleSentencizer"


def test_install_fetches_the_splitter_a_package_lacks(
        no_network, tiny_argos: Path, tmp_path: Path, server: Server) -> None:
    bare = without_splitter(tiny_argos / argosmodel_name("en", "de"), tmp_path / "bare.argosmodel")
    build_minisbd_model(server.root / "en.onnx", "en")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "home", staticmethod(lambda: tmp_path / "home"))
        mp.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "share"))
        pkg = install_translation_package(bare, tmp_path / "pk", splitter_url=server.url)
    assert pkg.splitter == "minisbd" and (pkg.path / "minisbd" / "en.onnx").is_file()
    assert server.requests == ["/en.onnx"]
    assert Translator(tmp_path / "pk").translate(S1, "de").strip()


def test_install_pair_from_the_index(no_network, tiny_argos: Path, tmp_path: Path,
                                     server: Server) -> None:
    shutil.copyfile(tiny_argos / argosmodel_name("en", "de"), server.root / "en_de.argosmodel")
    (server.root / "index.json").write_text(json.dumps([
        {"type": "translate", "from_code": "en", "to_code": "de", "package_version": "0.9",
         "links": [server.url + "missing.argosmodel"]},
        {"type": "translate", "from_code": "en", "to_code": "de", "package_version": "1.0",
         "from_name": "English", "to_name": "German",
         "links": [server.url + "missing.argosmodel", server.url + "en_de.argosmodel"]},
    ]))
    pkg = install_translation_package("en-de", tmp_path / "pk", index_url=server.url + "index.json")
    assert pkg.pair == "en-de" and pkg.splitter == "minisbd"
    assert server.requests == ["/index.json", "/missing.argosmodel", "/en_de.argosmodel"]
    with pytest.raises(TranslationError, match="no en-ru package"):
        install_translation_package("en-ru", tmp_path / "pk", index_url=server.url + "index.json")
    assert [p.name for p in (tmp_path / "pk").iterdir()] == ["translate-en_de-1_0"]


def test_reinstalling_a_pair_replaces_it(tiny_argos: Path, tmp_path: Path) -> None:
    src = tiny_argos / argosmodel_name("en", "de")
    renamed = tmp_path / "renamed.argosmodel"
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(renamed, "w") as b:
        for item in a.infolist():
            data = a.read(item)
            if item.filename.endswith("metadata.json"):
                data = json.dumps({**json.loads(data), "package_version": "1.1"}).encode()
            b.writestr(item.filename.replace("translate-en_de-1_0", "translate-en_de-1_1"), data)
    install_translation_package(src, tmp_path / "pk", fetch=_no_fetch)
    pkg = install_translation_package(renamed, tmp_path / "pk", fetch=_no_fetch)
    assert [p.name for p in (tmp_path / "pk").iterdir()] == ["translate-en_de-1_1"]
    assert pkg.version == "1.1"


@pytest.mark.parametrize("members, message", [
    ({"../evil/metadata.json": "{}"}, "unsafe path"),
    ({"a/metadata.json": "{}", "b/x": ""}, "one top folder"),
    ({"a/readme.txt": "hi"}, "no a/metadata.json"),
    ({"a/metadata.json": '{"from_code": "en", "to_code": "de"}'}, "model.bin"),
])
def test_broken_packages_are_refused(tmp_path: Path, members: dict, message: str) -> None:
    archive = tmp_path / "bad.argosmodel"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    with pytest.raises(TranslationError, match=message):
        install_translation_package(archive, tmp_path / "pk", fetch=_no_fetch)
    (tmp_path / "not-a-zip.argosmodel").write_text("hello")
    with pytest.raises(TranslationError, match="not an Argos Translate package"):
        install_translation_package(tmp_path / "not-a-zip.argosmodel", tmp_path / "pk")
    with pytest.raises(TranslationError, match="does not exist"):
        install_translation_package(tmp_path / "nothing.argosmodel", tmp_path / "pk")
    assert list((tmp_path / "pk").iterdir()) == []  # no staging folder left behind


def test_stanza_packages_load_their_model_offline(packages: Path, tmp_path: Path, monkeypatch) -> None:
    """Stanza would fetch resources.json on every load unless told not to."""
    import stanza

    from services.sentence_split import OfflineStanzaSentencizer, sentencizer_for

    src = next(p for p in installed_packages(packages) if p.pair == "en-de").path
    folder = tmp_path / "translate-en_de"
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns("minisbd"))
    (folder / "stanza").mkdir()
    (folder / "stanza" / "resources.json").write_text("{}")
    pkg = translation.TranslationPackage.from_folder(folder)
    assert pkg.splitter == "stanza"
    seen = {}
    monkeypatch.setattr(stanza, "Pipeline", lambda **kwargs: seen.update(kwargs) or "pipeline")
    package, _ = translation._import_argos()
    splitter = sentencizer_for(package.Package(folder), pkg.splitter)
    assert isinstance(splitter, OfflineStanzaSentencizer)
    assert splitter.lazy_pipeline() == "pipeline"
    assert seen["download_method"] is None and seen["dir"] == str(folder / "stanza")


def test_command_line_installer(tiny_argos: Path, tmp_path: Path, capsys) -> None:
    code = install_main([str(tiny_argos / argosmodel_name("fr", "en")), "--dir", str(tmp_path)])
    assert code == 0 and "fr-en" in capsys.readouterr().out
    assert install_main([str(tmp_path / "nope.argosmodel"), "--dir", str(tmp_path)]) == 7
    assert "error: " in capsys.readouterr().err


def test_lumen_models_install_translation(tiny_argos: Path, tmp_path: Path) -> None:
    """Through the real `lumen` command, offline (the guard ends the process on any attempt)."""
    from tests.support.net_guard import NETWORK_EXIT_CODE, guard_site_dir

    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(tmp_path / "pk"),
           "PYTHONPATH": os.pathsep.join([str(guard_site_dir(tmp_path)), str(ROOT)])}
    bare = without_splitter(tiny_argos / argosmodel_name("en", "de"), tmp_path / "bare.argosmodel")
    done = subprocess.run([sys.executable, "-m", "desktop.cli", "models", "install-translation",
                           str(bare), "--offline"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, (done.returncode == NETWORK_EXIT_CODE, done.stderr)
    assert "en-de" in done.stdout and "rules" in done.stdout
    assert [lang.code for lang in installed_languages(tmp_path / "pk")] == ["de"]


def test_a_result_in_a_language_one_rule_for_cli_batch_and_api(packages: Path, monkeypatch) -> None:
    """translate_result (used by describe --lang, batch and POST /describe): a description is
    translated, text read from the picture is kept as read, both labelled with the language."""
    from services import translation
    from services.translation import PACKAGES_ENV, translate_result

    monkeypatch.setenv(PACKAGES_ENV, str(packages))
    translation.forget()
    assert translate_result(S1, "caption", "de") == (Translator(packages).translate(S1, "de"), "de")
    assert translate_result(S1, "caption", "de")[0] != S1
    assert translate_result("STOP\nONE WAY", "ocr", "de") == ("STOP\nONE WAY", "de")
