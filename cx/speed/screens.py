"""The screens ``cx bench`` times (:mod:`cx.speed.pages` runs them) and the query cases of each.

Kept apart from the AppTest runner so that ``cx bench`` picks page rows without importing
Streamlit or the dashboards: the runner is a child process of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

QUERIES: dict[str, tuple[str, ...]] = {
    "overview": ("overview.",),
    "segments": ("segments.", "rfm_precompute.tier_nps_now"),
    "drivers": ("drivers.", "evolution.attribute_trend"),
    "evolution": ("evolution.",),
    "benchmarks": ("benchmarks.",),
    "touchpoints": ("touchpoints.",),
    "zones": ("zones.",),
    "themes": ("voice.theme_",),  # it reads the stored tags: tagging is its own case
    "verbatims": ("verbatims.", "voice.verbatim"),
    "alerts": ("alerts.",),
    "cases": ("cases.",),
    "case-dashboard": ("cases.",),
    "plans": ("plans.",),
    "meeting": ("meeting.",),
    "reports": ("reports.", "overview.headline"),
    "fieldwork": ("fieldwork.",),
    "scorecards": ("scorecards.",),
}
"""Each screen's URL path → the name prefixes of the query cases that time its queries."""

READERS: dict[str, tuple[str, ...]] = {
    "overview": ("ceo", "es.manager"),
    "segments": ("ceo", "es.manager"),
    "drivers": ("ceo", "es.manager"),
    "benchmarks": ("ceo", "es.manager"),
    "evolution": ("ceo", "es.manager"),
    "touchpoints": ("ceo",),
    "zones": ("ceo",),  # a world or region screen: a country manager has no zones
    "themes": ("ceo", "es.manager"),
    "verbatims": ("ceo", "es.manager"),
    "alerts": ("ceo", "es.manager"),
    "cases": ("ceo",),
    "case-dashboard": ("ceo",),
    "scorecards": ("madrid.manager",),  # agency managers and advisors only
    "plans": ("ceo",),
    "meeting": ("ceo",),
    "reports": ("ceo",),
    "fieldwork": ("ceo",),
}
"""The screens a CEO or a manager reads (URL paths, in the navigation's order; the file is
``screens/<url path>.py``), each with the demo users it is timed for."""


class PageError(Exception):
    """A screen raised or refused to render under AppTest; the message names page and user."""

    MARK = "cx-bench page error: "
    """How the runner's child process marks the reason on its stderr, among Streamlit's logs."""


@dataclass(frozen=True)
class PageRun:
    """One screen for one user: its URL path, its file and the demo username."""

    page: str
    path: str
    username: str

    def name(self, kind: str) -> str:
        """The bench row's ``query``: ``page.<url path> [<user>] cold|warm``."""
        return f"page.{self.page} [{self.username}] {kind}"


def page_runs() -> list[PageRun]:
    """Every (screen, reader) of :data:`READERS`, in the navigation's order."""
    return [
        PageRun(url, f"screens/{url.replace('-', '_')}.py", username)
        for url, usernames in READERS.items()
        for username in usernames
    ]


def select(only: str | None) -> list[PageRun]:
    """The page runs ``--only`` asks for: all with ``pages`` (or none given), those of a page
    by its URL path, else those whose row names contain the text."""
    runs = page_runs()
    if not only or only == "pages":
        return runs
    return [r for r in runs if r.page == only or only in r.name("cold") or only in r.name("warm")]
