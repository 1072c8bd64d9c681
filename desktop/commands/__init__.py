"""One module per `lumen` subcommand, each with `register(subparsers)` and `run(args) -> int`.

Modules are imported only when their command runs, so `lumen describe` never pays for Qt and
the window never pays for torch.
"""
