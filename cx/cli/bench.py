"""``cx bench``: times every dashboard query against DuckDB on the same files (speed, not the
CX league tables of :mod:`cx.analytics.benchmarks`) and every screen's whole script run, cold
and warm (rows ``page.<screen> [<user>] cold|warm``); with ``--capture``, the survey pages under
load on the real server instead, and with ``--api`` the REST API's throughput (one row per
figure: ``figure``, ``value``, ``unit``).

The harness, :mod:`cx.speed`, needs the dev dependency group (DuckDB) and a source checkout; it
is loaded when this command runs and never by the app or any other command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cx.cli.common import CliError, Command, Rows


def cmd_bench(args: argparse.Namespace) -> Rows:
    if args.capture and args.api:
        raise CliError("choose one of --capture and --api")
    if args.api:
        return _api(args)
    if args.capture:
        return _capture(args)
    try:
        # Imported here, not at the top: the harness needs dev-only DuckDB and is left out of the wheel.
        from cx.speed import suite
    except ModuleNotFoundError as exc:
        raise CliError(
            f"cx bench needs a source checkout with the dev dependencies ({exc.name} is missing): run uv sync"
        ) from None
    if args.repeat <= 0:
        raise CliError("--repeat must be positive")
    if args.growth:
        return _growth(args)
    try:
        rows: Rows = suite.run(
            rows=1_000_000 if args.rows is None else args.rows,
            workdir=Path(args.workdir) if args.workdir else None,
            repeat=args.repeat,
            only=args.only,
        )
    except suite.screens.PageError as exc:
        raise CliError(f"a screen failed under AppTest: {exc}") from None
    if not rows:
        raise CliError(
            f"--only {args.only!r} matches no case: give a case name part, a screen "
            f"({', '.join(suite.screens.QUERIES)}) or an area ({', '.join(suite.AREA_NAMES)})"
        )
    return rows


def _growth(args: argparse.Namespace) -> Rows:
    from cx.speed import growth

    try:
        sizes = tuple(int(part) for part in args.growth.split(","))
    except ValueError:
        raise CliError(f"--growth {args.growth!r}: give sizes such as 1000000,10000000") from None
    if not sizes or min(sizes) < growth.BASE_ROWS:
        raise CliError(f"--growth sizes start at {growth.BASE_ROWS:,} responses")
    try:
        return growth.run(sizes, Path(args.workdir) if args.workdir else None, repeat=args.repeat)
    except RuntimeError as exc:
        raise CliError(str(exc)) from None


def _capture(args: argparse.Namespace) -> Rows:
    for name in ("respondents", "seconds", "rows"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise CliError(f"--{name} must be positive")
    if args.think < 0:
        raise CliError("--think must be zero or more")
    try:
        from cx.speed import capture  # the harness stays out of every other command
    except ModuleNotFoundError as exc:
        raise CliError(
            f"cx bench needs a source checkout with the dev dependencies ({exc.name} is missing): run uv sync"
        ) from None
    try:
        return capture.run(
            respondents=args.respondents,
            seconds=60.0 if args.seconds is None else args.seconds,
            rows=50_000 if args.rows is None else args.rows,
            think=args.think,
            workdir=Path(args.workdir) if args.workdir else None,
        )
    except capture.BenchError as exc:
        raise CliError(str(exc)) from None


def _api(args: argparse.Namespace) -> Rows:
    for name in ("seconds", "rows"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise CliError(f"--{name} must be positive")
    try:
        from cx.speed import api, capture  # the harness stays out of every other command
    except ModuleNotFoundError as exc:
        raise CliError(
            f"cx bench needs a source checkout with the dev dependencies ({exc.name} is missing): run uv sync"
        ) from None
    try:
        return api.run(
            seconds=10.0 if args.seconds is None else args.seconds,
            rows=50_000 if args.rows is None else args.rows,
            workdir=Path(args.workdir) if args.workdir else None,
        )
    except capture.BenchError as exc:
        raise CliError(str(exc)) from None


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("bench", help="time every dashboard query against DuckDB on the same files")
    p.add_argument(
        "--rows",
        type=int,
        help="synthetic responses (default 1,000,000; 50,000 with --capture or --api)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="timed runs per query and warm page (the median is kept; 3 for a run over 1 s, "
        "the first alone over 10 s)",
    )
    p.add_argument(
        "--workdir", help="where to write the synthetic files (default: a temporary folder)"
    )
    p.add_argument(
        "--only",
        help="run only the cases whose name contains this text, or those of an area (pages, "
        "overview, analytics, geography, voice, loop, ingest, reports, fieldwork) or of a screen "
        "by its URL path (e.g. drivers: its page rows and its query cases)",
    )
    p.add_argument(
        "--growth",
        metavar="SIZES",
        help="time the precomputations and the screens' questions from them at each size "
        "(e.g. 1000000,10000000,100000000: folders grown from a 1M base under --workdir), "
        "with each size's peak memory",
    )
    p.add_argument(
        "--capture",
        action="store_true",
        help="instead: concurrent respondents answer the survey pages of the real server",
    )
    p.add_argument(
        "--api",
        action="store_true",
        help="instead: GET /api/v1/kpis p50/p95 and requests/s, batch ingest rows/s",
    )
    p.add_argument("--respondents", type=int, default=200, help="with --capture (default 200)")
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="load duration: with --capture (default 60), with --api per measure (default 10)",
    )
    p.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="with --capture: a respondent's mean seconds on each page (default 5, a person on a "
        "phone reading one question; 1 or 2 for a stress run; 0: no pause)",
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"bench": cmd_bench}
