"""The ``cx`` command: the same domain functions the pages call, for cron jobs and scripts.

Output follows ``shared/spec/cli.md``: ``--format json`` prints one JSON array of objects and
nothing else; errors print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from cx import data, queries, users
from cx.filters import Filters
from cx.scope import Scope

Rows = list[dict[str, Any]]
COMMANDS: dict[str, Callable[[argparse.Namespace], Rows | None]] = {}


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def command(name: str) -> Callable[[Callable[[argparse.Namespace], Rows | None]], Callable[[argparse.Namespace], Rows | None]]:
    def register(fn: Callable[[argparse.Namespace], Rows | None]) -> Callable[[argparse.Namespace], Rows | None]:
        COMMANDS[name] = fn
        return fn

    return register


# ---------------------------------------------------------------- shared option handling


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--user", help="apply this user's geography scope")
    p.add_argument("--scope", action="append", help="world, region:<name>, country:<code> or agency:<name> (repeatable; default world)")
    p.add_argument("--wave", help="wave label (default: the latest wave)")
    p.add_argument("--channel", action="append", default=[], help="filter: channel (repeatable)")
    p.add_argument("--touchpoint", action="append", default=[], help="filter: touchpoint, or 'relational' (repeatable)")
    p.add_argument("--segment", action="append", default=[], help="filter: customer segment (repeatable)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def root_of(args: argparse.Namespace) -> Path:
    return data.data_dir(getattr(args, "data", None))


def scope_of(args: argparse.Namespace) -> Scope:
    """``--user`` gives that user's scope; ``--scope`` a scope directly; default world."""
    if getattr(args, "user", None):
        if getattr(args, "scope", None):
            raise CliError("give --user or --scope, not both")
        user = users.get(args.user)
        if user is None:
            raise CliError(f"unknown user {args.user!r}")
        return user.scope
    return Scope.parse(args.scope) if getattr(args, "scope", None) else Scope.world()


def responses_of(args: argparse.Namespace) -> pl.LazyFrame:
    return data.scan_responses(root_of(args))


def filters_of(args: argparse.Namespace, frame: pl.LazyFrame, *, default_wave: bool = True) -> Filters:
    all_waves = queries.waves(frame)
    wave = getattr(args, "wave", None)
    if wave is not None and wave not in all_waves:
        raise CliError(f"unknown wave {wave!r}; waves are {', '.join(all_waves)}")
    if wave is None and default_wave:
        wave = all_waves[-1]
    return Filters(
        wave=wave,
        channels=tuple(sorted(getattr(args, "channel", []) or [])),
        touchpoints=tuple(sorted(getattr(args, "touchpoint", []) or [])),
        segments=tuple(sorted(getattr(args, "segment", []) or [])),
    )


