"""Run a page under Streamlit's AppTest as a given demo user (the real app, the real data)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cx.core.users import User

ROOT = Path(__file__).resolve().parents[2]


def run_page(
    page: str,
    username: str | None,
    data_root: Path,
    *,
    timeout: float = 60,
    query: dict[str, str] | None = None,
) -> AppTest:
    """Run ``dashboard.py`` signed in as ``username`` and switch to ``page`` (e.g. ``screens/overview.py``).

    With ``username=None`` the page file is run on its own, as a direct URL would without login.
    """
    os.environ["CX_DATA_DIR"] = str(data_root)
    os.chdir(ROOT)
    if username is None:
        at = AppTest.from_file(str(ROOT / page), default_timeout=timeout)
        at.run()
        return at
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    signed_in(at, username)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "screens/overview.py":
        at.switch_page(str(ROOT / page))
        at.run()
    return at


def signed_in(at: AppTest, username: str) -> AppTest:
    """Give the run a real session of ``username`` in the store of ``CX_DATA_DIR`` (the browser's
    cookie, as AppTest has no cookies); an unknown username gets a token of no session."""
    from cx import store
    from cx.core import users
    from cx.core.data import data_dir
    from cx.store import sessions
    from cx.ui.auth import TOKEN_KEY

    user = users.get(username)
    if user is None:
        at.session_state[TOKEN_KEY] = "no-such-session-token"
        return at
    engine = store.init(store.make_engine(store.database_url(data_dir())))
    try:
        at.session_state[TOKEN_KEY] = sessions.open_session(engine, user, address="apptest")
    finally:
        engine.dispose()
    return at


def rendered_text(at: AppTest) -> str:
    """Every piece of text the page rendered (markdown, captions, metrics, tables, chart data)."""
    parts: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "text",
        "info",
        "warning",
        "error",
        "success",
    ):
        for el in getattr(at, kind, []):
            parts.append(str(getattr(el, "value", "")))
    for m in at.metric:
        parts.append(f"{m.label} {m.value} {m.delta}")
    for df in at.dataframe:
        parts.append(df.value.to_csv() if hasattr(df.value, "to_csv") else str(df.value))
    for t in at.table:
        parts.append(str(t.value))
    for el in [*at.get("arrow_vega_lite_chart"), *at.get("vega_lite_chart")]:
        parts.append(json.dumps(getattr(el.proto, "spec", "")))
        for ds in getattr(el.proto, "datasets", []):
            parts.append(str(ds))
    for el in at.get("html"):
        parts.append(str(getattr(el.proto, "body", "")))
    return "\n".join(parts).replace("\u2060", "")  # the invisible joiner that unlinks user URLs


def takeaway_of(at: AppTest) -> str:
    """The text of the page's one takeaway box (``cx-takeaway``); fails unless there is exactly one."""
    bodies = [el.proto.body for el in at.get("html") if 'class="cx-takeaway"' in el.proto.body]
    assert len(bodies) == 1
    return html.unescape(bodies[0].split(">", 1)[1].rsplit("</div>", 1)[0])


def demo_user(username: str) -> User:
    """A demo account as the demo generator writes it (without reading any users file)."""
    from cx.core.scope import Scope
    from cx.demo.accounts import DEMO_USERS

    spec = next(u for u in DEMO_USERS if u["username"] == username)
    return User(
        username=username,
        name=spec["name"],
        email=f"{username}@cx-demo.example",
        roles=tuple(spec["roles"]),
        scope=Scope.parse(spec["scope"]),
        demo=True,
    )
