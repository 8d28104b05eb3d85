"""``cx drivers``: the key-driver analysis of the Strengths & weaknesses screen, for scripts.

JSON keys (shared/spec/cli.md): ``attribute``, ``mean``, ``importance`` (share, sums to 1.0),
``quadrant``. A low base (< 30 complete answers) is an error, never a silent empty list.
"""

from __future__ import annotations

import argparse
from typing import Any

from cx import drivers
from cx.cli import (
    EXTENSIONS,
    CliError,
    Rows,
    add_common,
    command,
    filters_of,
    responses_of,
    rows_of,
    scope_of,
)

DRIVER_COLUMNS = ("attribute", "mean", "importance", "quadrant")


@command("drivers")
def cmd_drivers(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    df = drivers.key_drivers(frame, scope_of(args), filters_of(args, frame))
    if df.is_empty():
        raise CliError("no attribute ratings in this scope and wave: nothing to analyse")
    if df["low_base"][0]:
        raise CliError(f"low base: {df['n'][0]} complete answers (fewer than 30), no driver analysis")
    return rows_of(df, DRIVER_COLUMNS)


def _parser(sub: Any) -> None:
    p = sub.add_parser("drivers", help="key drivers of NPS: importance, performance and quadrant per attribute")
    add_common(p)


EXTENSIONS.append(_parser)
