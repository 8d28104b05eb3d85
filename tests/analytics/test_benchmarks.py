"""Benchmarks: league tables (significance vs parent, rank movement, low base / suppression)
and the attribute benchmark of a scope against its parent and the world (aggregates only)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cx.analytics import benchmarks
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope

Q1, Q2 = "2026-Q1", "2026-Q2"


def _agency(
    wave: str,
    country: str,
    agency: str,
    promoters: int,
    detractors: int,
    n: int,
    speed: list[float] | None = None,
    price: list[float] | None = None,
) -> pl.DataFrame:
    """``n`` answers: promoters score 10, detractors 3, the rest (passives) 8."""
    scores = [10] * promoters + [3] * detractors + [8] * (n - promoters - detractors)
    return pl.DataFrame(
        {
            "response_id": [f"{wave}-{agency}-{i}" for i in range(n)],
            "wave": [wave] * n,
            "region": ["Europe"] * n,
            "country": [country] * n,
            "agency": [agency] * n,
            "nps": scores,
            "weight": [1.0] * n,
            "attr_speed": speed if speed is not None else [7.0] * n,
            "attr_price": price if price is not None else [7.0] * n,
        }
    )


def _tiny() -> pl.LazyFrame:
    """Spain's six agencies and France's Lille over two waves (numbers worked by hand below)."""
    parts = [
        # 2026-Q2: Norte 40, Sur -10, Este 25, Oeste 25 (n=20), Centro (n=3), Isla 20 (n=25).
        _agency(
            Q2,
            "ES",
            "Norte",
            60,
            20,
            100,
            speed=[8.0] * 50 + [6.0] * 50,
            price=[7.0] * 50 + [9.0] * 50,
        ),
        _agency(Q2, "ES", "Sur", 30, 40, 100, speed=[5.0] * 100, price=[7.0] * 94 + [8.5] * 6),
        _agency(Q2, "ES", "Este", 20, 10, 40, speed=[5.0] * 40, price=[8.5] * 40),
        _agency(Q2, "ES", "Oeste", 10, 5, 20, speed=[5.0] * 20, price=[8.5] * 20),
        _agency(Q2, "ES", "Centro", 3, 0, 3, speed=[5.0] * 3, price=[8.5] * 3),
        _agency(Q2, "ES", "Isla", 10, 5, 25, speed=[5.0] * 25, price=[8.5] * 25),
        _agency(Q2, "FR", "Lille", 50, 10, 100, speed=[9.0] * 100, price=[6.0] * 100),
        # 2026-Q1: Sur 40 (1st), Este 25 (2nd), Norte -10 (3rd).
        _agency(Q1, "ES", "Norte", 30, 40, 100),
        _agency(Q1, "ES", "Sur", 60, 20, 100),
        _agency(Q1, "ES", "Este", 20, 10, 40),
        _agency(Q1, "FR", "Lille", 50, 10, 100),
    ]
    return pl.concat(parts).lazy()


@pytest.fixture(scope="module")
def spain_league() -> pl.DataFrame:
    return benchmarks.league_table(_tiny(), Scope.parse("country:ES"), Filters(wave=Q2), "agency")


def _row(df: pl.DataFrame, key: str, value: str) -> dict:
    return df.filter(pl.col(key) == value).row(0, named=True)


def test_parent_is_the_country_aggregate_worked_by_hand(spain_league: pl.DataFrame) -> None:
    # Spain in Q2: 133 promoters, 80 detractors, n = 288 -> NPS = 100 * 53 / 288 = 18.40;
    # adjusted Wald: n' = 291, p' = (133 + .75) / 291, d' = (80 + .75) / 291 -> MoE 9.64.
    row = _row(spain_league, "agency", "Norte")
    assert row["parent"] == "ES"
    assert row["parent_nps"] == pytest.approx(18.40, abs=0.01)
    assert row["parent_moe"] == pytest.approx(9.64, abs=0.01)


@pytest.mark.parametrize(
    ("agency", "nps", "moe", "z", "significant"),
    [
        # z = (NPS - 18.40) / sqrt((MoE / 1.96)^2 + (9.64 / 1.96)^2)
        ("Norte", 40.0, 15.46, 2.324, True),  # 21.6 points above: significant
        ("Sur", -10.0, 15.98, -2.983, True),  # 28.4 points below: significant
        ("Este", 25.0, 24.62, 0.489, False),  # 6.6 points above, n = 40: not significant
    ],
)
def test_significance_vs_country_matches_hand_computed_z(
    spain_league: pl.DataFrame, agency: str, nps: float, moe: float, z: float, significant: bool
) -> None:
    row = _row(spain_league, "agency", agency)
    assert row["nps"] == pytest.approx(nps, abs=0.01)
    assert row["nps_moe"] == pytest.approx(moe, abs=0.01)
    assert row["vs_parent_z"] == pytest.approx(z, abs=0.001)
    assert row["vs_parent_significant"] is significant


def test_rank_movement_since_previous_wave_hand_checked(spain_league: pl.DataFrame) -> None:
    # Q1 order: Sur 40, Este 25, Norte -10.  Q2 order: Norte 40, Este 25, Sur -10.
    moves = {
        r["agency"]: (r["rank"], r["prev_rank"], r["rank_change"]) for r in spain_league.to_dicts()
    }
    assert moves["Norte"] == (1, 3, 2)
    assert moves["Este"] == (2, 2, 0)
    assert moves["Sur"] == (3, 1, -2)
    assert spain_league["agency"].to_list()[:3] == ["Norte", "Este", "Sur"]
    assert spain_league["prev_wave"][0] == Q1


def test_low_base_is_shown_but_never_ranked_nor_flagged(spain_league: pl.DataFrame) -> None:
    isla = _row(spain_league, "agency", "Isla")  # n = 25
    assert isla["low_base"] and not isla["suppressed"]
    assert isla["nps"] == pytest.approx(20.0)
    assert isla["rank"] is None and isla["rank_change"] is None
    assert isla["vs_parent_significant"] is False


def test_tiny_cell_suppressed_and_smallest_sibling_hidden_too(spain_league: pl.DataFrame) -> None:
    centro = _row(spain_league, "agency", "Centro")  # n = 3 < 5
    assert centro["suppressed"] and centro["nps"] is None and centro["vs_parent_z"] is None
    assert centro["n"] == 3
    # Spain's total minus the visible agencies would reveal Centro: Oeste (n = 20) is hidden too.
    oeste = _row(spain_league, "agency", "Oeste")
    assert oeste["suppressed"] and oeste["nps"] is None and oeste["rank"] is None


def test_country_league_against_the_world() -> None:
    df = benchmarks.league_table(_tiny(), Scope.world(), Filters(wave=Q2), "country")
    assert df["country"].to_list() == ["FR", "ES"]
    assert df["name"].to_list() == ["France", "Spain"]
    # World: 183 promoters, 90 detractors, n = 388 -> 23.97
    assert df["parent_nps"].to_list() == pytest.approx([23.97, 23.97], abs=0.01)
    assert set(df["parent"]) == {"World"}


def test_unknown_level_is_refused() -> None:
    with pytest.raises(benchmarks.BenchmarkError, match="advisor"):
        benchmarks.league_table(_tiny(), Scope.world(), Filters(wave=Q2), "advisor")


def test_agency_league_shows_only_own_agency() -> None:
    df = benchmarks.league_table(_tiny(), Scope.parse("agency:Norte"), Filters(wave=Q2), "agency")
    assert df["agency"].to_list() == ["Norte"]
    # The country figure is an aggregate (numbers only), the same as the country manager sees.
    assert df["parent_nps"][0] == pytest.approx(18.40, abs=0.01)


@pytest.fixture(scope="module")
def norte_attrs() -> pl.DataFrame:
    return benchmarks.attribute_benchmark(_tiny(), Scope.parse("agency:Norte"), Filters(wave=Q2))


@pytest.mark.parametrize(
    ("attribute", "own", "parent", "z_parent", "sig_parent", "world", "z_world", "sig_world"),
    [
        # Welch z with sample variances: Norte speed 50x8 + 50x6 (mean 7, s^2 = 100/99);
        # Spain adds 188 answers of 5 -> mean 1640/288 = 5.6944; world adds Lille's 100 x 9.
        ("attr_speed", 7.0, 5.6944, 10.853, True, 6.5464, 3.390, True),
        # Price: Norte 50x7 + 50x9 (mean 8); Spain 7.8368: gap 0.16, z 1.452 -> not significant.
        ("attr_price", 8.0, 7.8368, 1.452, False, 7.3634, 5.548, True),
    ],
)
def test_attribute_significance_matches_hand_computed_z(
    norte_attrs: pl.DataFrame,
    attribute: str,
    own: float,
    parent: float,
    z_parent: float,
    sig_parent: bool,
    world: float,
    z_world: float,
    sig_world: bool,
) -> None:
    row = _row(norte_attrs, "attribute", attribute)
    assert row["own_mean"] == pytest.approx(own, abs=1e-4)
    assert row["parent_mean"] == pytest.approx(parent, abs=1e-4)
    assert row["world_mean"] == pytest.approx(world, abs=1e-4)
    assert row["z_parent"] == pytest.approx(z_parent, abs=0.001)
    assert row["z_world"] == pytest.approx(z_world, abs=0.001)
    assert row["significant_parent"] is sig_parent
    assert row["significant_world"] is sig_world


def test_attribute_benchmark_has_nps_first_and_names_no_other_agency(
    norte_attrs: pl.DataFrame,
) -> None:
    assert norte_attrs["attribute"].to_list() == ["nps", "attr_price", "attr_speed"]
    nps = norte_attrs.row(0, named=True)
    assert nps["own_mean"] == pytest.approx(40.0) and nps["parent_mean"] == pytest.approx(
        18.40, abs=0.01
    )
    assert nps["significant_parent"] is True  # z = 2.324, as in the league table
    assert norte_attrs["parent"][0] == "Spain"
    text = norte_attrs.write_csv()
    for other in ("Sur", "Este", "Oeste", "Centro", "Isla", "Lille"):
        assert other not in text


def test_parent_hidden_when_rest_of_country_is_under_five() -> None:
    frame = pl.concat(
        [
            _agency(Q2, "ES", "Norte", 20, 5, 40),
            _agency(Q2, "ES", "Sur", 1, 1, 3),  # Spain minus Norte = 3 answers: would reveal Sur
            _agency(Q2, "FR", "Lille", 50, 10, 100),
            _agency(Q2, "FR", "Lyon", 40, 10, 80),
            _agency(Q2, "FR", "Nice", 30, 10, 60),
        ]
    ).lazy()
    df = benchmarks.attribute_benchmark(frame, Scope.parse("agency:Norte"), Filters(wave=Q2))
    assert df["parent_mean"].is_null().all()
    assert df["world_mean"].is_not_null().all()  # the world minus Norte holds 4 other agencies
    league = benchmarks.league_table(frame, Scope.parse("agency:Norte"), Filters(wave=Q2), "agency")
    assert league["parent_nps"][0] is None and league["vs_parent_significant"][0] is False


def test_country_scope_is_benchmarked_against_the_world_only() -> None:
    df = benchmarks.attribute_benchmark(_tiny(), Scope.parse("country:FR"), Filters(wave=Q2))
    assert df["parent"][0] == "World"
    assert benchmarks.own_parent(df) is None
    view = benchmarks.attribute_view(df, "France")
    assert view.columns == ["Measure", "n", "France", "World", "vs World", "significant"]


def test_league_takeaway_names_the_significant_gap(spain_league: pl.DataFrame) -> None:
    text = benchmarks.league_takeaway(spain_league, "agency")
    assert text.startswith(
        "Sur is 28.4 points below the Spain average: significant (NPS -10.0 vs 18.4)"
    )


def test_demo_marseille_significantly_below_france(demo_root: Path) -> None:
    frame = data.scan_responses(demo_root)
    df = benchmarks.league_table(frame, Scope.parse("country:FR"), Filters(), "agency")
    marseille = _row(df, "agency", "Marseille")
    assert marseille["vs_parent"] < -8 and marseille["vs_parent_significant"]
    assert marseille["rank"] == df["rank"].max()
    assert benchmarks.league_takeaway(df, "agency").startswith("Marseille is ")
    assert set(df["agency"]) == {"Paris", "Lyon", "Marseille", "Toulouse"}
