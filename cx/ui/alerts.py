"""Alerts screen: one alert's card, with its sparkline and the buttons that acknowledge,
dismiss, reopen or link it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from cx import charts
from cx.core.text import escape_markdown
from cx.loop import alerts


def alert_card(
    i: int, alert: dict[str, Any], plan_options: Sequence[str]
) -> tuple[str, str | None] | None:
    """One alert (``cx.loop.alerts.cards``): what went wrong, its sparkline and the buttons that
    acknowledge, dismiss, reopen or link it; the (status, action_ref) asked for, once clicked."""
    asked: tuple[str, str | None] | None = None
    with st.container(border=True):
        text, chart, buttons = st.columns([5, 3, 3], gap="medium")
        with text:
            level = "Agency" if alert["level"] == "agency" else "Country"
            st.markdown(
                f"#### {escape_markdown(alert['label'])} · {escape_markdown(alert['entity'])}"
            )
            st.caption(
                f"{level} · score {alert['score']:.1f} · n = {alert['n']:,} · {', '.join(alert['reasons'])} · status: **{alert['status']}**"
                + (
                    f" · linked to {escape_markdown(alert['action_ref'])}"
                    if alert["action_ref"]
                    else ""
                )
            )
            st.text(alert["sentence"])
        with chart:
            st.altair_chart(charts.sparkline_chart(alerts.sparkline_frame(alert)), width="stretch")
        with buttons:
            b1, b2 = st.columns(2)
            status = alert["status"]
            if status != "acknowledged" and b1.button(
                "Acknowledge", key=f"ack{i}", width="stretch"
            ):
                asked = ("acknowledged", None)
            if status != "dismissed" and b2.button("Dismiss", key=f"dis{i}", width="stretch"):
                asked = ("dismissed", None)
            if status != "open" and b1.button("Reopen", key=f"re{i}", width="stretch"):
                asked = ("open", None)
            plan = (
                st.selectbox(
                    "Link to an action plan",
                    plan_options,
                    index=None,
                    key=f"plan{i}",
                    placeholder="Plan…",
                )
                if plan_options
                else None
            )
            free = st.text_input(
                "or a reference", key=f"ref{i}", max_chars=200, placeholder="e.g. ticket CX-123"
            )
            if st.button(
                "Link", key=f"link{i}", width="stretch", disabled=not (plan or free.strip())
            ):
                asked = alerts.link_request(alert, plan, free)
    return asked
