"""World zones: satisfaction by region and country (for world and region scopes), for the map.

The map data ships inside the package (``cx/config/geo``): the world-atlas 110m TopoJSON, whose
country ids are ISO 3166-1 numeric codes, and ``iso_codes.csv`` mapping the contract's alpha-2
country codes to them. Nothing is downloaded at run time.
"""

from __future__ import annotations

import polars as pl

from cx.analytics import overview
from cx.core import metrics
from cx.core.data import attribute_label, attributes
from cx.core.filters import Filters
from cx.core.geo import country_name, iso_codes
from cx.core.scope import Scope


class ZoneError(ValueError):
    """An unknown metric for the zones screen."""


def metric_options(columns: list[str]) -> dict[str, str]:
    """The metrics the map can show: NPS, CSAT when present, then each attribute mean."""
    out = {"nps": "NPS"}
    if "csat" in columns:
        out["csat"] = "CSAT (top-2-box, %)"
    out |= {a: f"{attribute_label(a)} (0-10)" for a in attributes(columns)}
    return out


def _geo_lookup(codes: list[str]) -> pl.DataFrame:
    iso = iso_codes()
    return pl.DataFrame(
        {
            "country": codes,
            "iso_numeric": [iso.get(c, (None, ""))[0] for c in codes],
            "name": [country_name(c) for c in codes],
        },
        schema={"country": pl.String, "iso_numeric": pl.String, "name": pl.String},
    )


def _sibling_suppression(df: pl.DataFrame, parent: str | None, key: str) -> pl.DataFrame:
    """When exactly one cell of a parent is suppressed, also hide its smallest visible sibling.

    Otherwise the parent's total minus the visible siblings would reveal the hidden cell.
    """
    over = pl.col(parent) if parent else pl.lit(True)
    lone = pl.col("suppressed").sum().over(over) == 1
    first = (
        pl.int_range(pl.len()).over(over, order_by=[pl.col("suppressed"), pl.col("n"), pl.col(key)])
        == 0
    )
    return df.with_columns(suppressed=pl.col("suppressed") | (lone & first & ~pl.col("suppressed")))


def zone_table(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, metric: str = "nps"
) -> pl.DataFrame:
    """One row per region and per country of the scope for the wave.

    Columns: ``level`` (region | country), ``region``, ``country`` (null on region rows),
    ``name``, ``iso_numeric``, ``n``, ``nps``, ``nps_moe``, ``csat``, ``metric``, ``value`` (the
    chosen metric), ``rank`` (countries by value, never low bases), ``low_base``, ``suppressed``.
    Sorted by region (best value first), each region followed by its countries (best first).
    """
    cols = overview.columns_of(frame)
    options = metric_options(cols)
    if metric not in options:
        raise ZoneError(f"unknown metric {metric!r}: use one of {', '.join(options)}")
    wave = filters.wave or overview.waves(frame)[-1]
    f = filters.with_wave(wave)
    keep = ["n", "nps", "nps_moe", "csat", "low_base", "suppressed"]
    countries = overview.kpis(frame, scope, f, ["region", "country"]).select(
        "region", "country", *keep
    )
    regions = overview.kpis(frame, scope, f, ["region"]).select("region", *keep)
    if metric.startswith("attr_"):
        rows = overview.scoped(frame, scope, f)
        by_country = rows.group_by("region", "country").agg(
            metrics.attribute_mean(metric).alias("value")
        )
        by_region = rows.group_by("region").agg(metrics.attribute_mean(metric).alias("value"))
        means = pl.collect_all([by_country, by_region])
        countries = countries.join(means[0], on=["region", "country"], how="left")
        regions = regions.join(means[1], on="region", how="left")
    else:
        countries = countries.with_columns(value=pl.col(metric))
        regions = regions.with_columns(value=pl.col(metric))
    countries = _sibling_suppression(
        countries.filter(pl.col("country").is_not_null()), "region", "country"
    )
    regions = _sibling_suppression(regions.filter(pl.col("region").is_not_null()), None, "region")
    hide = [
        pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("value", "nps", "nps_moe", "csat")
    ]
    countries = countries.with_columns(hide).join(
        _geo_lookup(countries["country"].drop_nulls().to_list()), on="country", how="left"
    )
    regions = regions.with_columns(
        *hide,
        country=pl.lit(None, pl.String),
        name=pl.col("region"),
        iso_numeric=pl.lit(None, pl.String),
    )
    eligible = ~pl.col("low_base") & ~pl.col("suppressed") & pl.col("value").is_not_null()
    ranks = (
        countries.filter(eligible)
        .sort(["value", "country"], descending=[True, False])
        .select("country", pl.int_range(1, pl.len() + 1).cast(pl.Int32).alias("rank"))
    )
    countries = countries.join(ranks, on="country", how="left").with_columns(
        level=pl.lit("country")
    )
    region_order = regions.sort(
        ["value", "region"], descending=[True, False], nulls_last=True
    ).select("region", pl.int_range(pl.len()).alias("region_order"))
    regions = regions.with_columns(level=pl.lit("region"), rank=pl.lit(None, pl.Int32))
    columns = [
        "level",
        "region",
        "country",
        "name",
        "iso_numeric",
        "n",
        "nps",
        "nps_moe",
        "csat",
        "value",
        "rank",
        "low_base",
        "suppressed",
    ]
    return (
        pl.concat([regions.select(columns), countries.select(columns)], how="vertical_relaxed")
        .join(region_order, on="region", how="left")
        .sort(
            ["region_order", pl.col("level") != "region", "value", "country"],
            descending=[False, False, True, False],
            nulls_last=True,
        )
        .drop("region_order")
        .with_columns(
            metric=pl.lit(metric), metric_label=pl.lit(options[metric]), wave=pl.lit(wave)
        )
    )


