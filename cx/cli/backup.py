"""``cx backup --out FILE`` and ``cx restore FILE``: the data folder and the store, together.

Both print one row (``--format json``: one JSON array); a run that finds an import going on says
so once on stderr and waits for it. A foreign, truncated or altered archive is refused with one
line and nothing is touched. See :mod:`cx.ops.backup` and the README's "Backups and restore".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cx.cli.common import Command, Rows, root_of
from cx.ops import backup

BACKUP_COLUMNS = ("file", "bytes", "files", "store", "tables", "rows", "seconds")
RESTORE_COLUMNS = ("file", "created_at", "files", "store", "tables", "rows", "seconds")


def _waiting(message: str) -> None:
    print(f"cx: {message}", file=sys.stderr, flush=True)


def cmd_backup(args: argparse.Namespace) -> Rows:
    return [backup.backup(root_of(args), Path(args.out), on_wait=_waiting)]


def cmd_restore(args: argparse.Namespace) -> Rows:
    return [backup.restore(Path(args.file), root_of(args), on_wait=_waiting)]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "backup", help="archive the data folder and the store into one file, while the app runs"
    )
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--out", required=True, help="the archive to write (.tar, or .tar.gz)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p = sub.add_parser(
        "restore", help="replace the data folder and the store by a backup's (stop the app first)"
    )
    p.add_argument("file", help="an archive written by cx backup")
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"backup": cmd_backup, "restore": cmd_restore}