# ---------------------------------------------------------------- output


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def rows_of(df: pl.DataFrame, columns: Sequence[str] | None = None) -> Rows:
    if columns is not None:
        df = df.select([c for c in columns if c in df.columns])
    return [{k: _plain(v) for k, v in row.items()} for row in df.iter_rows(named=True)]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def emit(rows: Rows, fmt: str, out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    if not rows:
        if fmt == "table":
            out.write("(no rows)\n")
        return
    keys = list(rows[0])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(keys)
        for r in rows:
            writer.writerow(["" if r.get(k) is None else (",".join(map(str, r[k])) if isinstance(r.get(k), list) else r.get(k)) for k in keys])
        out.write(buf.getvalue())
        return
    cells = [[_cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    out.write("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip() + "\n")
    for c in cells:
        out.write("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip() + "\n")


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- commands


@command("demo")
def cmd_demo(args: argparse.Namespace) -> Rows:
    from cx.demo import write_demo

    if args.rows < 1_000:
        raise CliError("--rows must be at least 1000")
    summary = write_demo(root_of(args), rows=args.rows, seed=args.seed)
    return summary.as_rows()


KPI_COLUMNS = ("n", "promoters", "passives", "detractors", "nps", "nps_moe", "low_base", "csat")


@command("kpis")
def cmd_kpis(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    by = [c.strip() for c in (args.by or "").split(",") if c.strip()]
    if "rfm_tier" in by:
        from cx import rfm

        frame = rfm.with_rfm_tier(frame, root_of(args))
    # With wave among the --by columns and no --wave, every wave is listed.
    f = filters_of(args, frame, default_wave="wave" not in by or args.wave is not None)
    try:
        df = queries.kpis(frame, scope_of(args), f, by)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    columns = [*by, *KPI_COLUMNS]
    if df["csat"].null_count() == df.height and "csat" not in responses_of(args).collect_schema().names():
        columns.remove("csat")
    return rows_of(df, columns)


@command("users")
def cmd_users(args: argparse.Namespace) -> Rows | None:
    action = args.action
    if action == "list":
        return [{"username": u.username, "name": u.name, "roles": list(u.roles), "scope": str(u.scope)} for u in users.all_users()]
    if action == "add":
        import getpass

        password = args.password or (sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: "))
        u = users.add(args.username, password=password, name=args.name or args.username, email=args.email or "", roles=args.role or [], scope=args.scope or [])
        return [{"username": u.username, "roles": list(u.roles), "scope": str(u.scope), "status": "added"}]
    if action == "set-scope":
        u = users.set_scope(args.username, args.scope or [])
        return [{"username": u.username, "scope": str(u.scope), "status": "scope set"}]
    users.remove(args.username)
    return [{"username": args.username, "status": "removed"}]


@command("bench")
def cmd_bench(args: argparse.Namespace) -> Rows:
    from cx import bench

    return bench.run(rows=args.rows, workdir=Path(args.workdir) if args.workdir else None, repeat=args.repeat, only=args.only)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit code 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="cx", description="CX Review command line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    fmt = Parser(add_help=False)
    fmt.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("demo", help="write the demo dataset into --data")
    add_common(p)
    p.add_argument("--rows", type=int, default=200_000, help="total responses over the 8 waves (default 200000)")
    p.add_argument("--seed", type=int, default=42)

    p = sub.add_parser("kpis", help="NPS, margin of error, shares and CSAT")
    add_common(p)
    p.add_argument("--by", help="comma-separated columns to group by, e.g. agency,wave")

    p = sub.add_parser("users", help="manage users, roles and scopes (bcrypt-hashed passwords)")
    usub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    usub.add_parser("list", parents=[fmt])
    a = usub.add_parser("add", parents=[fmt])
    a.add_argument("username")
    a.add_argument("--password", help="the password (else read from stdin or prompted)")
    a.add_argument("--name")
    a.add_argument("--email")
    a.add_argument("--role", action="append", help="repeatable: " + ", ".join(users.ROLES))
    a.add_argument("--scope", action="append", help="repeatable: world, region:<name>, country:<code>, agency:<name>")
    s = usub.add_parser("set-scope", parents=[fmt])
    s.add_argument("username")
    s.add_argument("--scope", action="append", required=True)
    r = usub.add_parser("remove", parents=[fmt])
    r.add_argument("username")

    p = sub.add_parser("bench", help="time every dashboard query against DuckDB on the same files")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5, help="timed runs per query (the median is kept)")
    p.add_argument("--workdir", help="where to write the synthetic files (default: a temporary folder)")
    p.add_argument("--only", help="run only the cases whose name contains this text")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    for extend in EXTENSIONS:
        extend(sub)
    return parser


EXTENSIONS: list[Callable[[Any], None]] = []
"""Parser builders of commands defined in other modules (each adds its own subparser)."""


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rows = COMMANDS[args.command](args)
    except (CliError, data.DataError, users.UserError, ValueError, KeyError, FileNotFoundError, PermissionError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"cx {args.command}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cx {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, never a traceback
        print(f"cx {args.command}: unexpected error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    if rows is not None:
        emit(rows, getattr(args, "format", "table"))
    return 0


def _load_extensions() -> None:
    """Import the modules that register extra commands (``cx drivers``, ``cx alerts``, …)."""
    import importlib

    for name in ("cx.cli_analytics", "cx.cli_voice", "cx.cli_loop", "cx.cli_ingest", "cx.cli_reports", "cx.cli_plans"):
        importlib.import_module(name)


if __name__ == "__main__":
    raise SystemExit(main())
