"""Fieldwork monitoring: contactability and progress of a wave, scoped like every other screen.

Definitions (documented in the README):
- delivery rate = delivered / invitations sent;
- response rate = completed responses / delivered invitations;
- attainment = responses / the wave's target (``target_responses`` in ``fieldwork.parquet``);
- expected attainment = the share of the wave's days elapsed (1.0 once the wave is over);
- an agency is *lagging* when its response rate is under ``LAG_RATE`` x its scope's rate, or its
  attainment is under ``LAG_ATTAINMENT`` x the expected attainment; agencies with fewer than
  ``MIN_INVITATIONS`` delivered invitations are never called lagging (too small to judge).

Only the wave and channel filters apply here (invitations have no touchpoint or segment); every
completed response counts, including those flagged ``excluded`` (they were still collected).

Every query takes either the responses or their :func:`funnel_counts` (completed responses per
wave × agency × channel × day, built once per data version): the same code answers both, since a
count is a sum of ones and the latest answer of a scope is the latest of its cells.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from cx.core import data
from cx.core.filters import Filters
from cx.core.filters import predicate as filter_predicate
from cx.core.scope import Scope, restrict

FILE = "fieldwork.parquet"
LAG_RATE = 0.75
LAG_ATTAINMENT = 0.8
MIN_INVITATIONS = 100
COUNTS = ("customers_served", "invitations", "delivered", "target_responses")
FUNNEL_KEYS = ("wave", "region", "country", "agency", "channel")
FUNNEL_MARKER = "responses"
"""The count column of :func:`funnel_counts`; a frame holding it is counts, not responses."""


class FieldworkError(ValueError):
    """No fieldwork file, or one that does not follow the data contract."""


def has_fieldwork(root: Path | str) -> bool:
    return (Path(root) / FILE).exists()


def _fieldwork(root: str, scope: Scope, filters: Filters) -> pl.LazyFrame:
    path = Path(root) / FILE
    if not path.exists():
        raise FieldworkError(f"{path}: no fieldwork file; import one with cx import-fieldwork FILE")
    lf = restrict(pl.scan_parquet(path), scope)
    if filters.wave is not None:
        lf = lf.filter(pl.col("wave") == filters.wave)
    if filters.channels:
        lf = lf.filter(pl.col("channel").is_in(list(filters.channels)))
    return lf


def _responses(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.LazyFrame:
    """Every completed response of the wave and channels in scope (excluded ones included)."""
    only = Filters(wave=filters.wave, channels=filters.channels)
    columns = set(frame.collect_schema().names())
    return restrict(frame, scope).filter(filter_predicate(only, columns, waves=True))


def funnel_counts(frame: pl.LazyFrame) -> pl.DataFrame:
    """Completed responses (``excluded`` ones included) per cell of :data:`FUNNEL_KEYS` and day,
    with the cell's latest answer as ``responded_at``: every fieldwork query, from a few thousand
    rows instead of every response."""
    columns = frame.collect_schema().names()
    keys = [k for k in FUNNEL_KEYS if k in columns]
    return (
        frame.group_by(*keys, pl.col("responded_at").dt.date().alias("day"))
        .agg(pl.len().cast(pl.Int64).alias(FUNNEL_MARKER), pl.col("responded_at").max())
        .drop("day")
        .collect()
    )


def _count(frame: pl.LazyFrame) -> pl.Expr:
    """How many completed responses a group holds, on responses or on :func:`funnel_counts`."""
    if FUNNEL_MARKER in frame.collect_schema().names():
        return pl.col(FUNNEL_MARKER).sum().cast(pl.Int64).alias("responses")
    return pl.len().cast(pl.Int64).alias("responses")


def _rates(lf: pl.LazyFrame) -> pl.LazyFrame:
    return lf.with_columns(
        delivery_rate=pl.when(pl.col("invitations") > 0).then(
            pl.col("delivered") / pl.col("invitations")
        ),
        response_rate=pl.when(pl.col("delivered") > 0).then(
            pl.col("responses") / pl.col("delivered")
        ),
        attainment=pl.when(pl.col("target_responses") > 0).then(
            pl.col("responses") / pl.col("target_responses")
        ),
    )


def _by(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, root: str, keys: list[str]
) -> pl.LazyFrame:
    sent = (
        _fieldwork(root, scope, filters)
        .group_by(keys)
        .agg([pl.col(c).sum().cast(pl.Int64) for c in COUNTS])
    )
    got = _responses(frame, scope, filters).group_by(keys).agg(_count(frame))
    joined = sent.join(got, on=keys, how="full", coalesce=True).with_columns(
        [pl.col(c).fill_null(0) for c in (*COUNTS, "responses")]
    )
    return _rates(joined)


def elapsed_share(wave: str, as_of: date) -> float:
    """Share of the wave's days elapsed on ``as_of`` (0..1).

    >>> elapsed_share("2026-Q1", date(2026, 2, 14))
    0.5
    """
    start, end = data.wave_period(wave)
    days = (end - start).days + 1
    return min(max(((as_of - start).days + 1) / days, 0.0), 1.0)


def as_of_date(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> date | None:
    """The day of the latest response of the wave in scope: "today" for a running wave."""
    latest = _responses(frame, scope, filters).select(pl.col("responded_at").max()).collect().item()
    return None if latest is None else latest.date()


def channel_rates(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, root: str
) -> pl.DataFrame:
    """Per channel: invitations, delivered, responses, delivery and response rates."""
    return _by(frame, scope, filters, root, ["channel"]).sort("channel").collect()


def agency_progress(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, root: str
) -> pl.DataFrame:
    """Per agency: counts, rates, attainment vs expected, and whether it lags (worst first)."""
    if filters.wave is None:
        raise FieldworkError("choose a wave: fieldwork progress is per wave")
    as_of = as_of_date(frame, scope, filters)
    expected = 0.0 if as_of is None else elapsed_share(filters.wave, as_of)
    by = _by(frame, scope, filters, root, ["region", "country", "agency"])
    overall = by.select((pl.col("responses").sum() / pl.col("delivered").sum()).alias("scope_rate"))
    return (
        by.join(overall, how="cross")
        .with_columns(expected=pl.lit(expected))
        .with_columns(
            lagging=(pl.col("delivered") >= MIN_INVITATIONS)
            & (
                (pl.col("response_rate") < LAG_RATE * pl.col("scope_rate"))
                | (pl.col("attainment") < LAG_ATTAINMENT * pl.col("expected"))
            ).fill_null(False),
            rate_vs_scope=pl.col("response_rate") / pl.col("scope_rate"),
        )
        .sort(
            ["lagging", "rate_vs_scope", "agency"], descending=[True, False, False], nulls_last=True
        )
        .collect()
    )


def summary(frame: pl.LazyFrame, scope: Scope, filters: Filters, *, root: str) -> pl.DataFrame:
    """One row: the scope's totals, rates, attainment, expected attainment and lagging count."""
    agencies = agency_progress(frame, scope, filters, root=root)
    as_of = as_of_date(frame, scope, filters)
    return (
        _rates(agencies.lazy().select([pl.col(c).sum() for c in (*COUNTS, "responses")]))
        .with_columns(
            expected=pl.lit(
                0.0 if as_of is None or filters.wave is None else elapsed_share(filters.wave, as_of)
            ),
            lagging=pl.lit(int(agencies["lagging"].sum())),
            lagging_agencies=pl.lit(
                agencies.filter("lagging")["agency"].to_list(), dtype=pl.List(pl.String)
            ),
            as_of=pl.lit(as_of, dtype=pl.Date),
        )
        .collect()
    )


