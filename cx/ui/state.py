"""Shared filters and URL state: the sidebar filters bound to the URL, and the query parameters
that make a pasted link reopen a screen on the same item."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import streamlit as st

from cx.core.filters import Filters
from cx.core.users import User
from cx.ui.data import overview_query, version, waves

_MULTI_FILTERS = (
    ("channel", "Channel", "All channels"),
    ("touchpoint", "Touchpoint", "All touchpoints"),
    ("segment", "Segment", "All segments"),
)
"""The shared multi-choice filters: key (also the URL parameter), label, empty-choice placeholder."""


def sidebar_filters(user: User) -> Filters:
    """The shared filters, in the sidebar and bound to the URL (a pasted link reopens the view)."""
    all_waves = waves(version())
    options = overview_query("filter_options", user.scope, Filters())
    with st.sidebar:
        st.markdown("### Filters")
        st.selectbox("Wave", list(reversed(all_waves)), key="wave", bind="query-params")
        for key, label, placeholder in _MULTI_FILTERS:
            if key in options:
                st.multiselect(
                    label, options[key], key=key, bind="query-params", placeholder=placeholder
                )
    return filters()


def filters() -> Filters:
    """The current shared filters from session state (set by the sidebar widgets)."""
    ss = st.session_state
    return Filters(
        wave=ss.get("wave") or next(reversed(waves(version())), None),
        channels=tuple(sorted(ss.get("channel") or ())),
        touchpoints=tuple(sorted(ss.get("touchpoint") or ())),
        segments=tuple(sorted(ss.get("segment") or ())),
    )


def filter_summary(f: Filters) -> str:
    parts = [f"Wave {f.wave}"]
    for label, values in (
        ("channel", f.channels),
        ("touchpoint", f.touchpoints),
        ("segment", f.segments),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return " · ".join(parts)


def url_param(name: str, default: str = "") -> str:
    """One query parameter of the page's URL (links from other screens and pasted links carry them)."""
    return st.query_params.get(name, default)


def url_pick(param: str, choices: Collection[int], key: str, default: int | None = None) -> Any:
    """Give the widget ``key`` the number in ``?<param>=`` before it is drawn, when it is one of
    ``choices``: the URL is the source of truth, so a pasted link opens that item. Otherwise the
    widget gets ``default``, or keeps its own value when there is no default. Returns the value."""
    asked = st.query_params.get(param, "")
    fallback = st.session_state.get(key) if default is None else default
    st.session_state[key] = int(asked) if asked.isdigit() and int(asked) in choices else fallback
    return st.session_state[key]


def set_url(drop: Iterable[str] = (), **params: object) -> None:
    """Write ``params`` to the URL (also as a button callback) and remove the ``drop`` ones."""
    for name in drop:
        st.query_params.pop(name, None)
    st.query_params.update({name: str(value) for name, value in params.items()})


def url_follows(param: str, key: str) -> Callable[[], None]:
    """A widget callback that writes the widget ``key``'s new value to ``?<param>=``."""
    return lambda: set_url(**{param: st.session_state[key] or ""})


def url_select(
    label: str,
    options: Sequence[int],
    *,
    param: str,
    key: str,
    format_func: Callable[[int], str],
    placeholder: str,
) -> int | None:
    """A selectbox of numbered items that follows ``?<param>=<number>`` (a pasted link opens that
    item) and writes the user's pick back to the URL."""
    url_pick(param, options, key)
    picked: int | None = st.selectbox(
        label,
        options,
        key=key,
        format_func=format_func,
        placeholder=placeholder,
        on_change=url_follows(param, key),
    )
    return picked
