"""Attribute alerts: planted problems are found, traps stay silent, state changes are audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.cli import main
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop import alerts, rules, webhooks
from cx.store import Notification
from tests.support.datadir import write_waves

WAVES = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
ATTRS = ["attr_a", "attr_b", "attr_c", "attr_d"]
COUNTRIES = {"ES": "Europe", "FR": "Europe", "GB": "Europe"}
PER_WAVE = 200

# (agency, attribute) -> mean per wave; everything else has a true mean of 7.0.
PLANTED = {
    ("ES-1", "attr_a"): [7.0, 7.0, 6.7, 6.3, 5.9, 5.5],  # steady decline
    ("FR-2", "attr_b"): [5.6] * 6,  # far below its peers, no trend
    ("GB-3", "attr_c"): [7.0, 7.0, 7.0, 7.0, 7.0, 5.6],  # sudden one-wave break
}
EXPECTED_REASON = {
    ("ES-1", "attr_a"): "trend_down",
    ("FR-2", "attr_b"): "below_peers",
    ("GB-3", "attr_c"): "unexpected",
}
TRAPS = {
    ("FR-4", "attr_a"): [7.0, 7.0, 7.0, 7.0, 5.4, 7.0],  # dipped, then recovered
}
LOW_BASE_AGENCY = "ES-5"  # 20 answers per wave with a mean of 3.0 on every attribute


def synthetic(seed: int) -> pl.LazyFrame:
    """3 countries x 5 agencies x 6 waves, 200 answers per agency-wave (20 for the low base)."""
    rng = np.random.default_rng(seed)
    parts = []
    for country, region in COUNTRIES.items():
        for k in range(1, 6):
            agency = f"{country}-{k}"
            for w, wave in enumerate(WAVES):
                n = 20 if agency == LOW_BASE_AGENCY else PER_WAVE
                cols: dict[str, object] = {}
                for attr in ATTRS:
                    mean = (
                        3.0
                        if agency == LOW_BASE_AGENCY
                        else {**PLANTED, **TRAPS}.get((agency, attr), [7.0] * 6)[w]
                    )
                    cols[attr] = np.clip(np.rint(rng.normal(mean, 1.8, n)), 0, 10).astype(np.int64)
                parts.append(
                    pl.DataFrame(
                        {
                            "response_id": [f"{wave}-{agency}-{i}" for i in range(n)],
                            "wave": wave,
                            "region": region,
                            "country": country,
                            "agency": agency,
                            "nps": np.clip(np.rint(rng.normal(7.5, 2.0, n)), 0, 10).astype(
                                np.int64
                            ),
                            "weight": np.ones(n),
                            "excluded": np.zeros(n, dtype=bool),
                            **cols,
                        }
                    )
                )
    return pl.concat(parts).lazy()


def score_run(found: pl.DataFrame) -> tuple[int, list[tuple[str, str]]]:
    """(planted problems found with the expected reason, alerts on pairs that have no problem)."""
    agencies = found.filter(pl.col("level") == "agency")
    keys = {(r["entity"], r["attribute"]): r["reasons"] for r in agencies.iter_rows(named=True)}
    hits = sum(1 for pair, reason in EXPECTED_REASON.items() if reason in keys.get(pair, []))
    false = [
        (e, a)
        for (lvl, e, a) in found.select("level", "entity", "attribute").iter_rows()
        if not (lvl == "agency" and (e, a) in PLANTED)
    ]
    return hits, false


def test_planted_problems_are_found_and_traps_stay_silent_over_five_seeds() -> None:
    pairs = (15 + 3) * len(ATTRS)  # agencies and countries x attributes, per run
    total_hits, total_false = 0, []
    for seed in range(5):
        found = alerts.detect(synthetic(seed), Scope.world(), Filters())
        hits, false = score_run(found)
        total_hits += hits
        total_false += false
        entities = set(found["entity"])
        assert LOW_BASE_AGENCY not in entities, "a low base never alerts"
        assert ("FR-4", "attr_a") not in set(
            zip(found["entity"], found["attribute"], strict=True)
        ), "a recovered attribute does not alert"
    recall = total_hits / (5 * len(EXPECTED_REASON))
    false_rate = len(total_false) / (5 * pairs)
    print(
        f"\nalerts on synthetic waves: recall {recall:.0%}, false alerts {len(total_false)} in {5 * pairs} pairs ({false_rate:.2%})"
    )
    assert recall == 1.0
    assert false_rate <= 1 / 50, total_false


def test_each_planted_problem_is_described_by_its_own_reason() -> None:
    found = alerts.detect(synthetic(11), Scope.world(), Filters())
    rows = {
        (r["entity"], r["attribute"]): r
        for r in found.iter_rows(named=True)
        if r["level"] == "agency"
    }
    decline = rows[("ES-1", "attr_a")]
    assert "trend_down" in decline["reasons"]
    assert "fell from" in decline["sentence"] and "over the last 4 waves" in decline["sentence"]
    peers = rows[("FR-2", "attr_b")]
    assert "below_peers" in peers["reasons"] and "trend_down" not in peers["reasons"]
    assert "below the other agencies of FR" in peers["sentence"]
    brk = rows[("GB-3", "attr_c")]
    assert "unexpected" in brk["reasons"]
    assert "trend_down" not in brk["reasons"], "a one-wave break is not a trend"
    assert found["score"].to_list() == sorted(found["score"].to_list(), reverse=True)


def test_an_earlier_wave_is_judged_on_the_history_up_to_that_wave() -> None:
    found = alerts.detect(synthetic(3), Scope.world(), Filters(wave="2026-Q1"))
    pairs = set(zip(found["entity"], found["attribute"], strict=True))
    assert ("GB-3", "attr_c") not in pairs, "the break happens in 2026-Q2, after the wave asked for"
    dip = alerts.detect(synthetic(3), Scope.world(), Filters(wave="2026-Q1"))
    assert (
        "unexpected"
        in dip.filter((pl.col("entity") == "FR-4") & (pl.col("attribute") == "attr_a"))[
            "reasons"
        ].to_list()[0]
    )


def test_high_importance_only_raises_the_score_never_alerts_alone() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for agency, offset in (("X-1", 0.0), ("X-2", 0.0), ("X-4", 0.0), ("X-3", -1.5)):
        for wave in WAVES:
            a = np.clip(np.rint(rng.normal(7 + offset, 1.5, 300)), 0, 10)
            b = np.clip(np.rint(rng.normal(7, 1.5, 300)), 0, 10)
            nps = np.clip(np.rint(a + rng.normal(0, 0.8, 300)), 0, 10)  # attr_a drives NPS
            rows.append(
                pl.DataFrame(
                    {
                        "response_id": [f"{wave}{agency}{i}" for i in range(300)],
                        "wave": wave,
                        "region": "R",
                        "country": "X",
                        "agency": agency,
                        "nps": nps.astype(np.int64),
                        "weight": 1.0,
                        "excluded": False,
                        "attr_a": a.astype(np.int64),
                        "attr_b": b.astype(np.int64),
                    }
                )
            )
    found = alerts.detect(pl.concat(rows).lazy(), Scope.world(), Filters())
    assert set(zip(found["entity"], found["attribute"], strict=True)) == {("X-3", "attr_a")}
    row = found.row(0, named=True)
    assert row["reasons"] == ["below_peers", "high_importance"]
    gap = row["peer_mean"] - row["mean"]
    assert row["score"] == pytest.approx(round((1 + gap) * alerts.IMPORTANCE_BOOST, 2), abs=0.011)
    assert "top-3 driver" in row["sentence"]


def test_prediction_interval_uses_student_t() -> None:
    assert alerts.t975(1) == 12.706
    assert alerts.t975(5) == 2.571
    assert alerts.t975(22) == 2.086  # next lower tabulated df (20)
    assert alerts.t975(1000) == 1.96


def test_demo_madrid_cleanliness_is_the_top_alert_and_scope_hides_other_entities(
    responses: pl.LazyFrame,
) -> None:
    world = alerts.detect(responses, Scope.world(), Filters())
    top = world.row(0, named=True)
    assert (top["level"], top["entity"], top["attribute"]) == (
        "agency",
        "Madrid",
        "attr_cleanliness",
    )
    assert set(top["reasons"]) >= {"trend_down", "below_peers", "unexpected"}
    madrid = alerts.detect(responses, Scope.parse("agency:Madrid"), Filters())
    assert set(madrid["entity"]) == {"Madrid"}
    assert madrid.filter(pl.col("attribute") == "attr_cleanliness")["score"][0] == top["score"], (
        "peers come from the country aggregate"
    )
    text = " ".join(madrid["sentence"].to_list())
    assert "Barcelona" not in text and "Valencia" not in text
    fr = alerts.detect(responses, Scope.parse("country:FR"), Filters())
    assert set(fr["country"]) <= {"FR"} and "Madrid" not in set(fr["entity"])
    assert alerts.detect(responses, Scope(), Filters()).is_empty(), "an empty scope sees nothing"


def test_cli_alerts_prints_the_contract_keys(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["alerts", "--data", str(demo_root), "--user", "madrid.manager", "--format", "json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows and list(rows[0]) == ["level", "entity", "attribute", "wave", "score", "reasons"]
    assert rows[0]["entity"] == "Madrid" and rows[0]["wave"] == "2026-Q3"
    assert main(["alerts", "--data", str(demo_root), "--wave", "2019-Q1"]) == 2
    assert "unknown wave" in capsys.readouterr().err


# ---------------------------------------------------------------- state in the store


def acting(scope: Scope, username: str, role: str = "agency_manager") -> User:
    """The user acting on an alert."""
    return User(username=username, name=username, email="", roles=(role,), scope=scope)


def _alert(**kw: object) -> dict[str, object]:
    base = {
        "key": "agency:Madrid:attr_cleanliness:2026-Q3",
        "level": "agency",
        "entity": "Madrid",
        "attribute": "attr_cleanliness",
        "wave": "2026-Q3",
        "region": "Europe",
        "country": "ES",
    }
    return {**base, **kw}


def test_acknowledge_link_and_dismiss_are_versioned_and_audited(engine: Engine) -> None:
    scope = Scope.parse("agency:Madrid")
    with store.session(engine) as s:
        row = alerts.set_state(
            s,
            acting(scope, "madrid.manager"),
            _alert(),
            status="acknowledged",
        )
        assert (row.status, row.version, row.agency) == ("acknowledged", 1, "Madrid")
    with store.session(engine) as s:
        row = alerts.set_state(
            s,
            acting(scope, "madrid.manager"),
            _alert(),
            status="acknowledged",
            action_ref="plan:7",
            expected_version=1,
        )
        assert (row.action_ref, row.version) == ("plan:7", 2)
    with pytest.raises(store.StaleEdit), store.session(engine) as s:
        alerts.set_state(
            s, acting(scope, "someone"), _alert(), status="dismissed", expected_version=1
        )
    with store.session(engine) as s:
        alerts.set_state(
            s, acting(scope, "madrid.manager"), _alert(), status="dismissed", expected_version=2
        )
        trail = store.audit_trail(s, scope, entity="alert")
        assert [t.action for t in reversed(trail)] == [
            "alert.acknowledged",
            "alert.link",
            "alert.dismissed",
        ]
        assert json.loads(trail[0].detail)["before"] == {
            "status": "acknowledged",
            "action_ref": "plan:7",
        }
        states = alerts.states(s, scope)
        assert states["agency:Madrid:attr_cleanliness:2026-Q3"].status == "dismissed"
        assert alerts.states(s, Scope.parse("country:FR")) == {}


def test_an_alert_outside_the_scope_cannot_be_changed(engine: Engine) -> None:
    with pytest.raises(PermissionError), store.session(engine) as s:
        alerts.set_state(
            s,
            acting(Scope.parse("agency:Paris"), "paris.manager"),
            _alert(),
            status="dismissed",
        )
    with pytest.raises(ValueError, match="unknown alert status"), store.session(engine) as s:
        alerts.set_state(
            s,
            acting(Scope.world(), "ceo"),
            _alert(),
            status="deleted",
        )
    with store.session(engine) as s:
        assert s.exec(select(alerts.AlertState)).all() == []


def test_stored_states_join_onto_detected_alerts() -> None:
    found = alerts.detect(synthetic(2), Scope.world(), Filters())
    key = found["key"][0]
    state = alerts.AlertState(
        key=key, level="agency", entity="x", attribute="a", wave="w", status="dismissed", version=3
    )
    open_cards = alerts.cards(found, {key: state})
    assert key not in {c["key"] for c in open_cards}
    dismissed = alerts.cards(found, {key: state}, show=("dismissed",))
    assert [(c["key"], c["version"]) for c in dismissed] == [(key, 3)]
    assert alerts.takeaway(found, "2026-Q2").startswith(
        f"{found.height} attribute alerts in your scope at 2026-Q2"
    )


def test_sparkline_marks_the_latest_wave_and_keeps_flat_series_flat() -> None:
    from cx.charts.alerts import sparkline_chart

    alert = {"wave": "2026-Q2", "history_waves": ["2026-Q1", "2026-Q2"], "history": [7.1, 6.9]}
    frame = alerts.sparkline_frame(alert)
    assert frame.rows() == [("2026-Q1", 7.1, False), ("2026-Q2", 6.9, True)]
    spec = sparkline_chart(frame).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [
        5.8,
        8.2,
    ]  # 7.0 +- 1 point, +- 0.2 margin
    assert [(v["label"], v["latest"]) for v in spec["data"]["values"]] == [
        ("7.1", False),
        ("6.9", True),
    ]


# ---------------------------------------------------------------- peers are never one entity


def _geo_frame(agencies: dict[tuple[str, str, str], float], seed: int = 3) -> pl.LazyFrame:
    """Two waves of 200 answers per (region, country, agency), attr_a around the given mean."""
    rng = np.random.default_rng(seed)
    parts = []
    for (region, country, agency), mean in agencies.items():
        for wave in WAVES[-2:]:
            n = 200
            parts.append(
                pl.DataFrame(
                    {
                        "response_id": [f"{wave}-{agency}-{i}" for i in range(n)],
                        "wave": wave,
                        "region": region,
                        "country": country,
                        "agency": agency,
                        "nps": np.clip(np.rint(rng.normal(7.5, 2.0, n)), 0, 10).astype(np.int64),
                        "weight": np.ones(n),
                        "excluded": np.zeros(n, dtype=bool),
                        "attr_a": np.clip(np.rint(rng.normal(mean, 1.0, n)), 0, 10).astype(
                            np.int64
                        ),
                    }
                )
            )
    return pl.concat(parts).lazy()


def test_a_region_of_two_countries_gets_no_peer_comparison_and_never_the_other_mean() -> None:
    geo = {("Latin America", "MX", f"MX-{k}"): 5.0 for k in range(1, 5)}
    geo |= {("Latin America", "AR", f"AR-{k}"): 9.0 for k in range(1, 5)}
    geo |= {("Europe", "ES", f"ES-{k}"): 5.0 for k in range(1, 5)}
    for country in ("FR", "GB", "DE"):
        geo |= {("Europe", country, f"{country}-{k}"): 8.0 for k in range(1, 5)}
    frame = _geo_frame(geo)
    found = alerts.detect(frame, Scope.world(), Filters())
    countries = {r["entity"]: r for r in found.iter_rows(named=True) if r["level"] == "country"}
    # Spain has three peer countries: compared. Mexico has one (Argentina): never compared.
    assert "below_peers" in countries["ES"]["reasons"]
    assert "the other countries of Europe" in countries["ES"]["sentence"]
    assert "MX" not in countries or "below_peers" not in countries["MX"]["reasons"]
    ar_mean = (
        frame.filter((pl.col("country") == "AR") & (pl.col("wave") == WAVES[-1]))
        .select(pl.col("attr_a").mean())
        .collect()
        .item()
    )
    mexico = alerts.detect(frame, Scope.parse("country:MX"), Filters())
    assert mexico.filter(pl.col("level") == "country")["peer_mean"].is_null().all()
    text = " ".join(found["sentence"].to_list() + mexico["sentence"].to_list())
    assert f"({ar_mean:.1f})" not in text and "other countries of Latin America" not in text


@pytest.mark.parametrize(
    ("scope", "compared"),
    [
        ("world", True),
        ("agency:X-1", True),  # four foreign peers pooled
        ("agency:X-1,agency:X-2,agency:X-3", False),  # the rest would be two agencies
        ("agency:X-1,agency:X-2,agency:X-3,agency:X-4", False),  # ... or X-5 alone
    ],
)
def test_peers_the_viewer_could_subtract_down_to_one_or_two_are_not_compared(
    scope: str, compared: bool
) -> None:
    frame = _geo_frame({("R", "X", f"X-{k}"): 5.0 if k == 1 else 8.0 for k in range(1, 6)})
    found = alerts.detect(frame, Scope.parse(scope), Filters())
    x1 = found.filter((pl.col("entity") == "X-1") & (pl.col("level") == "agency"))
    assert bool(x1.height and "below_peers" in x1["reasons"][0]) is compared
    if not compared:
        assert x1["peer_mean"].is_null().all()
        assert not any("other agencies" in s for s in x1["sentence"].to_list())


def test_benchmarks_never_show_a_rest_of_parent_of_one_or_two_foreign_entities() -> None:
    from cx.analytics import benchmarks

    two = _geo_frame({("Europe", "ES", "Norte"): 6.0, ("Europe", "ES", "Sur"): 8.0})
    df = benchmarks.attribute_benchmark(two, Scope.parse("agency:Norte"), Filters())
    # Spain minus Norte is Sur: neither the parent (Spain) nor the world (= Spain) is shown.
    assert df["parent_mean"].is_null().all() and df["world_mean"].is_null().all()
    league = benchmarks.league_table(two, Scope.parse("agency:Norte"), Filters(), "agency")
    assert league["parent_nps"].is_null().all()
    four = _geo_frame({("Europe", "ES", name): 7.0 for name in ("Norte", "Sur", "Este", "Oeste")})
    df = benchmarks.attribute_benchmark(four, Scope.parse("agency:Norte"), Filters())
    assert df["parent_mean"].is_not_null().all()  # three foreign agencies pooled: shown
    # A region of two countries: a country's league against the world shows no world figure
    # when the rest of the world is the one other country.
    latam = _geo_frame({("Latin America", "MX", "CDMX"): 6.0, ("Latin America", "AR", "BA"): 8.0})
    countries = benchmarks.league_table(latam, Scope.parse("country:MX"), Filters(), "agency")
    assert countries["parent_nps"].is_not_null().all()  # Mexico's own agencies vs Mexico
    mx = benchmarks.attribute_benchmark(latam, Scope.parse("country:MX"), Filters())
    assert mx["world_mean"].is_null().all()
    world = benchmarks.league_table(latam, Scope.world(), Filters(), "country")
    assert world["parent_nps"].is_not_null().all()  # the world sees both: nothing foreign


def test_alert_subscribers_hear_of_each_alert_when_its_wave_is_imported_once(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = (
        synthetic(0)
        .with_columns(
            responded_at=pl.lit(datetime(2026, 5, 1, tzinfo=UTC)),
            customer_id=pl.col("response_id"),
        )
        .collect()
    )
    root = write_waves(tmp_path / "data", frame)
    monkeypatch.setenv("CX_WEBHOOKS_ALLOW_LOCAL", "1")
    with store.session(engine) as s:
        sub = webhooks.add(
            s, url="http://127.0.0.1:9/hook", events=["alert.raised"], scope="country:ES", actor="t"
        )
        s.commit()
        s.refresh(sub)
    expected = alerts.detect(
        data.scan_responses(root), Scope.parse("country:ES"), Filters(wave=WAVES[-1])
    )
    assert expected.height > 0
    said = rules.after_import(root, WAVES[-1], engine)
    assert f"{expected.height} alert event(s) queued" in said, said
    again = rules.after_import(root, WAVES[-1], engine)  # a second run tells nobody twice
    assert "alert event" not in again
    with store.session(engine) as s:
        keys = sorted(
            s.exec(select(Notification.dedupe_key).where(Notification.channel == "webhook"))
        )
    assert keys == sorted(f"webhook:{sub.id}:alert:{k}" for k in expected["key"])
