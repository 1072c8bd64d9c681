"""History: one JSON line per result, rewritten in place when a conversation grows."""
from __future__ import annotations

from desktop.history import HistoryStore


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
