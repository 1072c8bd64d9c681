"""`lumen describe FILE.pdf` as a user scripts it: a real process, PDFs written by PDFium."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.support.pdf_writer import (
    Block, PageSpec, encrypted_copy, expected_text, prose_page, write_pdf, zero_page_pdf,
)
from tests.test_cli_describe import lumen

PAGES = [prose_page(1), prose_page(2), PageSpec([[Block("The last page says goodbye.")]])]


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("cli-documents") / "report.pdf", PAGES)


def test_json_has_one_object_per_page_in_page_order(pdf: Path) -> None:
    done = lumen("describe", str(pdf), "--json")
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["page"], o["pages"]) for o in objects] == [(1, 3), (2, 3), (3, 3)]
    assert [o["caption"] for o in objects] == [expected_text(p) for p in PAGES]
    assert all(o["image"] == str(pdf) and o["text_layer"] and o["kind"] == "text" for o in objects)
    picked = lumen("describe", str(pdf), "--json", "--pages", "3,1")
    assert [json.loads(line)["page"] for line in picked.stdout.splitlines()] == [3, 1]


def test_plain_output_names_each_page(pdf: Path) -> None:
    done = lumen("describe", str(pdf), "--pages", "3")
    assert done.returncode == 0 and done.stdout == "Page 3 of 3:\nThe last page says goodbye.\n\n"


def test_bad_documents_and_pages_exit_2_with_one_line(pdf: Path, tmp_path: Path) -> None:
    locked = encrypted_copy(pdf, tmp_path / "locked.pdf", "sesame")
    empty = zero_page_pdf(tmp_path / "empty.pdf")
    for args, says in [((str(locked),), "locked.pdf is locked with a password"),
                       ((str(locked), "--password", "nope"), "The password for locked.pdf is wrong"),
                       ((str(empty),), "empty.pdf has no pages"),
                       ((str(pdf), "--pages", "4-5"), "Page 5 is past the end: the document has 3 pages.")]:
        done = lumen("describe", *args)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and says in done.stderr and "Traceback" not in done.stderr
    opened = lumen("describe", str(locked), "--password", "sesame", "--pages", "3")
    assert opened.returncode == 0 and "goodbye" in opened.stdout
    bad_spec = lumen("describe", str(pdf), "--pages", "two")
    assert bad_spec.returncode == 2 and "write pages like 1-3,7" in bad_spec.stderr


def test_a_document_without_its_password_does_not_stop_the_others(pdf: Path, tmp_path: Path) -> None:
    locked = encrypted_copy(pdf, tmp_path / "locked.pdf", "sesame")
    done = lumen("describe", str(locked), str(pdf), "--pages", "3", "--json")
    assert done.returncode == 11 and "locked.pdf is locked" in done.stderr  # some pages described
    assert [json.loads(line)["page"] for line in done.stdout.splitlines()] == [3]


def test_pages_are_printed_as_they_are_read(pdf: Path, monkeypatch, capsys) -> None:
    """Page 2 is not read before page 1's line is out."""
    import models.documents as documents
    from desktop.cli import describe_documents as command
    from desktop.cli.speech_options import SpeechOutput

    real = documents.iter_pages

    def watched(*args, **kwargs):
        for page in real(*args, **kwargs):
            if page.number == 2:
                assert '"page": 1' in capsys.readouterr().out
            yield page

    monkeypatch.setattr(documents, "iter_pages", watched)
    args = argparse.Namespace(images=[str(pdf)], task=None, detail="brief", max_tokens=None, beams=None,
                              alternatives=0, seed=None, json=True, tags=False, pages="1-2", password=None,
                              device="cpu", threads=1, model=str(pdf.parent / "no-model"))
    assert command.run(args, SpeechOutput()) == 0
    assert '"page": 2' in capsys.readouterr().out
