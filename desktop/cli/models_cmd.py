"""`lumen models`: list, install, import, pack, set the default, remove, verify.

Results go to stdout, progress and errors to stderr. Every failure is raised and becomes one
line `error: ...` with its status (desktop/cli/__init__.py): 2 bad input, 3 a model folder problem, 1
network, disk or "no" at a question, 5 export, 12 the export extra missing for --export, 130
cancelled. Nothing installed is deleted unless the user confirms it.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from models import catalogue
from models.catalogue import DTYPE_SUFFIX, EXPORT_DTYPES
from models.errors import CancelledError, LumenError, UsageError
from models.fsutil import human_size
from models.registry import Registry

# Hook for `lumen models install-translation`, owned by the translation engineer: the rest of
# the command line goes to `services.argos_install.run(argv, prog)`, which raises its errors,
# imported only when this subcommand runs (and only if that module exists in this build).
TRANSLATION_HOOK = "services.argos_install"

def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    p = sub.add_parser("list", help="installed models and the ones you can install")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("install", help="download a published model (resumable, verified)")
    p.add_argument("name", nargs="?", help="model to install (default: the recommended one)")
    p.add_argument("--dtype", choices=list(DTYPE_SUFFIX), help="weight precision to download")
    p.add_argument("--export", action="store_true",
                   help="download the original weights and export them (needs lumen[export])")
    p.add_argument("--endpoint", help="hub address (default: HF_ENDPOINT or huggingface.co)")
    p.add_argument("--revision", default="main", help="hub branch, tag or commit")

    p = sub.add_parser("import", help="install from a .zip made by `pack`, or from a folder")
    p.add_argument("path", type=Path)
    p.add_argument("--name", help="install under this name instead of the manifest's")
    p.add_argument("--dtype", choices=list(DTYPE_SUFFIX),
                   help="which variant to take from a folder that holds several")
    p.add_argument("--link", action="store_true",
                   help="use the folder where it is instead of copying it")

    p = sub.add_parser("pack", help="write an installed model to a .zip for another computer")
    p.add_argument("name")
    p.add_argument("out", nargs="?", type=Path, help="file or folder (default: ./NAME.zip)")

    p = sub.add_parser("default", help="choose the model the app opens with")
    p.add_argument("name")

    p = sub.add_parser("remove", help="delete an installed model (asks first)")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = sub.add_parser("verify", help="check every file of an installed model")
    p.add_argument("name")

    # --- install-translation hook (see TRANSLATION_HOOK) ---
    # No option prefix here, so every argument (even --help) is passed on untouched.
    p = sub.add_parser("install-translation", help="install offline translation models",
                       add_help=False, prefix_chars="\0")
    p.add_argument("rest", nargs="*",
                   help="arguments for the translation installer (try --help)")


def run(args: argparse.Namespace) -> None:
    action = args.models_command or "list"
    if action == "list" and not hasattr(args, "json"):
        args.json = False
    ACTIONS[action](args, Registry())


# -- actions --------------------------------------------------------------------------------
def _list(args: argparse.Namespace, registry: Registry) -> None:
    rec = catalogue.recommend()
    installed = registry.installed()
    partials = registry.partials()
    if args.json:
        print(json.dumps({
            "models_dir": str(registry.root),
            "default": registry.default_name(),
            "installed": [m.to_json() for m in installed],
            "partial": [{"name": p.name, "bytes": p.bytes_present} for p in partials],
            "catalogue": [_entry_json(e) for e in catalogue.CATALOGUE],
            "recommended": {"name": rec.entry.name, "dtype": rec.dtype, "reason": rec.reason},
        }, indent=2))
        return
    print(f"Models folder: {registry.root}")
    if installed:
        print("Installed:")
        for m in installed:
            mark = " (default)" if m.is_default else ""
            where = f", linked from {m.path}" if m.linked else ""
            print(f"  {m.name}{mark}: {m.family or '?'}, {m.dtype or '?'}, "
                  f"{human_size(m.size_bytes)}{where}")
            if m.problem:
                print(f"    cannot be used: {m.problem}")
    else:
        print("No model is installed yet.")
    if partials:
        print("Interrupted downloads (run the same install again to resume):")
        for p in partials:
            print(f"  {p.name}: {human_size(p.bytes_present)} downloaded so far")
    print("Available:")
    for e in catalogue.CATALOGUE:
        if e.export_only:
            how = "export only, needs lumen[export]"
        else:
            dtype = rec.dtype if rec.dtype in e.dtypes else e.dtypes[0]
            how = f"{dtype} about {human_size(e.approx_bytes(dtype))}"
        star = " (recommended)" if e is rec.entry else ""
        print(f"  {e.name}{star}: {e.title}; {how}. {e.description}")
    print(f"Recommended for this computer: {rec.entry.name} {rec.dtype}, because {rec.reason}. "
          f"Install it with: lumen models install {rec.entry.name} --dtype {rec.dtype}")


def _entry_json(e: catalogue.CatalogueEntry) -> dict:
    dtypes = e.dtypes or EXPORT_DTYPES
    return {
        "name": e.name, "title": e.title, "family": e.family, "repo_id": e.repo_id,
        "export_source": e.export_source, "export_only": e.export_only,
        "dtypes": list(e.dtypes), "approx_bytes": {d: e.approx_bytes(d) for d in dtypes},
        "description": e.description,
    }


def _install(args: argparse.Namespace, registry: Registry) -> None:
    try:
        _install_now(args, registry)
    except KeyboardInterrupt:
        raise CancelledError("interrupted; run the same install again to resume where it stopped") from None


def _install_now(args: argparse.Namespace, registry: Registry) -> None:
    from models import download

    rec = catalogue.recommend()
    entry = catalogue.find(args.name) if args.name else rec.entry
    dtype = args.dtype or catalogue.default_dtype(entry)
    if args.export or entry.export_only:
        if not args.export:
            raise UsageError(
                f"{entry.title} has no published ONNX files; add --export to export it here."
            )
        from export.install import install_exported

        model = install_exported(
            entry, dtype, registry=registry, endpoint=args.endpoint, revision=args.revision,
            on_status=lambda msg: print(msg, file=sys.stderr),
        )
    else:
        plan = download.plan_install(entry, dtype, endpoint=args.endpoint, revision=args.revision)
        present = download.bytes_present(plan, registry)
        resumed = f", resuming after {human_size(present)}" if present else ""
        print(f"Installing {plan.name}: {human_size(plan.total_bytes)} from {plan.repo_id}"
              f"{resumed}", file=sys.stderr)
        bar = ProgressPrinter()
        model = download.install(plan, registry=registry, on_progress=bar)
        bar.close()
    print(f"Installed {model.name} in {model.path}" + (" (default)" if model.is_default else ""))


def _import(args: argparse.Namespace, registry: Registry) -> None:
    if args.link:
        model = registry.link(args.path, args.name)
    else:
        from models.pack import import_model

        model = import_model(args.path, name=args.name, dtype=args.dtype, registry=registry)
    verb = "Linked" if model.linked else "Imported"
    print(f"{verb} {model.name} ({model.family}, {model.dtype}, {human_size(model.size_bytes)})"
          + (" (default)" if model.is_default else ""))


def _pack(args: argparse.Namespace, registry: Registry) -> None:
    from models.pack import pack

    out = pack(args.name, args.out, registry=registry)
    print(f"Packed {args.name} into {out} ({human_size(out.stat().st_size)})")


def _default(args: argparse.Namespace, registry: Registry) -> None:
    registry.set_default(args.name)
    print(f"Default model: {args.name}")


def _remove(args: argparse.Namespace, registry: Registry) -> None:
    if not registry.exists(args.name) and args.name in {p.name for p in registry.partials()}:
        if not _confirmed(args, f"Delete the interrupted download of {args.name}?"):
            raise LumenError("nothing removed")
        registry.remove_partial(args.name)
        print(f"Deleted the interrupted download of {args.name}")
        return
    model = registry.get(args.name)
    question = (
        f"Forget the linked model {model.name}? Its folder {model.path} is left as it is."
        if model.linked
        else f"Delete the model {model.name} ({human_size(model.size_bytes)}) from {model.path}?"
    )
    if not _confirmed(args, question):
        raise LumenError("nothing removed")
    registry.remove(args.name)
    print(f"{'Forgot' if model.linked else 'Removed'} {model.name}")


def _verify(args: argparse.Namespace, registry: Registry) -> None:
    from models.folder_check import check_folder

    report = check_folder(registry.path_of(args.name), verify_checksums=True)
    checked = "every file matches its checksum" if report.manifest else "no manifest to check"
    print(f"{args.name} is whole: {report.family}, {report.dtype}, {checked}")


def _translation(args: argparse.Namespace, registry: Registry) -> None:
    try:
        hook = importlib.import_module(TRANSLATION_HOOK)
    except ImportError:
        hook = None
    if not callable(getattr(hook, "run", None)):
        raise UsageError("translation models cannot be installed by this build of Lumen")
    hook.run(args.rest, prog="lumen models install-translation")


ACTIONS = {
    "list": _list, "install": _install, "import": _import, "pack": _pack,
    "default": _default, "remove": _remove, "verify": _verify,
    "install-translation": _translation,
}


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()  # None: started with stdin closed


def _confirmed(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not _interactive():
        raise UsageError(f"{question} Add --yes to confirm without a prompt.")
    print(f"{question} Type y to confirm: ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


class ProgressPrinter:
    """A one-line bar on a terminal; on a pipe or a screen reader's log, a line per 10 %."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_time = 0.0
        self.last_step = -1
        self.drawn = False

    def __call__(self, p) -> None:
        pct = int(p.fraction * 100)
        if self.tty:
            now = time.monotonic()
            if now - self.last_time < 0.2 and p.done < p.total:
                return
            self.last_time = now
            filled = pct // 5
            self.stream.write(f"\r[{'#' * filled}{'.' * (20 - filled)}] {pct:3d}% "
                              f"{human_size(p.done)} of {human_size(p.total)}  ")
            self.stream.flush()
            self.drawn = True
        elif pct // 10 > self.last_step:
            self.last_step = pct // 10
            print(f"{pct}% ({human_size(p.done)} of {human_size(p.total)})", file=self.stream)

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
