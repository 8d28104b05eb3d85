"""World zones: region/country table, ISO mapping, the inlined world map, and the takeaway."""

from __future__ import annotations

import json

import polars as pl
import pytest

from cx import charts
from cx.analytics import zones
from cx.core import geo
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.demo.dataset import GEOGRAPHY

W = "2026-Q2"


def _country(
    region: str,
    country: str,
    promoters: int,
    detractors: int,
    n: int,
    csat_top2: int = 0,
    clean: float = 7.0,
) -> pl.DataFrame:
    scores = [10] * promoters + [3] * detractors + [8] * (n - promoters - detractors)
    return pl.DataFrame(
        {
            "response_id": [f"{country}-{i}" for i in range(n)],
            "wave": [W] * n,
            "region": [region] * n,
            "country": [country] * n,
            "agency": [f"{country} One"] * n,
            "nps": scores,
            "csat": [5] * csat_top2 + [2] * (n - csat_top2),
            "weight": [1.0] * n,
            "attr_cleanliness": [clean] * n,
        }
    )


def _frame() -> pl.LazyFrame:
    return pl.concat(
        [
            _country("Europe", "ES", 50, 10, 100, csat_top2=80, clean=8.0),  # NPS 40
            _country("Europe", "FR", 20, 30, 100, csat_top2=50, clean=6.0),  # NPS -10
            _country("Latin America", "MX", 12, 2, 20, csat_top2=10, clean=9.0),  # NPS 50, low base
            _country("Latin America", "AR", 40, 10, 100, csat_top2=70, clean=7.0),  # NPS 30
        ]
    ).lazy()


def test_zone_table_regions_then_their_countries_best_first() -> None:
    df = zones.zone_table(_frame(), Scope.world(), Filters(wave=W))
    assert df.select("level", "name").rows() == [
        ("region", "Latin America"),
        ("country", "Mexico"),
        ("country", "Argentina"),
        ("region", "Europe"),
        ("country", "Spain"),
        ("country", "France"),
    ]
    europe = df.filter(pl.col("name") == "Europe").row(0, named=True)
    assert europe["n"] == 200 and europe["nps"] == pytest.approx(15.0)  # 100 * (70 - 40) / 200
    latam = df.filter(pl.col("name") == "Latin America").row(0, named=True)
    assert latam["nps"] == pytest.approx(100 * (52 - 12) / 120)


def test_low_base_country_is_shown_but_not_ranked() -> None:
    df = zones.zone_table(_frame(), Scope.world(), Filters(wave=W))
    ranks = dict(df.filter(pl.col("level") == "country").select("country", "rank").rows())
    assert ranks == {"ES": 1, "AR": 2, "FR": 3, "MX": None}
    mx = df.filter(pl.col("country") == "MX").row(0, named=True)
    assert mx["low_base"] and mx["value"] == pytest.approx(50.0)


def test_iso_numeric_ids_match_the_world_atlas() -> None:
    df = zones.zone_table(_frame(), Scope.world(), Filters(wave=W))
    ids = dict(df.filter(pl.col("level") == "country").select("country", "iso_numeric").rows())
    assert ids == {"ES": "724", "FR": "250", "MX": "484", "AR": "032"}
    topo_ids = {g.get("id") for g in geo.topology()["objects"]["countries"]["geometries"]}
    assert set(ids.values()) <= topo_ids


def test_iso_table_covers_every_country_and_the_demo() -> None:
    codes = geo.iso_codes()
    assert len(codes) == 249
    demo = {c for countries in GEOGRAPHY.values() for c in countries}
    assert demo <= set(codes)
    assert codes["GB"] == ("826", "United Kingdom") and codes["US"][0] == "840"


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("csat", {"ES": 80.0, "FR": 50.0, "AR": 70.0}),
        ("attr_cleanliness", {"ES": 8.0, "FR": 6.0, "AR": 7.0}),
    ],
)
def test_metric_picker_colours_by_csat_or_an_attribute(
    metric: str, expected: dict[str, float]
) -> None:
    df = zones.zone_table(_frame(), Scope.world(), Filters(wave=W), metric=metric)
    values = dict(df.filter(pl.col("rank").is_not_null()).select("country", "value").rows())
    assert values == pytest.approx(expected)
    assert df["metric"][0] == metric


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(zones.ZoneError, match="attr_missing"):
        zones.zone_table(_frame(), Scope.world(), Filters(wave=W), metric="attr_missing")


def test_region_scope_sees_only_its_countries() -> None:
    df = zones.zone_table(_frame(), Scope.parse("region:Europe"), Filters(wave=W))
    assert set(df["name"]) == {"Europe", "Spain", "France"}


def test_lone_tiny_country_hides_its_smallest_sibling() -> None:
    frame = pl.concat([_frame().collect(), _country("Europe", "PT", 1, 1, 3)]).lazy()
    df = zones.zone_table(frame, Scope.world(), Filters(wave=W))
    hidden = dict(df.filter(pl.col("level") == "country").select("country", "suppressed").rows())
    # PT (n = 3) is suppressed; Europe's total minus ES and FR would reveal it, so the smallest
    # visible sibling is hidden too (ES and FR tie at n = 100; ES comes first by code).
    assert hidden["PT"] and hidden["ES"]
    assert not hidden["FR"] and not hidden["AR"]
    assert df.filter(pl.col("country") == "ES")["nps"][0] is None


def test_world_map_is_inlined_topojson_without_names_outside_the_data() -> None:
    df = zones.zone_table(_frame(), Scope.parse("region:Europe"), Filters(wave=W))
    spec = charts.world_map_chart(df).to_dict()
    text = json.dumps(spec)
    assert '"url"' not in text  # nothing fetched at run time
    assert '"type": "topojson"' in text and '"feature": "countries"' in text
    # Country names come only from the in-scope rows: no Mexico, Argentina, Brazil...
    for outside in ("Mexico", "Argentina", "Brazil", "Latin America"):
        assert outside not in text
    assert "Spain" in text and "France" in text
    lookup = spec["layer"][1]["transform"][0]
    assert lookup["lookup"] == "id" and lookup["from"]["key"] == "iso_numeric"


def test_takeaway_names_leading_region_and_extremes() -> None:
    df = zones.zone_table(_frame(), Scope.world(), Filters(wave=W))
    assert zones.zones_takeaway(df) == (
        "Latin America leads on NPS (33.3); best country: Spain at 40.0, lowest: France at -10.0 in 2026-Q2."
    )
