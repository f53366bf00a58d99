"""The `mutabik` command: each module of this package is one command group and registers itself."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mutabik",
        description="Orders, refunds and payments into accounting and e-document providers, exactly once.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # One module, one command group: a new group is a new file here with `register(commands)`, nothing else.
    # Modules import their heavy dependencies inside their handlers, so `mutabik --help` stays fast.
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
