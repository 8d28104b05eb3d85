"""Screen questions as pure functions ``(LazyFrame, Scope, Filters) -> DataFrame``.

Every query starts with :func:`scoped` (the scope, then the filters), builds one chain with
named outputs, sorts, and collects once. Scores of cells with n < 5 are suppressed, and so
are cells whose complement under the current filters is smaller than 5 (no reveal by
subtraction).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cx.analytics import rollup
from cx.core import filters as filters_mod
from cx.core import metrics
from cx.core.data import sort_waves
from cx.core.filters import Filters
from cx.core.scope import Scope, restrict

SCORE_COLUMNS = (
    "promoter_share",
    "passive_share",
    "detractor_share",
    "nps",
    "nps_moe",
    "csat",
)


def scoped(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, waves: bool = True
) -> pl.LazyFrame:
    """Rows inside the scope (the one restriction), then the shared filters."""
    return filters_mod.apply(restrict(frame, scope), filters, waves=waves)


def columns_of(frame: pl.LazyFrame) -> list[str]:
    return frame.collect_schema().names()


def waves(frame: pl.LazyFrame) -> list[str]:
    """Every wave label in the data, chronologically (waves are global, not scoped)."""
    return sort_waves(frame.select(pl.col("wave").unique()).collect().to_series().to_list())


def wave_rank(order: Sequence[str]) -> pl.Expr:
    """Chronological position of ``wave`` (for sorting and for "previous wave" joins)."""
    return pl.col("wave").replace_strict(
        list(order), list(range(len(order))), default=-1, return_dtype=pl.Int32
    )


def _summed(rows: pl.LazyFrame, columns: Sequence[str], by: Sequence[str]) -> pl.LazyFrame:
    """Additive sums per group, from raw rows or from the overview rollup (same result)."""
    if not rollup.is_rollup(columns):
        rows = rows.with_columns(rollup.contributions(columns))
    return rows.group_by(list(by)).agg(rollup.sum_aggs()) if by else rows.select(rollup.sum_aggs())


def _finish(df: pl.DataFrame, has_csat: bool) -> pl.DataFrame:
    """Add low-base / suppressed flags and blank every score of a suppressed cell."""
    df = df.drop([c for c in rollup.SUMS if c not in ("n", "promoters", "passives", "detractors")])
    if not has_csat:
        df = df.with_columns(csat=pl.lit(None, pl.Float64))
    comp = pl.col("n_all") - pl.col("n") if "n_all" in df.columns else pl.lit(0)
    df = df.with_columns(
        metrics.low_base(),
        (
            (pl.col("n") < metrics.SUPPRESS_BELOW) | ((comp > 0) & (comp < metrics.SUPPRESS_BELOW))
        ).alias("suppressed"),
    )
    hidden = [
        pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
        for c in SCORE_COLUMNS
    ]
    hidden += [
        pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("promoters", "passives", "detractors")
    ]
    return df.with_columns(hidden).drop("n_all", strict=False)


def kpis(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, by: Sequence[str] = ()
) -> pl.DataFrame:
    """NPS, its MoE, shares, counts and CSAT for the scope and filters, grouped by ``by``.

    With ``filters.wave`` set only that wave counts; ``by`` may include ``wave``.
    """
    cols = columns_of(frame)
    by = list(by)
    missing = [c for c in by if c not in cols]
    if missing:
        raise KeyError(f"unknown --by column {missing[0]!r}; columns are {', '.join(sorted(cols))}")
    out = _summed(scoped(frame, scope, filters), cols, by).with_columns(rollup.from_sums())
    if filters.is_narrowed:
        base = scoped(frame, scope, Filters(wave=filters.wave))
        n_col = pl.col("n").sum() if rollup.is_rollup(cols) else pl.col("nps").count()
        n_all = (
            base.group_by(by).agg(n_col.alias("n_all")) if by else base.select(n_col.alias("n_all"))
        )
        out = (
            out.join(n_all, on=by, how="left") if by else pl.concat([out, n_all], how="horizontal")
        )
    df = out.with_columns(metrics.moe_from_columns()).collect()
    df = _finish(df, "csat" in cols or rollup.is_rollup(cols))
    if by:
        order = sort_waves(df["wave"].drop_nulls().to_list()) if "wave" in by else []
        keys = [wave_rank(order) if c == "wave" else pl.col(c) for c in by]
        df = df.sort(keys, nulls_last=True)
    return df


def _compare(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, by: Sequence[str], compare_to: str | None
) -> pl.DataFrame:
    """KPIs of the filter's wave joined with those of ``compare_to`` (prefixed ``prev_``)."""
    current = kpis(frame, scope, filters, by)
    if compare_to is None:
        prev = current.clear().select(*by, "nps", "nps_moe", "n", "suppressed", "low_base")
    else:
        prev = kpis(frame, scope, filters.with_wave(compare_to), by).select(
            *by, "nps", "nps_moe", "n", "suppressed", "low_base"
        )
    prev = prev.rename({c: f"prev_{c}" for c in ("nps", "nps_moe", "n", "suppressed", "low_base")})
    if by:
        joined = current.join(prev, on=list(by), how="left")
    else:
        joined = pl.concat(
            [
                current,
                prev
                if prev.height
                else pl.DataFrame(
                    [pl.Series(c, [None], dtype=prev.schema[c]) for c in prev.columns]
                ),
            ],
            how="horizontal",
        )
    z = metrics.z_change(
        pl.col("nps"), pl.col("nps_moe"), pl.col("prev_nps"), pl.col("prev_nps_moe")
    )
    return joined.with_columns(
        prev_wave=pl.lit(compare_to, pl.String),
        change=pl.col("nps") - pl.col("prev_nps"),
        z=z,
        significant=(z > metrics.Z95).fill_null(False)
        & ~pl.col("low_base")
        & ~pl.col("prev_low_base").fill_null(True),
    )


