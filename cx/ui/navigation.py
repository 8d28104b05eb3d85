"""Navigation by role: the screens (:data:`PAGES`), who may open each, and ``st.navigation`` of
the ones a user's roles and scope allow, grouped by section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from cx.core import roles
from cx.core.users import User


@dataclass(frozen=True)
class PageSpec:
    """A screen: its file, title, icon, URL path, section and who may open it (None: everyone)."""

    path: str
    title: str
    icon: str
    url_path: str
    section: str
    roles: tuple[str, ...] | None = None
    scope_levels: tuple[str, ...] | None = None


MANAGERS = roles.DASHBOARD_READERS
FRONT_LINE = roles.FRONT_LINE
OWN = roles.OWN_DASHBOARDS
"""Advisors open the analytics screens computed on the customers they served only."""


PAGES: tuple[PageSpec, ...] = (
    PageSpec("screens/overview.py", "Overview", ":material/dashboard:", "overview", "Dashboards"),
    PageSpec(
        "screens/segments.py",
        "Segments & RFM",
        ":material/groups:",
        "segments",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "screens/drivers.py",
        "Strengths & weaknesses",
        ":material/balance:",
        "drivers",
        "Dashboards",
        (*MANAGERS, *OWN),
    ),
    PageSpec(
        "screens/benchmarks.py",
        "Benchmarks",
        ":material/leaderboard:",
        "benchmarks",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "screens/evolution.py",
        "Evolution",
        ":material/trending_up:",
        "evolution",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "screens/touchpoints.py",
        "Relational vs transactional",
        ":material/compare_arrows:",
        "touchpoints",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "screens/zones.py",
        "World zones",
        ":material/public:",
        "zones",
        "Dashboards",
        MANAGERS,
        ("world", "region"),
    ),
    PageSpec(
        "screens/themes.py",
        "Comment themes",
        ":material/forum:",
        "themes",
        "Voice of the customer",
        (*MANAGERS, *OWN),
    ),
    PageSpec(
        "screens/verbatims.py",
        "Verbatims",
        ":material/format_quote:",
        "verbatims",
        "Voice of the customer",
        MANAGERS,
    ),
    PageSpec(
        "screens/alerts.py",
        "Alerts",
        ":material/notifications_active:",
        "alerts",
        "Close the loop",
        MANAGERS,
    ),
    PageSpec(
        "screens/cases.py",
        "Complaint cases",
        ":material/support_agent:",
        "cases",
        "Close the loop",
        (*FRONT_LINE, *MANAGERS),
    ),
    PageSpec(
        "screens/case_dashboard.py",
        "Case management",
        ":material/monitoring:",
        "case-dashboard",
        "Close the loop",
        (*FRONT_LINE, *MANAGERS),  # front-line staff comment the negative ratings there
    ),
    PageSpec(
        "screens/rules.py",
        "Routing rules",
        ":material/alt_route:",
        "rules",
        "Close the loop",
        roles.DATA_ADMINS,
    ),
    PageSpec(
        "screens/scorecards.py",
        "Staff scorecards",
        ":material/badge:",
        "scorecards",
        "Improve",
        (*roles.SCORECARD_READERS, *OWN),
    ),
    PageSpec(
        "screens/plans.py", "Action plans", ":material/task_alt:", "plans", "Improve", MANAGERS
    ),
    PageSpec(
        "screens/meeting.py",
        "Review meeting",
        ":material/co_present:",
        "meeting",
        "Improve",
        MANAGERS,
    ),
    PageSpec(
        "screens/reports.py", "Reports", ":material/picture_as_pdf:", "reports", "Improve", MANAGERS
    ),
    PageSpec(
        "screens/fieldwork.py",
        "Fieldwork",
        ":material/mark_email_read:",
        "fieldwork",
        "Data",
        MANAGERS,
    ),
    PageSpec(
        "screens/import.py",
        "Import data",
        ":material/upload_file:",
        "import",
        "Data",
        roles.DATA_ADMINS,
    ),
    PageSpec(
        "screens/surveys.py",
        "Surveys",
        ":material/quiz:",
        "surveys",
        "Data",
        roles.DATA_ADMINS,
    ),
    PageSpec(
        "screens/webhooks.py",
        "Webhooks",
        ":material/webhook:",
        "webhooks",
        "Data",
        roles.DATA_ADMINS,
    ),
    PageSpec("screens/account.py", "Account", ":material/manage_accounts:", "account", "Account"),
    PageSpec(
        "screens/tokens.py", "API tokens", ":material/key:", "tokens", "Account", roles.USER_ADMINS
    ),
)


def allowed(page: PageSpec, user: User) -> bool:
    if page.roles is not None and not user.has(*page.roles):
        return False
    return page.scope_levels is None or (user.scope.top_level in page.scope_levels)


def navigation(user: User) -> Any:
    """``st.navigation`` of the pages this user's roles and scope allow, grouped by section."""
    sections: dict[str, list[Any]] = {}
    for page in PAGES:
        if allowed(page, user):
            sections.setdefault(page.section, []).append(_st_page(page))
    return st.navigation(sections, expanded=True)  # every screen listed, no "View more"


def hidden_navigation() -> Any:
    """``st.navigation`` of every page, hidden from the menu (for the sign-in screen)."""
    return st.navigation([_st_page(p) for p in PAGES], position="hidden")


def _st_page(page: PageSpec) -> Any:
    return st.Page(
        page.path,
        title=page.title,
        icon=page.icon,
        url_path=page.url_path,
        default=page.url_path == "overview",
    )
