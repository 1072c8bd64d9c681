"""POST /describe with a PDF: a real `lumen serve` process and a real HTTP client over a socket."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.require import require

from tests.support.pdf_writer import Block, PageSpec, encrypted_copy, many_pages, prose_page, write_pdf
from tests.test_serve import ROOT, _b64, _env, _lumen, start_server, stop_server

requests = require("requests")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("serve-documents") / "report.pdf",
                     [prose_page(2), PageSpec([[Block("The last page says goodbye.")]])])


@pytest.fixture(scope="module")
def server(tiny_blip_onnx: Path, tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("serve"), "--model", str(tiny_blip_onnx), "--device", "cpu")
    yield running
    stop_server(running)


def test_a_pdf_is_answered_with_its_pages_as_lumen_describe_json_gives_them(server, pdf: Path, tmp_path: Path,
                                                                           tiny_blip_onnx: Path) -> None:
    cli = subprocess.run(_lumen("describe", str(pdf), "--json", "--model", str(tiny_blip_onnx), "--device", "cpu"),
                         cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    answer = requests.post(f"{server.url}/describe", json={"image": _b64(pdf.read_bytes())}, timeout=120)
    assert answer.status_code == 200, answer.text
    pages = answer.json()["pages"]
    assert [(p["page"], p["pages"]) for p in pages] == [(1, 2), (2, 2)]
    for got, want in zip(pages, expected):
        assert got["image"] == "request" and set(got) == set(want)
        assert (got["caption"], got["kind"], got["text_layer"]) == (want["caption"], want["kind"], want["text_layer"])
    one = requests.post(f"{server.url}/describe", json={"image": _b64(pdf.read_bytes()), "pages": "2"}, timeout=60)
    assert [p["caption"] for p in one.json()["pages"]] == ["The last page says goodbye."]


def test_bad_documents_are_answered_400_with_one_sentence(server, pdf: Path, tmp_path: Path) -> None:
    locked = encrypted_copy(pdf, tmp_path / "locked.pdf", "sesame").read_bytes()
    long = many_pages(tmp_path / "long.pdf", 101).read_bytes()
    for body, says in [({"image": _b64(locked)}, "locked with a password"),
                       ({"image": _b64(locked), "password": "nope"}, "password for the document is wrong"),
                       ({"image": _b64(b"%PDF-1.7\n" + b"\x00" * 200)}, "damaged or not a PDF"),
                       ({"image": _b64(pdf.read_bytes()), "pages": "3"}, "Page 3 is past the end"),
                       ({"image": _b64(long)}, "ask for at most 100 at a time")]:
        answer = requests.post(f"{server.url}/describe", json=body, timeout=60)
        assert answer.status_code == 400 and says in answer.json()["error"], answer.text
    opened = requests.post(f"{server.url}/describe", json={"image": _b64(locked), "password": "sesame",
                                                           "pages": "2"}, timeout=60)
    assert opened.status_code == 200 and opened.json()["pages"][0]["caption"] == "The last page says goodbye."
