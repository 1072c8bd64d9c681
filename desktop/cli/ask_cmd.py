"""`lumen ask IMAGE [QUESTION...]`: answer questions about one picture.

Each QUESTION gets its own answer, in order, from the picture encoded once. Without QUESTION
the questions are read from standard input, one per line, as one conversation: earlier
questions and answers are in the prompt of the next. `--json` prints one object per question:
image, question, answer, token_ids, confidence, model, provider, timings_ms.

Same errors and exit statuses as `lumen describe`: one line on stderr; 0 all answered, 2 the
picture cannot be read, 3 no usable model, 4 the model failed, 7 --lang not installed, 12
argostranslate not installed. Errors are raised; desktop/cli/__init__.py maps them to their status.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from desktop.cli.common import add_model_arguments, whole_number
from models.errors import LumenError, ModelFolderError


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="the picture to ask about")
    parser.add_argument("questions", nargs="*", metavar="QUESTION",
                        help="questions, each one argument (default: one per line from standard input, "
                             "as a conversation)")
    add_model_arguments(parser)
    parser.add_argument("--max-tokens", type=whole_number(1), metavar="N", help="longest answer in tokens")
    parser.add_argument("--seed", type=whole_number(0), metavar="N",
                        help="sample the answer with this seed (reproducible); default: the most likely answer")
    parser.add_argument("--lang", metavar="CODE",
                        help="questions and answers in this installed language, e.g. de (translated "
                             "offline to English for the model and back)")
    parser.add_argument("--one-tile", action="store_true",
                        help="encode the picture as one tile: several times faster, less detail")
    parser.add_argument("--json", action="store_true", help="one JSON object per question and per line")


class _Translation:
    """--lang: the question to English for the model, the answer back."""

    def __init__(self, lang: str | None) -> None:
        self.lang = lang.strip() if lang and lang.strip() != "en" else None
        if self.lang:
            from models.errors import require_extra
            from services.translation import translation_route

            require_extra("translate", "argostranslate", what="--lang")
            translation_route(self.lang)  # English -> lang
            translation_route("en", self.lang)  # lang -> English

    def question(self, text: str) -> str:
        if not self.lang:
            return text
        from services.translation import translate

        return translate(text, "en", self.lang)

    def answer(self, text: str) -> str:
        if not self.lang:
            return text
        from services.translation import translate

        return translate(text, self.lang)


def _stdin_questions() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _model_folder(args: argparse.Namespace) -> Path | None:
    if getattr(args, "model", None):
        return Path(args.model)
    from models.asker import installed_ask_model

    return installed_ask_model()


def run(args: argparse.Namespace) -> None:
    from models.asker import Asker, install_hint

    translation = _Translation(args.lang)
    folder = _model_folder(args)
    if folder is None:
        raise ModelFolderError(f"no question-answering model is installed; {install_hint()}, or pass --model DIR")
    asker = Asker.load(folder, device=args.device, dtype=args.dtype, threads=args.threads, one_tile=args.one_tile)
    try:
        first = asker.conversation(Path(args.image))
    except LumenError as e:  # said with the picture's name, as `lumen describe` does
        e.args = (f"{args.image}: {e}",)
        raise
    together = not args.questions  # standard input is one conversation
    asked = 0
    for question in (args.questions or _stdin_questions()):
        if not " ".join(question.split()):
            continue
        chat = first if together or asked == 0 else first.restart()
        asked += 1
        answer = chat.ask(translation.question(question), max_tokens=args.max_tokens, seed=args.seed)
        answer.question, answer.answer = question, translation.answer(answer.answer)
        if args.json:
            print(json.dumps(answer.to_json(args.image), ensure_ascii=False), flush=True)
        else:
            print(answer.answer, flush=True)