def daily_progress(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, root: str
) -> pl.DataFrame:
    """Per day of the wave: responses, cumulative responses and the cumulative target (even pace)."""
    if filters.wave is None:
        raise FieldworkError("choose a wave: fieldwork progress is per wave")
    start, end = data.wave_period(filters.wave)
    days = pl.DataFrame({"day": pl.date_range(start, end, timedelta(days=1), eager=True)})
    target = (
        _fieldwork(root, scope, filters).select(pl.col("target_responses").sum()).collect().item()
        or 0
    )
    per_day = (
        _responses(frame, scope, filters)
        .group_by(day=pl.col("responded_at").dt.date())
        .agg(_count(frame))
        .collect()
    )
    n_days = days.height
    return (
        days.join(per_day, on="day", how="left")
        .with_columns(pl.col("responses").fill_null(0))
        .with_columns(
            # Days after the latest response have not happened yet in a running wave.
            cumulative=pl.when(pl.col("day") <= per_day["day"].max()).then(
                pl.col("responses").cum_sum()
            ),
            target_cumulative=(pl.int_range(1, pl.len() + 1) * (float(target) / n_days)).round(1),
        )
        .sort("day")
    )


def takeaway(summary_row: pl.DataFrame, wave: str | None) -> str:
    """One sentence for the top of the screen, computed from :func:`summary`."""
    if summary_row.is_empty():
        return f"No fieldwork counts for wave {wave} in this scope."
    r = summary_row.row(0, named=True)
    if not r["invitations"]:
        return f"No invitations recorded for wave {wave} in this scope."
    rate = f"{100 * (r['response_rate'] or 0):.1f} %"
    pace = f"{100 * (r['attainment'] or 0):.0f} % of the target" + (
        "" if r["expected"] >= 1 else f" with {100 * r['expected']:.0f} % of the wave elapsed"
    )
    lag = r["lagging_agencies"] or []
    lagging = (
        f"{', '.join(lag[:3])}{' and others' if len(lag) > 3 else ''} lag{'s' if len(lag) == 1 else ''} behind"
        if lag
        else "no agency lags behind"
    )
    return f"Wave {wave}: {r['responses']:,} responses from {r['delivered']:,} delivered invitations ({rate} response rate), {pace}; {lagging}."


def agency_table(agencies: pl.DataFrame) -> pl.DataFrame:
    """The agency table of the screen: display names, rates in %, lagging agencies first."""
    return agencies.select(
        pl.col("agency").alias("Agency"),
        (pl.col("response_rate") * 100).round(1).alias("Response %"),
        (pl.col("delivery_rate") * 100).round(1).alias("Delivered %"),
        pl.col("responses").alias("Responses"),
        (pl.col("attainment") * 100).round(0).alias("vs target %"),
        pl.when(pl.col("lagging")).then(pl.lit("⚠ lagging")).otherwise(pl.lit("")).alias("Status"),
    )
