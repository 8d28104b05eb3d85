"""Customers served per agency and month, entered by hand where no till feed exists.

The basic level of the support and criticality indices (:mod:`cx.analytics.indices`): a manager
types the month's count from the till. ``fieldwork.parquet`` wins for a wave where it has a count;
these monthly entries fill in the others. Managers of the agency's geography and data admins
whose scope holds the agency record, change and delete entries; the agency's place comes from
``org.yaml``, never from the caller. Every write is audited and carries the ``version`` it was
made on (:func:`cx.store.update_versioned`), so two people typing the same month never silently
overwrite each other.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cx import store
from cx.core import org as org_mod
from cx.core.data import data_dir
from cx.core.roles import DATA_ADMINS, MANAGERS
from cx.core.scope import Scope, contains, restrict_statement
from cx.core.users import User
from cx.store.models import ServedCount

ENTER_ROLES = (*MANAGERS, *DATA_ADMINS)
"""Who enters customers served: the managers of the agency's geography and data admins."""
MAX_SERVED = 10_000_000
"""More customers than this in one month at one agency is a typing error."""
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ServedError(ValueError):
    """A count that cannot be saved (unknown agency, bad month, bad number); says why."""


class ServedForbidden(ServedError, PermissionError):
    """The acting user's role or scope does not allow entering this agency's counts."""


def check_month(month: str, *, today: date | None = None) -> str:
    """``YYYY-MM`` of a month that has begun; ServedError otherwise.

    >>> check_month(" 2026-03 ", today=date(2026, 5, 1))
    '2026-03'
    """
    text = str(month or "").strip()
    m = _MONTH.match(text)
    if m is None:
        raise ServedError(f"month {month!r} is not YYYY-MM (e.g. 2026-03)")
    today = today or store.utcnow().date()
    if date(int(m[1]), int(m[2]), 1) > today:
        raise ServedError(f"month {text} has not begun: enter the customers served once it has")
    return text


def check_served(served: object) -> int:
    """A whole number of customers from 0 to :data:`MAX_SERVED`; ServedError otherwise.

    >>> check_served(1250), check_served("980")
    (1250, 980)
    """
    if isinstance(served, bool):
        raise ServedError(f"customers served {served!r} is not a whole number")
    if isinstance(served, float) and served.is_integer():
        served = int(served)
    if isinstance(served, str) and served.strip().isdigit():
        served = int(served.strip())
    if not isinstance(served, int):
        raise ServedError(f"customers served {served!r} is not a whole number")
    if served < 0 or served > MAX_SERVED:
        raise ServedError(
            f"customers served {served:,} is out of range: a month counts 0 to {MAX_SERVED:,}"
        )
    return served


def _place(agency: str, root: Path | None) -> org_mod.Agency:
    organisation = org_mod.load(root or data_dir())
    place = organisation.agency((agency or "").strip())
    if place is None:
        raise ServedError(f"unknown agency {agency!r}; pick one of the organisation (org.yaml)")
    return place


def may_enter(user: User, place: org_mod.Agency) -> bool:
    """Managers and data admins whose scope holds the agency."""
    return user.has(*ENTER_ROLES) and contains(
        user.scope, region=place.region, country=place.country, agency=place.name
    )


def _allowed(user: User, place: org_mod.Agency) -> None:
    if not user.has(*ENTER_ROLES):
        raise ServedForbidden(
            f"{user.username} may not enter customers served (role {', '.join(user.roles) or 'none'}): "
            "managers and data admins do"
        )
    if not may_enter(user, place):
        raise ServedForbidden(
            f"{user.username} may not enter customers served for {place.name}: outside their scope {user.scope or 'none'}"
        )


def entry(s: Session, agency: str, month: str) -> ServedCount | None:
    """The entry of one agency and month, if any (no scope: callers check the user first)."""
    return s.exec(
        select(ServedCount).where(ServedCount.agency == agency, ServedCount.month == month)
    ).first()


