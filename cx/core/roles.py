"""The one role table: what each role is for, and the groups the app checks against.

Pages, domain writes (plans, cases, alerts, rules) and the weekly mailer all read these
groups; none keeps a tuple of its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """A role: who it is, and what it opens."""

    name: str
    label: str
    manages: bool
    """Runs a geography: approves action plans, receives the weekly report."""
    dashboards: bool
    """Opens the leadership dashboards of its scope."""
    front_line: bool
    """Works complaint cases (calls, callbacks, resolution)."""
    data_admin: bool = False
    """Imports data and edits routing rules."""
    user_admin: bool = False
    """Manages accounts: adds, disables and unlocks users, ends their sessions."""


TABLE: tuple[Role, ...] = (
    Role("ceo", "CEO", manages=True, dashboards=True, front_line=False),
    Role("country_manager", "Country manager", manages=True, dashboards=True, front_line=False),
    Role("agency_manager", "Agency manager", manages=True, dashboards=True, front_line=False),
    Role("advisor", "Advisor", manages=False, dashboards=False, front_line=True),
    Role("teleoperator", "Teleoperator", manages=False, dashboards=False, front_line=True),
    Role(
        "analyst",
        "Analyst (data admin)",
        manages=False,
        dashboards=True,
        front_line=False,
        data_admin=True,
    ),
    Role(
        "admin",
        "Administrator",
        manages=False,
        dashboards=True,
        front_line=False,
        data_admin=True,
        user_admin=True,
    ),
)

ROLES = tuple(r.name for r in TABLE)
"""Every role, in the table's order."""
MANAGERS = tuple(r.name for r in TABLE if r.manages)
"""Approve plans, get the weekly report.

>>> MANAGERS
('ceo', 'country_manager', 'agency_manager')
"""
DASHBOARD_READERS = tuple(r.name for r in TABLE if r.dashboards)
"""Open the dashboards, alerts, plans, meetings and reports of their scope.

>>> DASHBOARD_READERS
('ceo', 'country_manager', 'agency_manager', 'analyst', 'admin')
"""
FRONT_LINE = tuple(r.name for r in TABLE if r.front_line)
"""Work the complaint cases of their scope."""
DATA_ADMINS = tuple(r.name for r in TABLE if r.data_admin)
"""Import data and edit routing rules."""
USER_ADMINS = tuple(r.name for r in TABLE if r.user_admin)
"""Manage accounts and sessions."""
OWN_DASHBOARDS = ("advisor",)
"""Open dashboards of the customers they served only (their scope's ``advisor:<id>`` entries):
Overview, Comment themes, Strengths & weaknesses and their scorecard; never a peer's score."""
SCORECARD_READERS = ("agency_manager",)
"""See the front-staff scorecards of their agency's advisors (a person's figures go to their own
manager only, not to the country or the CEO)."""