def zones_takeaway(table: pl.DataFrame) -> str:
    """E.g. "North America leads on NPS (15.7); lowest country: France at 8.3, 7.4 below the top."."""
    if table.is_empty():
        return "No responses in this wave for this scope and these filters."
    label = table["metric_label"][0].split(" (")[0]
    fmt = "{:.1f}" if table["metric"][0] != "csat" else "{:.0f} %"
    regions = table.filter(
        (pl.col("level") == "region") & pl.col("value").is_not_null() & ~pl.col("low_base")
    )
    ranked = table.filter(pl.col("rank").is_not_null()).sort("rank")
    parts = []
    if regions.height > 1:
        best = regions.sort(["value", "region"], descending=[True, False]).row(0, named=True)
        parts.append(f"{best['region']} leads on {label} ({fmt.format(best['value'])})")
    if ranked.height > 1:
        top, low = ranked.row(0, named=True), ranked.row(-1, named=True)
        parts.append(
            f"best country: {top['name']} at {fmt.format(top['value'])}, "
            f"lowest: {low['name']} at {fmt.format(low['value'])}"
        )
    elif ranked.height == 1:
        only = ranked.row(0, named=True)
        parts.append(f"{only['name']} scores {fmt.format(only['value'])} on {label}")
    if not parts:
        return f"Too few responses in {table['wave'][0]} to compare zones (bases under 30)."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + f" in {table['wave'][0]}."


def zone_view(table: pl.DataFrame) -> pl.DataFrame:
    """The zone/country table as shown: zones in bold order, countries indented under them."""
    label = table["metric_label"][0] if table.height else "Value"
    metric = table["metric"][0] if table.height else "nps"
    out = [
        pl.when(pl.col("level") == "region")
        .then(pl.col("name"))
        .otherwise(pl.format("   {}", pl.col("name")))
        .alias("Zone / country"),
        pl.col("n"),
        pl.col("nps").round(1).alias("NPS"),
        pl.col("nps_moe").round(1).alias("± MoE"),
    ]
    if metric != "nps":
        out.append(pl.col("value").round(1 if metric == "csat" else 2).alias(label))
    out.append(
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .otherwise(pl.lit(""))
        .alias("Note")
    )
    return table.select(out)
