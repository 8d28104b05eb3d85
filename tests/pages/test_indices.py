"""Support and criticality indices on the Fieldwork and Benchmarks screens, and the manual entry of
customers served, run in the real app (Streamlit AppTest) as demo users."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cx import store
from cx.core.scope import Scope
from cx.ingest import served
from tests.pages.test_benchmarks_zones import _leaks
from tests.support.apptest import demo_user, rendered_text, run_page
from tests.support.datadir import write_org, write_waves

FIELDWORK = "screens/fieldwork.py"
BENCHMARKS = "screens/benchmarks.py"
HEADING = "### Support and criticality indices"


def indices_table(at: AppTest, column: str = "Agency") -> pl.DataFrame:
    [frame] = [d.value for d in at.dataframe if "Criticality /1,000" in d.value.columns]
    return pl.from_pandas(frame).select(column, "Support #", "Criticality /1,000", "Note")


def page_ok(at: AppTest) -> str:
    assert not at.exception, at.exception
    assert HEADING in [m.value for m in at.markdown]
    return rendered_text(at)


@pytest.fixture
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of the test's own (``DATABASE_URL``): entries typed here never reach other tests."""
    path = tmp_path / "store.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def test_the_ceo_sees_every_agency_ranked_and_marseille_stands_out(demo_root: Path) -> None:
    at = run_page(FIELDWORK, "ceo", demo_root)
    text = page_ok(at)
    table = indices_table(at)
    assert table.height == 28
    top = table.sort("Criticality /1,000", descending=True).row(0, named=True)
    assert top["Agency"] == "Marseille"
    said = f"Marseille has the highest criticality index of 2026-Q3: {top['Criticality /1,000']:.1f} negative"
    assert said in text
    # Leeds lags in fieldwork (the demo's story): its low index is its low response rate
    assert "Leeds's low criticality comes with a response rate of" in text
    assert sorted(table["Support #"].to_list()) == list(range(1, 29))
    assert "Wilson 95 % interval" in text and "low count" in text


@pytest.mark.parametrize("username", ["es.manager", "madrid.manager"])
def test_benchmarks_shows_the_indices_of_the_scope_only(demo_root: Path, username: str) -> None:
    at = run_page(BENCHMARKS, username, demo_root)
    text = page_ok(at)
    scope = demo_user(username).scope
    assert _leaks(text, scope) == []
    agencies = set(indices_table(at)["Agency"])
    assert agencies == (
        {"Madrid"}
        if username == "madrid.manager"
        else {"Madrid", "Barcelona", "Valencia", "Sevilla"}
    )
    if username == "madrid.manager":  # one agency: no "highest", its own figures
        row = pl.from_pandas(
            next(d.value for d in at.dataframe if "Criticality /1,000" in d.value.columns)
        ).row(0, named=True)
        said = f"Madrid in 2026-Q3: {row['Support /1,000']:.1f} positive and {row['Criticality /1,000']:.1f} negative ratings per 1,000"
        assert said in text


@pytest.fixture
def no_till(tmp_path: Path) -> Path:
    """Madrid and Paris, 40 answers each in 2026-Q3 (Madrid: 12 promoters, 8 detractors), and no
    fieldwork file: every served count must be entered by hand."""
    root = write_org(tmp_path / "data")
    scores = [10] * 12 + [8] * 20 + [3] * 8
    rows = [
        {
            "response_id": f"{a}-{i}",
            "wave": "2026-Q3",
            "responded_at": datetime(2026, 8, 3, tzinfo=UTC),
            "customer_id": f"c{i}",
            "region": "Europe",
            "country": c,
            "agency": a,
            "nps": s,
        }
        for a, c in (("Madrid", "ES"), ("Paris", "FR"))
        for i, s in enumerate(scores)
    ]
    return write_waves(root, pl.DataFrame(rows))


def test_without_counts_the_screen_says_so_and_a_manager_enters_the_months(
    no_till: Path, own_store: Path
) -> None:
    at = run_page(FIELDWORK, "madrid.manager", no_till)
    text = page_ok(at)
    assert "No customers-served count for this wave" in text
    assert indices_table(at).row(0, named=True)["Note"] == "no customers-served count"
    assert at.selectbox(key="sv_agency").options == ["Madrid"]  # the agencies of the scope only
    for month, count in (("2026-07", 300), ("2026-08", 300), ("2026-09", 400)):
        at.selectbox(key="sv_month").set_value(month).run()
        at.number_input(key=f"sv_served:Madrid:{month}").set_value(count)
        next(b for b in at.button if b.label == "Save").click().run()
        assert not at.exception, at.exception
        assert f"Madrid, {month}: {count:,} customers served saved." in [
            s.value for s in at.success
        ]
    at = run_page(FIELDWORK, "madrid.manager", no_till)
    row = indices_table(at).row(0, named=True)
    assert (row["Criticality /1,000"], row["Note"]) == (8.0, "")  # 8 detractors / 1,000 served
    assert "Madrid in 2026-Q3: 12.0 positive and 8.0 negative ratings" in rendered_text(at)
    engine = store.init(store.make_engine(f"sqlite:///{own_store}"))
    with store.session(engine) as s:
        assert [
            (r.month, r.served, r.entered_by) for r in served.list_served(s, Scope.world())
        ] == [
            ("2026-09", 400, "madrid.manager"),
            ("2026-08", 300, "madrid.manager"),
            ("2026-07", 300, "madrid.manager"),
        ]
    engine.dispose()


def test_a_save_on_a_stale_screen_is_refused_in_one_line(no_till: Path, own_store: Path) -> None:
    engine = store.init(store.make_engine(f"sqlite:///{own_store}"))
    with store.session(engine) as s:
        served.set_served(
            s, demo_user("ceo"), agency="Madrid", month="2026-07", served=300, root=no_till
        )
    at = run_page(FIELDWORK, "es.manager", no_till)
    at.selectbox(key="sv_agency").set_value("Madrid")
    at.selectbox(key="sv_month").set_value("2026-07").run()
    assert "Entered: 300 by ceo" in rendered_text(at)
    with store.session(engine) as s:  # someone else saves while the screen is open
        served.set_served(
            s,
            demo_user("madrid.manager"),
            agency="Madrid",
            month="2026-07",
            served=350,
            expected_version=1,
            root=no_till,
        )
    at.number_input(key="sv_served:Madrid:2026-07").set_value(320)
    next(b for b in at.button if b.label == "Save").click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith("Not saved: Madrid 2026-07 was changed by madrid.manager since you")
    assert "it holds 350" in error
    assert "\n" not in error
    with store.session(engine) as s:
        row = served.entry(s, "Madrid", "2026-07")
        assert row is not None and (row.served, row.version) == (350, 2)
    engine.dispose()
