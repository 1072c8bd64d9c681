"""A small stand-in for the Hugging Face hub on 127.0.0.1, for download tests.

It speaks the parts of the hub API that huggingface_hub uses to plan and fetch files:
- GET  /api/models/{repo}[/revision/{rev}][?blobs=true]  model info with siblings (size,
  blobId, lfs {sha256, size, pointerSize})
- GET  /api/models/{repo}/tree/{rev}?recursive=...          tree listing (snapshot_download)
- POST /api/models/{repo}/paths-info/{rev}                  paths info
- HEAD/GET /{repo}/resolve/{rev}/{path}                     X-Repo-Commit, ETag, Range (206);
  LFS files redirect (302, X-Linked-Etag / X-Linked-Size) to /lfs/{sha256} on the same server,
  as the real hub redirects to its CDN.
Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) like the hub.

Faults for tests: `cut_once[path] = n` sends n body bytes then drops the connection once;
`stall[path] = n` sends n bytes and then hangs until the server stops; `tamper[path] = data`
serves other bytes than the metadata describes. Every request is logged in `requests`.
The server binds an ephemeral port on 127.0.0.1 and stops itself after `lifetime_s`.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".onnx", ".onnx_data", ".safetensors", ".bin")


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str

    def meta(self, path: str) -> dict:
        data = self.files[path]
        blob = hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()
        out = {"path": path, "size": len(data), "blob_id": blob, "lfs": None}
        if path.endswith(LFS_SUFFIXES):
            out["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        return out


@dataclass
class Logged:
    method: str
    path: str
    range: str | None


@dataclass
class FakeHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    requests: list[Logged] = field(default_factory=list)
    cut_once: dict[str, int] = field(default_factory=dict)
    stall: dict[str, int] = field(default_factory=dict)
    tamper: dict[str, bytes] = field(default_factory=dict)
    lifetime_s: float = 120.0

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> str:
        commit = hashlib.sha1(repr(sorted((k, v) for k, v in files.items())).encode()).hexdigest()
        self.repos[repo_id] = Repo(dict(files), commit)
        return commit

    def gets(self, path: str) -> list[Logged]:
        """Data requests (GET) whose URL ends with `path`."""
        return [r for r in self.requests if r.method == "GET" and r.path.endswith(path)]

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeHub:
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.timer = threading.Timer(self.lifetime_s, self.stop)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.release.set()
        self.timer.cancel()
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/(?P<kind>revision|tree|paths-info)/(?P<rev>[^/]+))?")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_LFS = re.compile(r"^/lfs/(?P<repo>[^/]+/[^/]+)/(?P<sha>[0-9a-f]{64})$")


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_HEAD(self) -> None:
            self._route(body=False)

        def do_GET(self) -> None:
            self._route(body=True)

        def do_POST(self) -> None:
            self._route(body=True)

        # -- routing -----------------------------------------------------------------------
        def _route(self, body: bool) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            hub.requests.append(Logged(self.command, path, self.headers.get("Range")))
            if m := _API.match(path):
                return self._api(m, parse_qs(url.query))
            if m := _RESOLVE.match(path):
                return self._resolve(m["repo"], m["rev"], m["path"], body)
            if m := _LFS.match(path):
                repo = hub.repos.get(m["repo"])
                for rel in (repo.files if repo else {}):
                    if (repo.meta(rel)["lfs"] or {}).get("sha256") == m["sha"]:
                        return self._send_file(repo, rel, body)
            self._error(404, "EntryNotFound")

        def _repo(self, repo_id: str, rev: str | None) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound")
            elif rev not in (None, "main", repo.commit):
                self._error(404, "RevisionNotFound")
            else:
                return repo
            return None

        def _api(self, m: re.Match, query: dict) -> None:
            repo = self._repo(m["repo"], unquote(m["rev"]) if m["rev"] else None)
            if repo is None:
                return
            kind = m["kind"] or "revision"
            if kind == "revision":
                blobs = query.get("blobs", ["false"])[0].lower() == "true"
                return self._json({
                    "_id": "0" * 24, "id": m["repo"], "modelId": m["repo"], "sha": repo.commit,
                    "private": False, "disabled": False, "gated": False, "tags": ["onnx"],
                    "lastModified": "2024-06-01T00:00:00.000Z", "downloads": 0, "likes": 0,
                    "siblings": [_sibling(repo.meta(p), blobs) for p in sorted(repo.files)],
                })
            if kind == "tree":
                dirs = sorted({p.rsplit("/", 1)[0] for p in repo.files if "/" in p})
                entries = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in dirs]
                return self._json(entries + [_tree_entry(repo.meta(p)) for p in sorted(repo.files)])
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            wanted = [p for p in form.get("paths", []) if p in repo.files]
            return self._json([_tree_entry(repo.meta(p)) for p in wanted])

        def _resolve(self, repo_id: str, rev: str, path: str, body: bool) -> None:
            repo = self._repo(repo_id, rev)
            if repo is None:
                return
            if path not in repo.files:
                return self._error(404, "EntryNotFound", {"X-Repo-Commit": repo.commit})
            meta = repo.meta(path)
            if meta["lfs"]:
                sha = meta["lfs"]["sha256"]
                self.send_response(302)
                self.send_header("Location", f"/lfs/{repo_id}/{sha}")
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(meta["size"]))
                self.send_header("ETag", f'"{meta["blob_id"]}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send_file(repo, path, body)

        # -- responses ---------------------------------------------------------------------
        def _send_file(self, repo: Repo, path: str, body: bool) -> None:
            meta = repo.meta(path)
            data = hub.tamper.get(path, repo.files[path])
            start, status = 0, 200
            if (rng := self.headers.get("Range")) and (m := re.match(r"bytes=(\d+)-(\d*)$", rng)):
                start = int(m[1])
                if start >= len(data):
                    return self._error(416, "RangeNotSatisfiable")
                status = 206
            chunk = data[start:]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(chunk)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("X-Repo-Commit", repo.commit)
            etag = meta["lfs"]["sha256"] if meta["lfs"] else meta["blob_id"]
            self.send_header("ETag", f'"{etag}"')
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            if self.command == "GET" and path in hub.cut_once:
                self.wfile.write(chunk[: hub.cut_once.pop(path)])
                self.close_connection = True
                return
            if self.command == "GET" and path in hub.stall:
                self.wfile.write(chunk[: hub.stall[path]])
                self.wfile.flush()
                hub.release.wait(60)
                self.close_connection = True
                return
            self.wfile.write(chunk)

        def _json(self, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self, status: int, code: str, extra: dict | None = None) -> None:
            data = json.dumps({"error": code}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


def _sibling(meta: dict, blobs: bool) -> dict:
    if not blobs:
        return {"rfilename": meta["path"]}
    out = {"rfilename": meta["path"], "size": meta["size"], "blobId": meta["blob_id"]}
    if meta["lfs"]:
        out["lfs"] = {"sha256": meta["lfs"]["sha256"], "size": meta["size"], "pointerSize": 134}
    return out


def _tree_entry(meta: dict) -> dict:
    out = {"type": "file", "oid": meta["blob_id"], "size": meta["size"], "path": meta["path"]}
    if meta["lfs"]:
        out["lfs"] = {"oid": meta["lfs"]["sha256"], "size": meta["size"], "pointerSize": 134}
    return out
