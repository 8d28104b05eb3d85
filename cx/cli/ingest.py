"""``cx import``, ``cx import-crm`` and ``cx import-fieldwork``: the importer from a cron job.

Each prints what was written, what was quarantined and why (one row per outcome); a refused
file prints one line on stderr (personal data masked) and exits 2 without writing anything.
An import that finds another one of the same table running says so once on stderr and waits
for it (``--lock-timeout`` seconds at most). ``cx import --undo WAVE`` puts a wave back to its
version before the last replace or append (the last ``VERSIONS_KEPT`` are kept per wave).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from cx import ingest
from cx.cli.common import CliError, Command, Rows, root_of
from cx.core.data import DataError
from cx.core.privacy import mask_text
from cx.ingest.formats import FormatError
from cx.ingest.mapping import SCALES, MappingError
from cx.loop import rules


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip():
            raise CliError(f"{what} {item!r}: write SOURCE=TARGET")
        out[src.strip()] = dst.strip()
    return out


P = ParamSpec("P")
R = TypeVar("R")


def _run(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call an importer; a refused file becomes a one-line CLI error, personal data masked."""
    try:
        return fn(*args, **kwargs)
    except (FormatError, MappingError, ingest.IngestError, DataError) as exc:
        raise CliError(mask_text(" ".join(str(exc).split()))) from None


def _login() -> str:
    """Who runs the command, for the audit trail when ``--actor`` is not given."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in a bare container
        return "cli"


def _waiting(message: str) -> None:
    """Another import holds the table: say so once, on stderr, while waiting for it."""
    print(f"cx import: {message}", file=sys.stderr, flush=True)


def cmd_import(args: argparse.Namespace) -> Rows:
    root = root_of(args)
    if args.undo:
        if args.file or args.wave:
            raise CliError("--undo WAVE takes no file and no --wave")
        restored = _run(
            ingest.undo, root, args.undo, lock_timeout=args.lock_timeout, on_wait=_waiting
        )
        return restored.as_rows()
    if not args.file:
        raise CliError("give the FILE to import (or --undo WAVE)")
    if not args.wave:
        raise CliError("--wave is required (e.g. --wave 2026-Q4)")
    scales = _pairs(args.attr_scale, "--attr-scale")
    if args.scale:
        scales["*"] = args.scale
    result = _run(
        ingest.import_file,
        Path(args.file),
        args.wave,
        root=root,
        mode=args.mode,
        survey=args.survey,
        overrides=_pairs(args.map, "--map"),
        scales=scales,
        delimiter=args.delimiter,
        dry_run=args.dry_run,
        after_import=rules.after_import,
        accept_geography=args.accept_geography,
        actor=args.actor or _login(),
        lock_timeout=args.lock_timeout,
        on_wait=_waiting,
    )
    return result.as_rows(root)


def _side_table(args: argparse.Namespace, table: str) -> Rows | None:
    """``--undo`` of ``cx import-crm`` / ``cx import-fieldwork``: the file before the last import."""
    root = root_of(args)
    if args.undo:
        if args.file:
            raise CliError("--undo takes no file")
        return _run(
            ingest.undo_table, table, root=root, lock_timeout=args.lock_timeout, on_wait=_waiting
        ).as_rows()
    if not args.file:
        raise CliError("give the FILE to import (or --undo)")
    return None


def cmd_import_crm(args: argparse.Namespace) -> Rows:
    if (undone := _side_table(args, "crm")) is not None:
        return undone
    root = root_of(args)
    return _run(
        ingest.import_crm,
        Path(args.file),
        root=root,
        mode=args.mode,
        lock_timeout=args.lock_timeout,
        on_wait=_waiting,
    ).as_rows(root)


def cmd_import_fieldwork(args: argparse.Namespace) -> Rows:
    if (undone := _side_table(args, "fieldwork")) is not None:
        return undone
    root = root_of(args)
    return _run(
        ingest.import_fieldwork,
        Path(args.file),
        root=root,
        lock_timeout=args.lock_timeout,
        on_wait=_waiting,
        accept_geography=args.accept_geography,
        actor=args.actor or _login(),
    ).as_rows(root)


def _add_geography_acceptance(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accept-geography",
        action="store_true",
        help="without org.yaml: accept new agencies and changed regions/countries in the file "
        "(recorded in the audit trail under --actor)",
    )
    p.add_argument("--actor", help="name recorded in the audit trail (default cli:<login>)")


def _add_lock_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=ingest.LOCK_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for another import of the same table (default %(default).0f)",
    )


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="import a survey export (CSV, .xlsx, .sav, Triple-S, Parquet) as a wave, or undo one",
        description="Import a survey export as a wave. replace and append keep the wave's previous "
        f"file (the last {ingest.VERSIONS_KEPT} per wave, in versions/); --undo WAVE restores it.",
    )
    p.add_argument("file", nargs="?", help="the file; its type is detected from its content")
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--wave", help="the wave label, e.g. 2026-Q4, 2026-10 or 2026-W42")
    p.add_argument(
        "--mode",
        choices=ingest.MODES,
        default="new",
        help="new (refuse an existing wave), replace or append",
    )
    p.add_argument("--survey", help="survey name: its saved column mapping is reused and updated")
    p.add_argument(
        "--map",
        action="append",
        help="SOURCE=TARGET column mapping (repeatable; TARGET empty drops it)",
    )
    p.add_argument(
        "--scale",
        choices=tuple(SCALES),
        help="source scale of every attr_* column (rescaled to 0-10)",
    )
    p.add_argument(
        "--attr-scale",
        action="append",
        help="attr_x=1-5: the source scale of one attribute (repeatable)",
    )
    p.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    p.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    p.add_argument(
        "--undo",
        metavar="WAVE",
        help="put WAVE back to its version before the last replace or append (no FILE)",
    )
    _add_geography_acceptance(p)
    _add_lock_timeout(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    for name, help_, modes in (
        (
            "import-crm",
            "import CRM transactions (customer_id, date, amount)",
            ("append", "replace"),
        ),
        ("import-fieldwork", "import fieldwork counts per wave x agency x channel", None),
    ):
        q = sub.add_parser(name, help=help_)
        q.add_argument("file", nargs="?")
        q.add_argument(
            "--undo",
            action="store_true",
            help="put the table back to its file before the last import (no FILE)",
        )
        q.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
        if modes:
            q.add_argument("--mode", choices=modes, default="append")
        else:  # fieldwork names agencies: without org.yaml a new one waits for an analyst
            _add_geography_acceptance(q)
        _add_lock_timeout(q)
        q.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {
    "import": cmd_import,
    "import-crm": cmd_import_crm,
    "import-fieldwork": cmd_import_fieldwork,
}
