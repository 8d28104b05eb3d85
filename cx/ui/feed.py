"""The rating comments on Case management: the "negative ratings commented within 24 h" figure per
agency, the ratings still waiting for a comment, the comment form for the agency's staff and the
chat feed settings of managers (:mod:`cx.loop.feed`)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from cx.core.users import User
from cx.loop import feed
from cx.ui.actions import act
from cx.ui.components import Figure, figures, table

_COLUMNS: dict[str, Any] = {
    "country": "Country",
    "agency": "Agency",
    "negatives": "Negative ratings",
    "commented_in_time": "Commented ≤ 24 h",
    "commented_late": "Commented later",
    "uncommented_overdue": "Uncommented > 24 h",
    "pending": "Waiting (< 24 h)",
    "share": st.column_config.NumberColumn("Commented within 24 h %", format="%.0f"),
    "response_id": "Rating",
    "nps": "NPS",
    "rated_at": st.column_config.DatetimeColumn("Rated (UTC)", format="D MMM, HH:mm"),
    "comment": "Customer comment (masked)",
    "hours": st.column_config.NumberColumn("Hours since", format="%.0f"),
    "overdue": st.column_config.CheckboxColumn("Past 24 h"),
    "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM, HH:mm"),
    "author": "By",
    "text": "Staff comment",
    "mode": "Posts",
    "chat_id": "Chat id",
    "updated_by": "Set by",
}


def _share(commented: pl.DataFrame) -> str:
    due = int((commented["negatives"] - commented["pending"]).sum())
    return f"{100 * int(commented['commented_in_time'].sum()) / due:.0f} %" if due else "–"


def _comment(user: User) -> None:
    """Form callback: save the comment typed for the picked rating."""
    rating, text = st.session_state.get("rc_rating"), st.session_state.get("rc_text") or ""
    act(
        lambda s: feed.comment_rating(s, user, str(rating), text),
        f"Rating {rating}: comment saved.",
        refused=(feed.FeedError,),
        failed="Comment not saved: {exc}",
        rerun=False,
    )


def _set_feed(user: User, agency: str) -> None:
    """Form callback: save the picked agency's chat feed setting."""
    mode = st.session_state.get(f"cf_mode:{agency}")
    chat = st.session_state.get(f"cf_chat:{agency}") or ""
    act(
        lambda s: feed.set_feed(s, user, agency, str(mode), chat),
        f"Chat feed of {agency}: {mode}.",
        refused=(feed.FeedError,),
        failed="Not saved: {exc}",
        rerun=False,
    )


def rating_comments(
    commented: pl.DataFrame,
    waiting: pl.DataFrame,
    latest: pl.DataFrame,
    user: User,
    chats: pl.DataFrame | None = None,
) -> None:
    """The section: figure and table per agency (``feed.negatives_commented``), the uncommented
    ratings (``feed.uncommented``) with the comment form for the agency's staff, the latest
    comments (shown as written, escaped by the table) and, for managers, the feed settings."""
    st.subheader("Negative ratings commented within 24 h")
    st.caption(
        "Every negative rating (NPS 0–6) posted to the team chat must be commented by the "
        "agency's staff; the figure counts the first comment of each rating."
    )
    if commented.is_empty():
        st.info("No negative rating in your scope yet.")
    else:
        figures(
            [
                Figure("Commented within 24 h", _share(commented)),
                Figure(
                    "Uncommented past 24 h",
                    f"{int(commented['uncommented_overdue'].sum()):,}",
                    alarm=bool(commented["uncommented_overdue"].sum()),
                ),
                Figure("Negative ratings", f"{int(commented['negatives'].sum()):,}"),
            ]
        )
        table(
            commented,
            name="negative ratings commented",
            key="feed_commented",
            column_config=_COLUMNS,
        )
    st.markdown("#### Waiting for a comment")
    if waiting.is_empty():
        st.success("Every negative rating has been commented.")
    else:
        table(
            waiting,
            name="ratings waiting for a comment",
            key="feed_waiting",
            column_config=_COLUMNS,
        )
        if user.has(*feed.COMMENTERS):
            _comment_form(waiting, user)
    if not latest.is_empty():
        with st.expander("Latest comments"):
            table(latest, name="latest rating comments", key="feed_latest", column_config=_COLUMNS)
    if chats is not None:
        _feed_settings(chats, user)


def _comment_form(waiting: pl.DataFrame, user: User) -> None:
    rows = {r["response_id"]: r for r in waiting.iter_rows(named=True)}
    asked = st.query_params.get("rating", "")  # the chat message's link names the rating
    if asked in rows and "rc_rating" not in st.session_state:
        st.session_state["rc_rating"] = asked
    with st.form("f_rating_comment", clear_on_submit=True):
        st.selectbox(
            "Rating",
            list(rows),
            key="rc_rating",
            format_func=lambda r: (
                f"{r} · {rows[r]['agency']} · NPS {rows[r]['nps']} · {rows[r]['hours']:.0f} h ago"
            ),
        )
        st.text_area("Comment", max_chars=feed.MAX_COMMENT, key="rc_text")
        st.form_submit_button("Save comment", type="primary", on_click=_comment, args=(user,))


def _feed_settings(chats: pl.DataFrame, user: User) -> None:
    with st.expander("Team chat feed settings"):
        table(chats, name="team chat feeds", key="feed_chats", column_config=_COLUMNS)
        if chats.is_empty():
            return
        current = {r["agency"]: r for r in chats.iter_rows(named=True)}
        agency = st.selectbox("Agency", list(current), key="cf_agency")
        with st.form("f_chat_feed"):
            st.radio(
                "Post to the chat",
                feed.MODES,
                index=feed.MODES.index(current[agency]["mode"]),
                key=f"cf_mode:{agency}",
                horizontal=True,
                format_func=lambda m: {"all": "all answers", "negatives": "negatives only"}.get(
                    m, m
                ),
            )
            st.text_input(
                "Telegram chat id (empty: the configured CX_TELEGRAM_CHAT_ID)",
                value=current[agency]["chat_id"],
                key=f"cf_chat:{agency}",
            )
            st.form_submit_button("Save feed", on_click=_set_feed, args=(user, agency))
