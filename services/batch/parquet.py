"""Parquet output: written from the journal, in row groups, at the end of every run.

The columns are the keys of the lines (`lumen describe --json`'s, `error`, `file_size`,
`file_mtime_ns`), typed: lists and structs as Parquet's own, `timings_ms` a map (its keys vary
with the task), `tags` a list of {word, probability}. A key Lumen does not know yet is kept as
its JSON text. Written to a temporary file and renamed: a reader never sees half a file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from models.fsutil import replace_synced
from services.batch.journal import read_rows

ROWS_PER_GROUP = 10_000

_BOX = pa.list_(pa.float64())
KNOWN: dict[str, pa.DataType] = {
    "image": pa.string(),
    "page": pa.int64(),
    "caption": pa.string(),
    "token_ids": pa.list_(pa.int64()),
    "confidence": pa.float64(),
    "uncertain": pa.bool_(),
    "alternatives": pa.list_(pa.string()),
    "objects": pa.list_(pa.struct([("label", pa.string()), ("box", _BOX)])),
    "task": pa.string(),
    "detail": pa.string(),
    "model": pa.string(),
    "provider": pa.string(),
    "timings_ms": pa.map_(pa.string(), pa.float64()),
    "kind": pa.string(),
    "lines": pa.list_(pa.struct([("text", pa.string()), ("box", _BOX), ("confidence", pa.float64())])),
    "language": pa.string(),
    "text": pa.string(),
    "tags": pa.list_(pa.struct([("word", pa.string()), ("probability", pa.float64())])),
    "english_captions": pa.list_(pa.string()),
    "error": pa.string(),
    "file_size": pa.int64(),
    "file_mtime_ns": pa.int64(),
}


def _schema(journal: Path) -> pa.Schema:
    seen: dict[str, None] = {}
    for row in read_rows(journal):
        seen.update(dict.fromkeys(row))
    names = [k for k in KNOWN if k in seen] + [k for k in seen if k not in KNOWN]
    return pa.schema([(name, KNOWN.get(name, pa.string())) for name in names])


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "tags":
        return [{"word": word, "probability": score} for word, score in value]
    if name not in KNOWN:
        return json.dumps(value, ensure_ascii=False)
    return value


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    columns = [pa.array([_value(f.name, row.get(f.name)) for row in rows], type=f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def write_parquet(journal: Path, out: Path) -> int:
    """Write every line of `journal` to the Parquet file `out`; returns the number of rows."""
    schema = _schema(journal) if journal.exists() else pa.schema([("image", pa.string())])
    temporary = out.with_name(out.name + ".tmp")
    written = 0
    with pq.ParquetWriter(temporary, schema) as writer:
        rows: list[dict[str, Any]] = []
        for row in read_rows(journal) if journal.exists() else ():
            rows.append(row)
            if len(rows) == ROWS_PER_GROUP:
                writer.write_table(_table(rows, schema))
                written, rows = written + len(rows), []
        if rows or not written:
            writer.write_table(_table(rows, schema))
            written += len(rows)
    replace_synced(temporary, out)
    return written


def read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a batch's Parquet file as dictionaries (tests, small files)."""
    return pq.read_table(path).to_pylist()