def headline(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, compare_to: str | None = None
) -> pl.DataFrame:
    """One row: the wave's KPIs and the change vs ``compare_to`` (default: previous wave)."""
    wave, compare_to = _wave_and_previous(frame, filters, compare_to)
    return _compare(frame, scope, filters.with_wave(wave), (), compare_to).with_columns(
        wave=pl.lit(wave)
    )


def _wave_and_previous(
    frame: pl.LazyFrame, filters: Filters, compare_to: str | None
) -> tuple[str, str | None]:
    """The filter's wave (default: the latest) and the wave to compare with (default: the one before)."""
    if filters.wave is not None and compare_to is not None:
        return filters.wave, compare_to
    ordered = waves(frame)
    wave = filters.wave or ordered[-1]
    if compare_to is None:
        i = ordered.index(wave) if wave in ordered else 0
        compare_to = ordered[i - 1] if i > 0 else None
    return wave, compare_to


def nps_trend(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """NPS per wave with its 95 % band and a significance flag vs the wave before."""
    df = kpis(frame, scope, filters.with_wave(None), ["wave"])
    return df.with_columns(
        lo=pl.col("nps") - pl.col("nps_moe"),
        hi=pl.col("nps") + pl.col("nps_moe"),
        change=pl.col("nps") - pl.col("nps").shift(1),
        significant=(
            metrics.z_change(
                pl.col("nps"), pl.col("nps_moe"), pl.col("nps").shift(1), pl.col("nps_moe").shift(1)
            )
            > metrics.Z95
        ).fill_null(False)
        & ~pl.col("low_base")
        & ~pl.col("low_base").shift(1).fill_null(True),
        order=pl.int_range(pl.len()),
    )


def breakdown_levels(scope: Scope, *, peers: bool = True) -> list[str]:
    """The level(s) one below the user's scope: world -> regions and countries, etc.

    An advisor's own scope (``advisor:`` entries), and anyone without ``peers`` (front-line staff),
    never get the advisor breakdown: nobody on the front line sees a peer's score.
    """
    levels = {
        "world": ["region", "country"],
        "region": ["country"],
        "country": ["agency"],
        "agency": ["advisor_id", "channel"],
    }.get(scope.top_level or "", [])
    return [lvl for lvl in levels if peers and not scope.staff or lvl != "advisor_id"]


def secondary_suppression(df: pl.DataFrame) -> pl.DataFrame:
    """When exactly one sibling cell is suppressed, also hide the smallest visible one.

    Otherwise the total minus the visible siblings would reveal the hidden cell.
    """
    n_hidden = int(df["suppressed"].sum())
    if n_hidden != 1 or df.height < 2:
        return df
    visible = df.filter(~pl.col("suppressed"))
    smallest = visible.sort("n").row(0, named=True)
    key = df.columns[0]
    mask = pl.col(key) == smallest[key]
    return df.with_columns(
        [
            pl.when(mask).then(None).otherwise(pl.col(c)).alias(c)
            for c in (
                *SCORE_COLUMNS,
                "promoters",
                "passives",
                "detractors",
                "change",
                "prev_nps",
                "z",
            )
        ]
        + [
            (pl.col("suppressed") | mask).alias("suppressed"),
            pl.when(mask).then(False).otherwise(pl.col("significant")).alias("significant"),
        ]
    )


def breakdown(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, level: str, compare_to: str | None = None
) -> pl.DataFrame:
    """KPIs per entity of ``level`` for the wave, with change and significance vs the previous wave.

    Sorted by NPS (best first); low bases are listed after ranked entities, never ranked.
    """
    if level not in columns_of(frame):
        return pl.DataFrame()
    wave, compare_to = _wave_and_previous(frame, filters, compare_to)
    df = _compare(frame, scope, filters.with_wave(wave), [level], compare_to).filter(
        pl.col(level).is_not_null()
    )
    df = secondary_suppression(df)
    ranked = df.filter(~pl.col("low_base")).sort(
        ["nps", level], descending=[True, False], nulls_last=True
    )
    ranked = ranked.with_columns(rank=pl.int_range(1, pl.len() + 1).cast(pl.Int32))
    unranked = df.filter(pl.col("low_base")).sort(level).with_columns(rank=pl.lit(None, pl.Int32))
    return pl.concat([ranked, unranked], how="vertical_relaxed").with_columns(level=pl.lit(level))


def filter_options(
    frame: pl.LazyFrame, scope: Scope, filters: Filters | None = None
) -> dict[str, list[str]]:
    """Values offered by the shared filters, taken from rows inside the scope only."""
    cols = columns_of(frame)
    rows = restrict(frame, scope)
    out: dict[str, list[str]] = {}
    for col in ("channel", "touchpoint", "segment"):
        if col in cols:
            values = rows.select(pl.col(col).unique()).collect().to_series().to_list()
            labels = sorted(v for v in values if v is not None)
            if col == "touchpoint" and any(v is None for v in values):
                labels = [filters_mod.RELATIONAL, *labels]
            out[col] = labels
    return out
