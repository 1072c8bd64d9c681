"""`lumen batch --write-xmp`: each caption in an XMP sidecar beside its picture (pyexiv2).

`photo.jpg` gets `photo.xmp` (the Adobe convention Lightroom, Bridge and Photo Mechanic read;
digiKam reads it with "sidecar file names compatible with commercial programs" on): the caption
as `dc:description` (x-default, and the `--lang` translation under its language), keywords
(`--tags`) added to `dc:subject`, `xmp:CreatorTool` Lumen and its version, and the model in
Lumen's own namespace (`lumen:model`, `lumen:confidence`). The picture itself is never opened
for writing. An existing sidecar keeps every other field (and its own keywords): a copy is
changed, synced and renamed over it, so a stop never leaves half a sidecar.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from models.errors import MissingExtraError, missing_packages
from models.fsutil import replace_synced
from models.version import lumen_version

NAMESPACE = "http://ns.lumen.invalid/1.0/"  # Lumen's own fields; an XMP namespace is only a name
EMPTY = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
         '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
         '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>\n')
_registered = False


def require_pyexiv2() -> None:
    if missing_packages("pyexiv2"):
        raise MissingExtraError("--write-xmp needs pyexiv2", "xmp")


def sidecar_path(image: str | Path) -> Path:
    return Path(image).with_suffix(".xmp")


def _register(pyexiv2: Any) -> None:
    global _registered
    if not _registered:
        try:
            pyexiv2.registerNs(NAMESPACE, "lumen")
        except Exception:  # noqa: BLE001 - already registered in this process
            pass
        _registered = True


def write_sidecar(row: dict[str, Any]) -> Path | None:
    """Write the caption of one described picture (a batch line) into its sidecar; None for a
    line with nothing to write (an error, a document page)."""
    if "error" in row or "page" in row or not str(row.get("caption", "")).strip():
        return None
    import pyexiv2

    _register(pyexiv2)
    path = sidecar_path(row["image"])
    temporary = path.with_name(path.name + ".tmp")
    if path.exists():
        shutil.copyfile(path, temporary)
    else:
        temporary.write_text(EMPTY, encoding="utf-8")
    try:
        sidecar = pyexiv2.Image(str(temporary))
        try:
            old = sidecar.read_xmp().get("Xmp.dc.subject") or []
            description = {'lang="x-default"': row["caption"]}
            if row.get("language") and row.get("text") and row["language"] != "en":
                description[f'lang="{row["language"]}"'] = row["text"]
            words = [tag[0] if isinstance(tag, (list, tuple)) else str(tag) for tag in row.get("tags") or []]
            values: dict[str, Any] = {
                "Xmp.dc.description": description,
                "Xmp.xmp.CreatorTool": f"Lumen {lumen_version()}",
                "Xmp.lumen.model": str(row.get("model", "")),
                "Xmp.lumen.confidence": str(row.get("confidence", "")),
            }
            if words:
                values["Xmp.dc.subject"] = list(dict.fromkeys([*(old if isinstance(old, list) else [old]), *words]))
            sidecar.modify_xmp(values)
        finally:
            sidecar.close()
        replace_synced(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
