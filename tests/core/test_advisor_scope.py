"""An advisor's scope narrows the rows to the customers they served; it never widens them, and
operational records (cases, the rating feed) stay geographic."""

from __future__ import annotations

import polars as pl
import pytest
from sqlmodel import select

from cx.core import org
from cx.core.scope import Scope, contains, restrict, restrict_statement
from cx.core.users import UserError, _scope_entries
from cx.store.models import Case

ROWS = pl.LazyFrame(
    {
        "region": ["Europe"] * 4,
        "country": ["ES", "ES", "ES", "FR"],
        "agency": ["Madrid", "Madrid", "Barcelona", "Paris"],
        "advisor_id": ["MAD-03", "MAD-04", "MAD-03", "MAD-03"],
    }
)


def test_advisor_entries_narrow_the_geography_instead_of_widening_it() -> None:
    scope = Scope.parse("agency:Madrid,advisor:MAD-03")
    kept = restrict(ROWS, scope).collect()
    assert kept.select("agency", "advisor_id").rows() == [("Madrid", "MAD-03")]
    assert restrict(ROWS, Scope.parse("advisor:MAD-03")).collect().height == 0


def test_a_frame_without_advisor_ids_shows_an_advisor_scope_nothing() -> None:
    agency_sums = ROWS.drop("advisor_id")
    assert restrict(agency_sums, Scope.parse("agency:Madrid,advisor:MAD-03")).collect().height == 0
    assert restrict(agency_sums, Scope.parse("agency:Madrid")).collect().height == 2


def test_cases_and_writes_stay_geographic_for_an_advisor() -> None:
    scope = Scope.parse("agency:Madrid,advisor:MAD-03")
    assert contains(scope, region="Europe", country="ES", agency="Madrid")
    sql = str(restrict_statement(select(Case), scope, Case).compile())
    assert "advisor_id IN" not in sql and "agency IN" in sql
    assert scope.geography == Scope.parse("agency:Madrid")


def test_the_scope_round_trips_through_its_text_and_the_users_file() -> None:
    scope = Scope.parse(["agency:Madrid", "advisor:MAD-03"])
    assert Scope.parse(str(scope)) == scope
    assert _scope_entries(["agency:Madrid", "advisor:MAD-03"]) == [
        "agency:Madrid",
        "advisor:MAD-03",
    ]
    with pytest.raises(UserError, match="give the agency too"):
        _scope_entries(["advisor:MAD-03"])


def test_an_advisor_scope_holds_no_wider_or_other_advisor_scope() -> None:
    o = org.Org((org.Agency("Madrid", "ES", "Europe", "Madrid"),))
    own = Scope.parse("agency:Madrid,advisor:MAD-03")
    assert org.within(Scope.parse("agency:Madrid,advisor:MAD-03"), own, o)
    assert not org.within(Scope.parse("agency:Madrid"), own, o)
    assert not org.within(Scope.parse("agency:Madrid,advisor:MAD-04"), own, o)
    assert org.within(own, Scope.parse("agency:Madrid"), o)
