"""Run a page under Streamlit's AppTest as a given demo user (the real app, the real data)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def run_page(
    page: str,
    username: str | None,
    data_root: Path,
    *,
    timeout: float = 60,
    query: dict[str, str] | None = None,
) -> AppTest:
    """Run ``app.py`` logged in as ``username`` and switch to ``page`` (e.g. ``pages/overview.py``).

    With ``username=None`` the page file is run on its own, as a direct URL would without login.
    """
    os.environ["CX_DATA_DIR"] = str(data_root)
    os.chdir(ROOT)
    if username is None:
        at = AppTest.from_file(str(ROOT / page), default_timeout=timeout)
        at.run()
        return at
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "pages/overview.py":
        at.switch_page(str(ROOT / page))
        at.run()
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
    return "\n".join(parts)


def takeaway_of(at: AppTest) -> str:
    """The text of the page's one takeaway box (``cx-takeaway``); fails unless there is exactly one."""
    bodies = [el.proto.body for el in at.get("html") if 'class="cx-takeaway"' in el.proto.body]
    assert len(bodies) == 1
    return html.unescape(bodies[0].split(">", 1)[1].rsplit("</div>", 1)[0])