def list_served(s: Session, scope: Scope, *, agency: str | None = None) -> list[ServedCount]:
    """The entries inside the scope, newest month first, then by agency."""
    stmt = restrict_statement(select(ServedCount), scope, ServedCount)
    if agency:
        stmt = stmt.where(ServedCount.agency == agency)
    return list(s.exec(stmt.order_by(col(ServedCount.month).desc(), col(ServedCount.agency))))


def set_served(
    s: Session,
    user: User,
    *,
    agency: str,
    month: str,
    served: object,
    expected_version: int | None = None,
    now: datetime | None = None,
    root: Path | None = None,
) -> ServedCount:
    """Record (or change) the customers served by ``agency`` in ``month``.

    A new entry needs ``expected_version`` None; changing one needs the version it was read at
    (:class:`cx.store.StaleEdit` when someone saved since, or entered the month first).
    """
    place = _place(agency, root)
    _allowed(user, place)
    month = check_month(month, today=(now or store.utcnow()).date())
    count = check_served(served)
    at = now or store.utcnow()
    row = entry(s, place.name, month)
    if row is None and expected_version is not None:
        raise store.StaleEdit(
            f"{place.name} {month} has no entry any more (someone deleted it); enter it again"
        )
    if row is not None and expected_version is None:
        raise store.StaleEdit(
            f"{place.name} {month} already has {row.served:,} customers served (version "
            f"{row.version}, by {row.entered_by}); reload it and apply your change again"
        )
    before = None if row is None else row.served
    if row is None:
        row = ServedCount(
            region=place.region,
            country=place.country,
            agency=place.name,
            month=month,
            served=count,
            entered_by=user.username,
            entered_at=at,
        )
        s.add(row)
        try:
            # No savepoint: SQLite's driver would commit it outside the caller's transaction.
            s.flush()
        except IntegrityError:  # someone entered the same month a moment ago
            raise store.StaleEdit(
                f"{place.name} {month} was just entered by someone else; reload it and apply "
                "your change again"
            ) from None
    else:
        assert row.id is not None and expected_version is not None
        try:
            store.update_versioned(
                s,
                ServedCount,
                row.id,
                expected_version,
                {"served": count, "entered_by": user.username, "entered_at": at},
            )
        except store.StaleEdit:
            raise store.StaleEdit(
                f"{place.name} {month} was changed by {row.entered_by} since you opened it "
                f"(your version {expected_version}, now {row.version}): it holds {row.served:,}; "
                "reload it and apply your change again"
            ) from None
        s.refresh(row)
    store.audit(
        s,
        actor=user.username,
        action="served.set",
        entity="served_count",
        entity_id=f"{place.name}:{month}",
        detail={"served": count, "before": before},
        region=place.region,
        country=place.country,
        agency=place.name,
    )
    s.flush()
    return row


def delete_served(
    s: Session,
    user: User,
    *,
    agency: str,
    month: str,
    expected_version: int,
    root: Path | None = None,
) -> None:
    """Delete the entry of ``agency`` in ``month`` (its indices fall back to no count)."""
    place = _place(agency, root)
    _allowed(user, place)
    month = str(month or "").strip()
    row = entry(s, place.name, month)
    if row is None:
        raise ServedError(f"{place.name} has no customers-served entry for {month!r}")
    gone = s.exec(
        delete(ServedCount).where(
            col(ServedCount.id) == row.id, col(ServedCount.version) == expected_version
        )
    )
    if gone.rowcount != 1:
        raise store.StaleEdit(
            f"{place.name} {month} was changed by {row.entered_by} since you opened it (your "
            f"version {expected_version}, now {row.version}); reload it and try again"
        )
    s.expunge(row)
    store.audit(
        s,
        actor=user.username,
        action="served.delete",
        entity="served_count",
        entity_id=f"{place.name}:{month}",
        detail={"served": row.served, "version": row.version},
        region=place.region,
        country=place.country,
        agency=place.name,
    )
    s.flush()
