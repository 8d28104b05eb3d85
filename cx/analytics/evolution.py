"""Evolution: NPS and every attribute across all waves, with significant wave-over-wave changes.

An attribute's change between two waves is significant when
|mean₁ − mean₂| / sqrt(SE₁² + SE₂²) > 1.96 with SE = sd / sqrt(n_eff) (two-sample z on means;
sd is the weighted standard deviation with the n_eff / (n_eff − 1) correction, n_eff the Kish
effective base). As everywhere: low bases (n < 30) are never flagged and cells with n < 5 show
no mean.
"""

from __future__ import annotations

import polars as pl

from cx.analytics import overview
from cx.analytics.overview import columns_of, scoped
from cx.core import metrics
from cx.core.data import attribute_label, attributes
from cx.core.filters import Filters
from cx.core.scope import Scope

TREND_SCHEMA = {
    "wave": pl.String,
    "attribute": pl.String,
    "label": pl.String,
    "mean": pl.Float64,
    "n": pl.Int64,
    "change": pl.Float64,
    "significant": pl.Boolean,
    "prev_wave": pl.String,
    "se": pl.Float64,
    "z": pl.Float64,
    "low_base": pl.Boolean,
    "suppressed": pl.Boolean,
    "order": pl.Int32,
}


def signed(value: float) -> str:
    """``-0.8`` -> ``−0.8`` and ``0.8`` -> ``+0.8`` (a real minus sign, readable on a projector)."""
    text = f"{value:+.2f}" if 0 < abs(value) < 0.05 else f"{value:+.1f}"
    return text.replace("-", "−")


def number(value: float) -> str:
    """``-14.56`` -> ``−14.6`` (one decimal, a real minus sign)."""
    return f"{value:.1f}".replace("-", "−")


def _labels(values: list[str]) -> pl.Expr:
    return pl.col("attribute").replace_strict(
        values, [attribute_label(v) for v in values], return_dtype=pl.String
    )


def _attribute_stats(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, attrs: list[str]
) -> pl.LazyFrame:
    """Per (wave, attribute): n, weighted mean and its standard error, over every wave."""
    w, x = pl.col("weight"), pl.col("value").cast(pl.Float64)
    return (
        scoped(frame, scope, filters.with_wave(None))
        .select("wave", "weight", *attrs)
        .unpivot(index=["wave", "weight"], on=attrs, variable_name="attribute", value_name="value")
        .filter(pl.col("value").is_not_null())
        .group_by("wave", "attribute")
        .agg(
            n=pl.len().cast(pl.Int64),
            sw=w.sum(),
            swx=(w * x).sum(),
            swx2=(w * x * x).sum(),
            sw2=w.pow(2).sum(),
        )
        .with_columns(mean=pl.col("swx") / pl.col("sw"), n_eff=pl.col("sw").pow(2) / pl.col("sw2"))
        .with_columns(
            var=(
                (pl.col("swx2") / pl.col("sw") - pl.col("mean").pow(2)).clip(0.0)
                * pl.col("n_eff")
                / (pl.col("n_eff") - 1)
            ),
        )
        .with_columns(se=(pl.col("var") / pl.col("n_eff")).sqrt())
        .select("wave", "attribute", "n", "mean", "se")
    )


def _z(mean_a: pl.Expr, se_a: pl.Expr, mean_b: pl.Expr, se_b: pl.Expr) -> pl.Expr:
    return (mean_a - mean_b).abs() / (se_a.pow(2) + se_b.pow(2)).sqrt()


def _flags(df: pl.DataFrame) -> pl.DataFrame:
    """Low base / suppressed flags; blank the mean, change and z of a suppressed cell."""
    df = df.with_columns(metrics.low_base(), metrics.suppressed())
    hide = ["mean", "change", "z", "se"]
    return df.with_columns(
        [
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
            for c in hide
            if c in df.columns
        ]
    )


