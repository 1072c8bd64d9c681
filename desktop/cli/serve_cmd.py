"""`lumen serve`: the local JSON API (services/api). Binds 127.0.0.1 unless told otherwise, and
any other address needs a token. Exit status: 0 stopped, 1 port in use, 2 bad flags (an open
address without a token) or a bad seed variable, 3 no usable model, 12 the serve extra is not
installed: errors are raised and desktop/cli/__init__.py maps each to its status.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys

from desktop.cli.common import add_model_arguments, whole_number
from desktop.cli.train_cmd import positive_float
from models.errors import LumenError, UsageError, require_extra

TOKEN_ENV = "LUMEN_API_TOKEN"  # a token in the environment stays out of `ps` listings
MAX_CONNECTIONS = 64  # uvicorn answers 503 beyond this many open connections
KEEP_ALIVE_S = 5  # an idle connection between requests is closed after this


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only)")
    parser.add_argument("--port", type=whole_number(0, 65535), default=8765, help="port (default 8765; 0 picks a free one)")
    add_model_arguments(parser)
    parser.add_argument("--tags-model", metavar="DIR", help="CLIP model folder for tags (default: the installed one)")
    parser.add_argument("--ask-model", metavar="DIR",
                        help="SmolVLM folder for POST /ask (default: the installed one; loaded on first use)")
    parser.add_argument("--captions", type=whole_number(1, 21), metavar="N",
                        help="sentences per picture: 1 beam caption + N-1 sampled "
                             "(default: total_captions_number, else 3)")
    parser.add_argument("--token", help=f"require 'Authorization: Bearer TOKEN' (or set {TOKEN_ENV}); "
                                        "needed for any address but this computer's")
    parser.add_argument("--queue", type=whole_number(1, 1000), default=8, metavar="N",
                        help="pictures that may wait for the engine before clients get 503 (default 8)")
    parser.add_argument("--learning-model", metavar="DIR|NAME",
                        help="the model POST /learning-model answers with (default: the newest one trained "
                             "here from the pairs sent to POST /caption, else the same as POST /)")
    parser.add_argument("--learn-from", metavar="BASE",
                        help="checkpoint (saved by save_pretrained) that POST /learning-model/train "
                             "fine-tunes on the collected pairs")
    parser.add_argument("--learn-minutes", type=positive_float, default=10, metavar="M",
                        help="time budget of each training run (default 10)")
    parser.add_argument("--learn-epochs", type=whole_number(1), metavar="N",
                        help="at most this many epochs a run (default: until the patience or the budget ends)")
    parser.add_argument("--read-timeout", type=whole_number(1, 3600), default=10, metavar="SECONDS",
                        help="drop a client whose request headers have not arrived, or whose body "
                             "stops, for this long (408; default 10)")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None) if host == "localhost" else []
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or OSError with the reason (port in use, no such address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if sys.platform != "win32":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def trainer(args: argparse.Namespace):  # noqa: ANN201 - services.api.learning.Trainer
    """What POST /learning-model/train runs (on the learning worker): `lumen train` from
    --learn-from on the collected pairs, installed as learning-<date>-<time>."""
    from pathlib import Path

    def train_on(data: Path) -> Path:
        import time

        from training.api import train
        from training.loop import TrainingSettings

        name = time.strftime("learning-%Y%m%d-%H%M%S")
        settings = TrainingSettings(epochs=args.learn_epochs, minutes=args.learn_minutes, samples=0)
        report = train(args.learn_from, data, name, settings,
                       log=lambda line: print(f"learning: {line}", file=sys.stderr, flush=True))
        return report.model.path

    return train_on


def run(args: argparse.Namespace) -> None:
    require_extra("serve", "fastapi", "uvicorn", what="lumen serve")
    import uvicorn

    from services.api.app import create_app
    from services.api import work
    from services.api.engine import Engine
    from services.api.learning import Learning
    from services.api.model_choice import choose, learning_model
    from services.training_set import TrainingSet, default_dir
    from services.api.slow_clients import guarded_protocol

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token:
        raise UsageError(f"--host {args.host} lets other computers connect: give --token TOKEN "
                         f"(or set {TOKEN_ENV}) so only your clients can, or keep 127.0.0.1")
    choice = choose(getattr(args, "model", None), args.tags_model, args.captions, ask_model=args.ask_model)
    training_dir = default_dir()
    learned, trained_here = learning_model(args.learning_model, training_dir)
    learning = Learning(learned, trained_here, training_dir, trainer(args) if args.learn_from else None,
                        lambda root: len(TrainingSet(root)))
    engine = Engine(lambda: work.load(choice, args.device, args.threads), args.queue)
    loaded = engine.start()
    if loaded.warning:
        print(f"warning: {loaded.warning}", file=sys.stderr, flush=True)
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        engine.close()
        raise LumenError(f"cannot listen on {args.host}:{args.port} ({e.strerror or e}); "
                         "choose another --port or --host") from e
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"lumen: serving {loaded.captioner.name}"
          f"{f' with tags from {loaded.clip.name}' if loaded.clip else ''} on http://{shown}:{port}/ "
          f"(API description at /docs); Ctrl+C stops", file=sys.stderr, flush=True)
    app = create_app(engine, token=token, read_timeout=args.read_timeout, training_dir=training_dir,
                     learning=learning)
    config = uvicorn.Config(app, log_level="warning", access_log=False, http=guarded_protocol(args.read_timeout),
                            limit_concurrency=MAX_CONNECTIONS, server_header=False, lifespan="off",
                            timeout_keep_alive=KEEP_ALIVE_S, timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        learning.close()
        engine.close()
        sock.close()
