"""The one way a page writes: :func:`act` runs the write in its own store session and reruns,
and :func:`flash` shows its outcome on the redrawn screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from sqlmodel import Session

from cx import store
from cx.ui.data import engine

T = TypeVar("T")


def flash(slot: str = "page") -> None:
    """Show, once, the messages the previous run's action kept for ``slot`` (see :func:`act`)."""
    for kind, text in st.session_state.pop(f"flash:{slot}", []):
        getattr(st, kind)(text)


def keep_flash(text: str, kind: str = "success", slot: str = "page") -> None:
    """Keep a message (``success``, ``error``, ``warning``, ``info``) for the next ``flash(slot)``."""
    st.session_state.setdefault(f"flash:{slot}", []).append((kind, text))


def seen_version(key: str, current: int) -> int:
    """The version of a record the user's screen was drawn from, kept across reruns until a save
    (``act(seen=key)``), so a save made on a stale screen is refused instead of overwriting."""
    return int(st.session_state.setdefault(f"seen:{key}", current))


def act(
    write: Callable[[Session], T],
    done: str | Callable[[T], str] | None = None,
    *,
    refused: tuple[type[Exception], ...] = (),
    failed: str = "{exc}",
    stale: str | None = None,
    seen: str | None = None,
    then: Callable[[T], object] | None = None,
    slot: str = "page",
    rerun: bool = True,
) -> None:
    """Run one write in its own store session, keep the outcome for :func:`flash` and rerun, so
    the screen is redrawn from the store with the message on it.

    ``done`` is the success message (or makes it from the result). ``store.StaleEdit`` (someone saved
    first) and the ``refused`` domain errors become the ``stale`` / ``failed`` message, ``{exc}``
    standing for the error. ``seen`` names a :func:`seen_version` to forget after a save or a stale
    refusal (the next run shows the latest version); ``then`` runs after a success, e.g. to put the
    new record in the URL. In a widget callback pass ``rerun=False``: Streamlit reruns anyway.
    """
    try:
        with store.session(engine()) as s:
            result = write(s)
    except store.StaleEdit as exc:
        keep_flash((stale or failed).format(exc=exc), "error", slot)
        st.session_state.pop(f"seen:{seen}", None)
    except refused as exc:
        keep_flash(failed.format(exc=exc), "error", slot)
    else:
        st.session_state.pop(f"seen:{seen}", None)
        if done is not None:
            keep_flash(done if isinstance(done, str) else done(result), slot=slot)
        if then is not None:
            then(result)
    if rerun:
        st.rerun()
