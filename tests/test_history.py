"""History: an SQLite database (WAL), one row per result, rewritten in place when a conversation grows."""
from __future__ import annotations

from desktop.results.history import HistoryStore


def test_replace_text_rewrites_one_entry_and_keeps_the_others(tmp_path):
    store = HistoryStore(tmp_path)
    first = store.add(source="screen", task="ask", detail="", text="Question: a\nAnswer: b", uncertain=False)
    other = store.add(source="x.png", task="caption", detail="brief", text="A cat.", uncertain=False)
    updated = store.replace_text(first.id, "Question: a\nAnswer: b\n\nQuestion: c\nAnswer: d")
    assert updated is not None and updated.id == first.id and updated.created == first.created
    assert [e.text for e in store.entries()] == ["A cat.", "Question: a\nAnswer: b\n\nQuestion: c\nAnswer: d"]
    assert store.entries()[0] == other
    store.clear()
    assert store.replace_text(first.id, "gone") is None and store.entries() == []


def test_old_jsonl_history_is_taken_over_once_and_trimmed_to_the_limit(tmp_path):
    import json

    old = [{"id": f"id{i}", "created": "2026-01-01T00:00:00+00:00", "source": "screen",
            "task": "caption", "detail": "brief", "text": f"t{i}", "uncertain": False,
            "thumbnail": ""} for i in range(5)]
    (tmp_path / "history.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in old) + "{damaged\n", encoding="utf-8")
    store = HistoryStore(tmp_path, limit=3)
    assert [e.text for e in store.entries()] == ["t4", "t3", "t2"]
    assert not (tmp_path / "history.jsonl").exists()
    store.add(source="screen", task="caption", detail="brief", text="new", uncertain=True)
    assert [e.text for e in store.entries()] == ["new", "t4", "t3"]
    assert store.entries()[0].uncertain is True


def test_trim_removes_thumbnails_and_clear_removes_the_database(tmp_path):
    from PIL import Image

    store = HistoryStore(tmp_path, limit=2)
    for i in range(4):
        store.add(source="screen", task="caption", detail="brief", text=f"t{i}", uncertain=False,
                  image=Image.new("RGB", (30, 20), (i, 0, 0)))
    kept = store.entries()
    assert [e.text for e in kept] == ["t3", "t2"]
    assert sorted(p.name for p in store.thumbs.iterdir()) == sorted(e.thumbnail for e in kept)
    store.clear()
    assert list(tmp_path.iterdir()) == [] and store.entries() == []


def test_a_damaged_database_starts_a_new_history(tmp_path):
    (tmp_path / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    store = HistoryStore(tmp_path)
    assert store.entries() == []
    store.add(source="screen", task="caption", detail="brief", text="after", uncertain=False)
    assert [e.text for e in store.entries()] == ["after"]
