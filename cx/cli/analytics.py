"""``cx drivers``: the key-driver analysis of the Strengths & weaknesses screen, for scripts.

JSON keys (shared/spec/cli.md): ``attribute``, ``mean``, ``importance`` (share, sums to 1.0),
``quadrant``. A low base (< 30 complete answers) is an error, never a silent empty list.
"""

from __future__ import annotations

import argparse
from typing import Any

from cx.analytics import drivers, overview, rfm
from cx.cli.common import (
    CliError,
    Command,
    Rows,
    add_common,
    filters_of,
    responses_of,
    root_of,
    rows_of,
    scope_of,
)

KPI_COLUMNS = ("n", "promoters", "passives", "detractors", "nps", "nps_moe", "low_base", "csat")


def cmd_kpis(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    by = [c.strip() for c in (args.by or "").split(",") if c.strip()]
    if "rfm_tier" in by:
        frame = rfm.with_rfm_tier(frame, root_of(args))
    # With wave among the --by columns and no --wave, every wave is listed.
    f = filters_of(args, frame, default_wave="wave" not in by or args.wave is not None)
    try:
        df = overview.kpis(frame, scope_of(args), f, by)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    columns = [*by, *KPI_COLUMNS]
    if (
        df["csat"].null_count() == df.height
        and "csat" not in responses_of(args).collect_schema().names()
    ):
        columns.remove("csat")
    return rows_of(df, columns)


DRIVER_COLUMNS = ("attribute", "mean", "importance", "quadrant")


def cmd_drivers(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    df = drivers.key_drivers(frame, scope_of(args), filters_of(args, frame))
    if df.is_empty():
        raise CliError("no attribute ratings in this scope and wave: nothing to analyse")
    if df["low_base"][0]:
        raise CliError(
            f"low base: {df['n'][0]} complete answers (fewer than 30), no driver analysis"
        )
    return rows_of(df, DRIVER_COLUMNS)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("kpis", help="NPS, margin of error, shares and CSAT")
    add_common(p)
    p.add_argument("--by", help="comma-separated columns to group by, e.g. agency,wave")

    p = sub.add_parser(
        "drivers", help="key drivers of NPS: importance, performance and quadrant per attribute"
    )
    add_common(p)


COMMANDS: dict[str, Command] = {"kpis": cmd_kpis, "drivers": cmd_drivers}