def attribute_trend(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Every attribute's mean per wave (chronological) with change and significance vs the wave before."""
    attrs = attributes(columns_of(frame))
    if not attrs:
        return pl.DataFrame(schema=TREND_SCHEMA)
    order = overview.waves(frame)
    calendar = pl.LazyFrame(
        {"wave": order, "prev_wave": [None, *order[:-1]], "order": list(range(len(order)))},
        schema={"wave": pl.String, "prev_wave": pl.String, "order": pl.Int32},
    )
    stats = _attribute_stats(frame, scope, filters, attrs)
    prev = stats.select(
        pl.col("wave").alias("prev_wave"),
        "attribute",
        pl.col("n").alias("prev_n"),
        pl.col("mean").alias("prev_mean"),
        pl.col("se").alias("prev_se"),
    )
    df = (
        stats.join(calendar, on="wave", how="left")
        .join(prev, on=["prev_wave", "attribute"], how="left")
        .with_columns(
            change=pl.col("mean") - pl.col("prev_mean"),
            z=_z(pl.col("mean"), pl.col("se"), pl.col("prev_mean"), pl.col("prev_se")),
        )
        .with_columns(
            significant=(
                (pl.col("z") > metrics.Z95)
                & (pl.col("n") >= metrics.LOW_BASE)
                & (pl.col("prev_n") >= metrics.LOW_BASE)
            ).fill_null(False),
            label=_labels(attrs),
        )
        .sort("order", "attribute")
        .collect()
    )
    return _flags(df).select(list(TREND_SCHEMA))


def compare_waves(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, wave_a: str, wave_b: str
) -> pl.DataFrame:
    """NPS and every attribute in ``wave_a`` vs ``wave_b``: values, change (b − a), z, significance.

    One row per measure; NPS first (points), then attributes (0-10), by label.
    """
    both = [wave_a, wave_b]
    kpi = overview.kpis(frame, scope, filters.with_wave(None), ["wave"]).filter(
        pl.col("wave").is_in(both)
    )

    def nps_of(w: str) -> dict:
        got = kpi.filter(pl.col("wave") == w)
        return (
            got.row(0, named=True)
            if got.height
            else {"nps": None, "nps_moe": None, "n": 0, "suppressed": True, "low_base": True}
        )

    a, b = nps_of(wave_a), nps_of(wave_b)
    nps_row = pl.DataFrame(
        {
            "measure": ["nps"],
            "label": ["NPS"],
            "a": [a["nps"]],
            "b": [b["nps"]],
            "se_a": [None if a["nps_moe"] is None else a["nps_moe"] / metrics.Z95],
            "se_b": [None if b["nps_moe"] is None else b["nps_moe"] / metrics.Z95],
            "n_a": [a["n"]],
            "n_b": [b["n"]],
        },
        schema={
            "measure": pl.String,
            "label": pl.String,
            "a": pl.Float64,
            "b": pl.Float64,
            "se_a": pl.Float64,
            "se_b": pl.Float64,
            "n_a": pl.Int64,
            "n_b": pl.Int64,
        },
    )
    attrs = attributes(columns_of(frame))
    parts = [nps_row]
    if attrs:
        stats = (
            _attribute_stats(frame, scope, filters, attrs)
            .filter(pl.col("wave").is_in(both))
            .collect()
        )
        sa = stats.filter(pl.col("wave") == wave_a).select(
            "attribute", a="mean", se_a="se", n_a="n"
        )
        sb = stats.filter(pl.col("wave") == wave_b).select(
            "attribute", b="mean", se_b="se", n_b="n"
        )
        grid = (
            pl.DataFrame({"attribute": attrs})
            .join(sa, on="attribute", how="left")
            .join(sb, on="attribute", how="left")
        )
        parts.append(
            grid.with_columns(
                label=_labels(attrs), n_a=pl.col("n_a").fill_null(0), n_b=pl.col("n_b").fill_null(0)
            )
            .rename({"attribute": "measure"})
            .select(nps_row.columns)
        )
    df = pl.concat(parts, how="vertical_relaxed")
    hidden_a = (pl.col("n_a") < metrics.SUPPRESS_BELOW) | pl.col("a").is_null()
    hidden_b = (pl.col("n_b") < metrics.SUPPRESS_BELOW) | pl.col("b").is_null()
    z = _z(pl.col("b"), pl.col("se_b"), pl.col("a"), pl.col("se_a"))
    return (
        df.with_columns(
            a=pl.when(hidden_a).then(None).otherwise(pl.col("a")),
            b=pl.when(hidden_b).then(None).otherwise(pl.col("b")),
            change=pl.when(hidden_a | hidden_b).then(None).otherwise(pl.col("b") - pl.col("a")),
            z=pl.when(hidden_a | hidden_b).then(None).otherwise(z),
            wave_a=pl.lit(wave_a),
            wave_b=pl.lit(wave_b),
        )
        .with_columns(
            significant=(
                (pl.col("z") > metrics.Z95)
                & (pl.col("n_a") >= metrics.LOW_BASE)
                & (pl.col("n_b") >= metrics.LOW_BASE)
            ).fill_null(False),
            low_base=(pl.col("n_a") < metrics.LOW_BASE) | (pl.col("n_b") < metrics.LOW_BASE),
        )
        .drop("se_a", "se_b")
    )


def takeaway(nps: pl.DataFrame, trend: pl.DataFrame, wave: str) -> str:
    """E.g. "NPS is 12.8 in 2026-Q3, +0.9 vs 2026-Q2 (not significant); biggest significant move:
    Cleanliness −0.7 to 5.9."."""
    now = nps.filter(pl.col("wave") == wave)
    if now.is_empty() or now["n"][0] == 0:
        return f"No responses in {wave} for this scope and these filters."
    row = now.row(0, named=True)
    if row["suppressed"]:
        return f"Only {row['n']} responses in {wave}: too few to show a score (fewer than 5)."
    text = f"NPS is {number(row['nps'])} in {wave}"
    if row["change"] is not None:
        prev = nps.filter(pl.col("order") == row["order"] - 1)["wave"]
        verdict = "significant" if row["significant"] else "not significant"
        text += f", {signed(row['change'])} vs {prev[0] if prev.len() else 'the wave before'} ({verdict})"
    moves = trend.filter((pl.col("wave") == wave) & pl.col("significant")).sort(
        "change", "attribute"
    )
    falls, rises = moves.filter(pl.col("change") < 0), moves.filter(pl.col("change") > 0).reverse()
    if falls.height:
        m = falls.row(0, named=True)
        text += f"; biggest significant fall: {m['label']} {signed(m['change'])} to {m['mean']:.1f}"
    if rises.height:
        m = rises.row(0, named=True)
        text += f"; biggest significant rise: {m['label']} {signed(m['change'])} to {m['mean']:.1f}"
    if not moves.height:
        text += "; no attribute moved significantly"
    return text + "."


def comparison_table(compare: pl.DataFrame) -> pl.DataFrame:
    """The two-wave comparison as a display table (NPS in points, attributes on 0-10)."""
    a, b = compare["wave_a"][0], compare["wave_b"][0]
    return compare.select(
        pl.col("label").alias("Measure"),
        pl.col("a").round(2).alias(a),
        pl.col("b").round(2).alias(b),
        pl.col("change").round(2).alias("Change"),
        pl.when(pl.col("a").is_null() | pl.col("b").is_null())
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit("not significant"))
        .alias("Verdict"),
        pl.format("{} → {}", pl.col("n_a"), pl.col("n_b")).alias("n"),
    )
