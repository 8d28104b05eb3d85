"""Monthly customers served entered by hand: who may write them, what is refused and why, the
versioned updates and the audit trail, on a real SQLite store (and the indices reading them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.analytics import indices
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.ingest import served
from cx.store import AuditLog
from cx.store.models import ServedCount
from tests.support.apptest import demo_user

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
ES_ANALYST = User("es.analyst", "AN-ES", "", ("analyst",), Scope.parse("country:ES"))


def put(
    engine: Engine,
    user: User,
    root: Path,
    agency: str = "Madrid",
    month: str = "2026-07",
    count: object = 1200,
    version: int | None = None,
) -> ServedCount:
    with store.session(engine) as s:
        return served.set_served(
            s,
            user,
            agency=agency,
            month=month,
            served=count,
            expected_version=version,
            now=NOW,
            root=root,
        )


def audits(engine: Engine) -> list[AuditLog]:
    with store.session(engine) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.entity == "served_count")))


def test_a_manager_records_then_changes_a_month_and_every_write_is_audited(
    sqlite_engine: Engine, root: Path
) -> None:
    row = put(sqlite_engine, demo_user("es.manager"), root)
    assert (row.region, row.country, row.agency, row.month, row.served, row.version) == (
        "Europe",
        "ES",
        "Madrid",
        "2026-07",
        1200,
        1,
    )
    assert row.entered_by == "es.manager" and row.entered_at == NOW
    changed = put(sqlite_engine, demo_user("madrid.manager"), root, count=1350, version=1)
    assert (changed.served, changed.version, changed.entered_by) == (1350, 2, "madrid.manager")
    trail = [(a.action, a.actor, a.entity_id, a.agency, a.country) for a in audits(sqlite_engine)]
    assert trail == [
        ("served.set", "es.manager", "Madrid:2026-07", "Madrid", "ES"),
        ("served.set", "madrid.manager", "Madrid:2026-07", "Madrid", "ES"),
    ]
    assert '"before": 1200' in audits(sqlite_engine)[1].detail


def test_two_people_typing_the_same_month_never_overwrite_each_other(
    sqlite_engine: Engine, root: Path
) -> None:
    put(sqlite_engine, demo_user("es.manager"), root)
    with pytest.raises(store.StaleEdit, match="already has 1,200 customers served"):
        put(sqlite_engine, demo_user("madrid.manager"), root, count=900)  # thought it was new
    put(sqlite_engine, demo_user("madrid.manager"), root, count=900, version=1)
    with pytest.raises(store.StaleEdit, match="changed by madrid.manager since you opened it"):
        put(sqlite_engine, demo_user("es.manager"), root, count=1000, version=1)  # read v1
    with store.session(sqlite_engine) as s:
        row = served.entry(s, "Madrid", "2026-07")
        assert row is not None and (row.served, row.version) == (900, 2)
        with pytest.raises(store.StaleEdit, match="your version 1, now 2"):
            served.delete_served(
                s,
                demo_user("es.manager"),
                agency="Madrid",
                month="2026-07",
                expected_version=1,
                root=root,
            )
    with store.session(sqlite_engine) as s:
        served.delete_served(
            s,
            demo_user("es.manager"),
            agency="Madrid",
            month="2026-07",
            expected_version=2,
            root=root,
        )
    with store.session(sqlite_engine) as s:
        assert served.entry(s, "Madrid", "2026-07") is None
    assert [a.action for a in audits(sqlite_engine)][-1] == "served.delete"


@pytest.mark.parametrize(
    ("user", "agency", "words"),
    [
        (demo_user("paris.manager"), "Madrid", "outside their scope agency:Paris"),
        (demo_user("madrid.manager"), "Barcelona", "outside their scope agency:Madrid"),
        (ES_ANALYST, "Paris", "outside their scope country:ES"),
        (demo_user("madrid.advisor"), "Madrid", "may not enter customers served (role advisor)"),
        (
            demo_user("madrid.teleop"),
            "Madrid",
            "may not enter customers served (role teleoperator)",
        ),
    ],
)
def test_roles_and_places_outside_the_rule_are_refused(
    sqlite_engine: Engine, root: Path, user: User, agency: str, words: str
) -> None:
    with pytest.raises(served.ServedForbidden, match=re.escape(words)) as refused:
        put(sqlite_engine, user, root, agency=agency)
    assert isinstance(refused.value, PermissionError)
    with store.session(sqlite_engine) as s:
        assert served.list_served(s, Scope.world()) == []
    assert audits(sqlite_engine) == []


def test_data_admins_and_the_ceo_enter_counts_of_their_scope(
    sqlite_engine: Engine, root: Path
) -> None:
    put(sqlite_engine, ES_ANALYST, root, agency="Sevilla")
    put(sqlite_engine, demo_user("analyst"), root, agency="Paris")
    put(sqlite_engine, demo_user("ceo"), root, agency="Leeds")
    with store.session(sqlite_engine) as s:
        assert [r.agency for r in served.list_served(s, Scope.parse("country:ES"))] == ["Sevilla"]
        assert [r.agency for r in served.list_served(s, Scope.world())] == [
            "Leeds",
            "Paris",
            "Sevilla",
        ]
        assert served.list_served(s, Scope()) == []  # deny by default


@pytest.mark.parametrize(
    ("agency", "month", "count", "words"),
    [
        ("Madrid", "2026-07", -1, "customers served -1 is out of range"),
        ("Madrid", "2026-07", 20_000_000, "20,000,000 is out of range"),
        ("Madrid", "2026-07", 12.5, "12.5 is not a whole number"),
        ("Madrid", "2026-07", "12a", "'12a' is not a whole number"),
        ("Madrid", "2026-07", True, "True is not a whole number"),
        ("Madrid", "2026-07", None, "None is not a whole number"),
        ("Madrid", "2026-13", 100, "month '2026-13' is not YYYY-MM"),
        ("Madrid", "July", 100, "month 'July' is not YYYY-MM"),
        ("Madrid", "2026-11", 100, "month 2026-11 has not begun"),
        ("Atlantis", "2026-07", 100, "unknown agency 'Atlantis'"),
    ],
)
def test_bad_values_are_refused_with_a_one_line_reason(
    sqlite_engine: Engine, root: Path, agency: str, month: str, count: object, words: str
) -> None:
    with pytest.raises(served.ServedError, match=re.escape(words)) as refused:
        put(sqlite_engine, demo_user("ceo"), root, agency=agency, month=month, count=count)
    assert "\n" not in str(refused.value)
    assert not isinstance(refused.value, PermissionError)  # a bad value, not a refusal
    assert audits(sqlite_engine) == []


def test_zero_is_a_count_and_whole_floats_or_digit_strings_are_taken(
    sqlite_engine: Engine, root: Path
) -> None:
    assert put(sqlite_engine, demo_user("ceo"), root, month="2026-08", count=0).served == 0
    assert put(sqlite_engine, demo_user("ceo"), root, month="2026-09", count=950.0).served == 950
    assert put(sqlite_engine, demo_user("ceo"), root, month="2026-10", count=" 40 ").served == 40


def test_the_indices_read_the_entries_through_the_store(sqlite_engine: Engine, root: Path) -> None:
    """Sevilla has no till count for 2026-Q3: its three months (300 + 300 + 400 = 1,000 served)
    stand in; 12 promoters -> 12.0 per 1,000. A Paris count never reaches a Spanish scope."""
    for month, count in (("2026-07", 300), ("2026-08", 300), ("2026-09", 400)):
        put(
            sqlite_engine, demo_user("es.manager"), root, agency="Sevilla", month=month, count=count
        )
    put(sqlite_engine, demo_user("ceo"), root, agency="Paris", month="2026-07", count=5000)
    rows = [
        {"wave": "2026-Q3", "region": "Europe", "country": c, "agency": a, "nps": s}
        for c, a, scores in (("ES", "Sevilla", [10] * 12 + [8] * 28), ("FR", "Paris", [0] * 40))
        for s in scores
    ]
    lf = pl.LazyFrame(rows)
    es = Scope.parse("country:ES")
    df = indices.indices_from_store(
        lf, es, Filters(wave="2026-Q3"), root=root, engine=sqlite_engine
    )
    assert df["agency"].to_list() == ["Sevilla"]
    r = df.row(0, named=True)
    assert (r["served"], r["served_source"], r["support_index"]) == (1000, "manual", 12.0)
    with store.session(sqlite_engine) as s:
        assert [m.agency for m in indices.manual_counts(s, es)] == ["Sevilla"] * 3
