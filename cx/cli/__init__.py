"""The ``cx`` command: the same domain functions the pages call, for cron jobs and scripts.

One explicit table of command modules; each gives its subparsers (``add_parsers``) and its
handlers (``COMMANDS``). Importing this package runs nothing. Output follows
``shared/spec/cli.md``: errors print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cx.cli import (
    analytics,
    backup,
    bench,
    capture,
    demo,
    improve,
    ingest,
    loop,
    precompute,
    reports,
    serve,
    tokens,
    users,
    voice,
    webhooks,
)
from cx.cli.common import CliError, Command, Parser, emit
from cx.core import data
from cx.core import users as users_mod

MODULES = (
    serve,
    demo,
    analytics,
    users,
    voice,
    loop,
    ingest,
    reports,
    improve,
    backup,
    precompute,
    bench,
    capture,
    tokens,
    webhooks,
)
"""Every command module, in the order ``cx --help`` lists them."""

COMMANDS: dict[str, Command] = {
    name: fn for module in MODULES for name, fn in module.COMMANDS.items()
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="cx", description="CX Review command line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in MODULES:
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rows = COMMANDS[args.command](args)
    except (
        CliError,
        data.DataError,
        users_mod.UserError,
        ValueError,
        KeyError,
        FileNotFoundError,
        PermissionError,
    ) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"cx {args.command}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cx {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, never a traceback
        print(
            f"cx {args.command}: unexpected error: {exc.__class__.__name__}: {exc}", file=sys.stderr
        )
        return 1
    if rows is not None:
        emit(rows, getattr(args, "format", "table"))
    return 0
