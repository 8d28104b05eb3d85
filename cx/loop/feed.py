"""The team chat feed: each survey answer (all, or the negative ones, per agency) posted to the
agency's chat through the outbox, and the staff's comments on negative ratings with the
"commented within 24 h" figure of Case management.

A negative rating is an answer with NPS 0–6 (a detractor, as the data contract defines it). Every
negative rating must be commented by the agency's staff; the figure counts the first comment of
each. Reads go through :func:`cx.core.scope.restrict_statement`; every write checks the acting
user's role and scope here, in the domain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import polars as pl
from sqlalchemy import func
from sqlmodel import Session, col, select

from cx import store
from cx.core import org as org_mod
from cx.core import privacy
from cx.core.data import ATTR_PREFIX, attribute_label, data_dir
from cx.core.roles import FRONT_LINE, MANAGERS
from cx.core.scope import Scope, contains, restrict, restrict_statement
from cx.core.users import User
from cx.store import Notification, utcnow
from cx.store.models import ChatFeed, RatingComment, SurveyAnswer
from cx.store.outbox import RecipientRefused, chat_directory, check_address, org_chat_directory

MODES = ("all", "negatives", "off")
DEFAULT_MODE = "negatives"
"""An agency without a setting posts its negative ratings to the configured chat, if any."""
NEGATIVE_MAX = 6
"""NPS 0–6 is a negative rating (a detractor)."""
LOW_SCORE = 5
"""Attribute scores below this are listed in the chat message."""
COMMENT_WINDOW = timedelta(hours=24)
MAX_COMMENT = 1000
COMMENTERS = (*FRONT_LINE, *MANAGERS)
"""Who comments ratings: the agency's advisors, teleoperators and the managers of its geography."""
PAGE_PATH = "case-dashboard"
"""The URL path of the Case management screen, where ratings are commented."""


class FeedError(ValueError):
    """A feed setting or rating comment that cannot be saved (bad mode, chat, text); says why."""


class FeedForbidden(FeedError, PermissionError):
    """The acting user's role or scope does not allow this feed action."""


# ---------------------------------------------------------------- settings


def feed_mode(s: Session, agency: str) -> ChatFeed | None:
    """The agency's feed setting, or None when it has none (then :data:`DEFAULT_MODE` applies)."""
    return s.get(ChatFeed, agency, populate_existing=True)


def feeds(s: Session, scope: Scope, organisation: org_mod.Org) -> pl.DataFrame:
    """Every agency of the organisation inside ``scope`` with its mode and chat (defaults shown)."""
    inside = restrict(organisation.frame().lazy(), scope.geography).collect()
    rows = s.exec(
        select(ChatFeed.agency, ChatFeed.mode, ChatFeed.chat_id, ChatFeed.updated_by)  # type: ignore[call-overload]
    ).all()
    stored = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "agency": pl.String,
            "mode": pl.String,
            "chat_id": pl.String,
            "updated_by": pl.String,
        },
        orient="row",
    )
    return (
        inside.join(stored, on="agency", how="left")
        .with_columns(pl.col("mode").fill_null(DEFAULT_MODE), pl.col("chat_id").fill_null(""))
        .select("country", "agency", "mode", "chat_id", "updated_by")
        .sort("country", "agency")
    )


def set_feed(
    s: Session,
    user: User,
    agency: str,
    mode: str,
    chat_id: str = "",
    *,
    organisation: org_mod.Org | None = None,
) -> ChatFeed:
    """Set which answers the agency's chat receives (``all`` | ``negatives`` | ``off``) and its
    chat id (empty: the configured ``CX_TELEGRAM_CHAT_ID``). Managers of a scope covering the
    agency only; audited."""
    if not user.has(*MANAGERS):
        raise FeedForbidden(
            f"{user.username} may not change chat feeds (role {', '.join(user.roles) or 'none'})"
        )
    organisation = organisation or org_mod.load(data_dir())
    place = organisation.agency(agency)
    if place is None:
        raise FeedError(f"unknown agency {agency!r}; pick one of the organisation (org.yaml)")
    if not org_mod.within(Scope.parse(f"agency:{agency}"), user.scope, organisation):
        raise FeedForbidden(f"{user.username} does not manage {agency}")
    if mode not in MODES:
        raise FeedError(f"unknown feed mode {mode!r}; use one of {', '.join(MODES)}")
    chat = (chat_id or "").strip()
    if chat:
        try:
            chat = check_address(chat, "telegram")
        except RecipientRefused as exc:
            raise FeedError(f"{exc} (a number such as -1001234567890, or @channel_name)") from None
    row = feed_mode(s, agency) or ChatFeed(agency=agency)
    before = {"mode": row.mode, "chat_id": row.chat_id} if row.updated_by else None
    row.mode, row.chat_id, row.updated_by, row.updated_at = mode, chat, user.username, utcnow()
    s.add(row)
    store.audit(
        s,
        actor=user.username,
        action="feed.set",
        entity="chat_feed",
        entity_id=agency,
        detail={"mode": mode, "chat_id": chat, "before": before},
        region=place.region,
        country=place.country,
        agency=agency,
    )
    s.flush()
    return row


def chat_scopes(s: Session, env: Mapping[str, str] | None = None) -> dict[str, Scope]:
    """Known chats and what each may see: the configured one (:func:`cx.store.outbox.chat_directory`)
    and every agency chat of the feed settings, scoped to the agencies using it.

    Pass it (merged into the recipient directory) to the outbox sender, so an agency's own chat is
    a known recipient when its rows are sent."""
    agencies: dict[str, list[str]] = {}
    for agency, chat in s.exec(select(ChatFeed.agency, ChatFeed.chat_id)).all():
        if chat:
            agencies.setdefault(f"telegram:{chat}", []).append(f"agency:{agency}")
    out = dict(chat_directory(env))
    for key, specs in agencies.items():
        known = out.get(key)
        if known is not None and known.is_world:
            continue
        out[key] = Scope.parse([*specs, *(str(e) for e in (known.entries if known else ()))])
    return out


# ---------------------------------------------------------------- posting


def public_url(env: Mapping[str, str] | None = None) -> str:
    """The app's address for links in messages (``CX_PUBLIC_URL``, else the local app)."""
    e = os.environ if env is None else env
    return (e.get("CX_PUBLIC_URL") or "http://localhost:8501").rstrip("/")


def comment_link(response_id: str, env: Mapping[str, str] | None = None) -> str:
    """The absolute link to comment one rating on Case management."""
    return f"{public_url(env)}/{PAGE_PATH}?rating={quote(str(response_id), safe='')}"


def is_negative(nps: Any) -> bool:
    return nps is not None and int(nps) <= NEGATIVE_MAX


def answer_message(
    row: Mapping[str, Any], at: datetime | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Subject and body of the chat message about one answer given ``at`` (comment masked)."""
    nps = row.get("nps")
    agency = row.get("agency") or "?"
    negative = is_negative(nps)
    subject = f"{'Negative rating' if negative else 'New rating'} at {agency}: NPS {nps}"
    low = sorted(
        (k, int(v))
        for k, v in row.items()
        if str(k).startswith(ATTR_PREFIX) and v is not None and int(v) < LOW_SCORE
    )
    lines = [f"Answered {at.astimezone(UTC):%d %b %Y, %H:%M} UTC."] if at else []
    if low:
        lines.append("Low scores: " + ", ".join(f"{attribute_label(k)} {v}/10" for k, v in low))
    if row.get("comment"):
        lines.append(f"“{privacy.mask_text(str(row['comment']))}”")
    if negative:
        lines.append(f"Comment it on Case management: {comment_link(str(row['response_id']), env)}")
    return subject, "\n".join(lines)


def post_answer(s: Session, row: Mapping[str, Any], *, at: datetime) -> Notification | None:
    """Queue the chat message about one answer in the caller's transaction (the answer loop's),
    per the agency's mode; None when the mode skips it, no chat is configured or the configured
    chat may not see the agency, or it was already queued (dedupe ``feed:<response_id>``)."""
    agency = row.get("agency")
    if not agency or row.get("response_id") is None:
        return None
    setting = feed_mode(s, str(agency))
    mode = setting.mode if setting else DEFAULT_MODE
    if mode == "off" or (mode == "negatives" and not is_negative(row.get("nps"))):
        return None
    geo = {"region": row.get("region"), "country": row.get("country"), "agency": agency}
    place = org_mod.load(data_dir()).agency(str(agency))
    own = place.chat if place is not None else {}
    if own.get("kind") in ("slack", "teams") and not (setting and setting.chat_id):
        subject, body = answer_message(row, at)  # the agency's Slack or Teams chat of org.yaml
        return store.enqueue(
            s,
            channel=own["kind"],
            recipient=own["target"],
            subject=subject,
            body=body,
            dedupe_key=f"feed:{row['response_id']}",
            directory=org_chat_directory(org_mod.load(data_dir())),
            **geo,
        )
    chat = (
        (setting.chat_id if setting else "")
        or (own.get("target", "") if own.get("kind") == "telegram" else "")
        or (os.environ.get("CX_TELEGRAM_CHAT_ID") or "")
    )
    chat = chat.strip()
    if not chat:
        return None
    directory = {**org_chat_directory(org_mod.load(data_dir())), **chat_scopes(s)}
    allowed = directory.get(f"telegram:{chat}")
    if allowed is None or not contains(allowed, **geo):
        return None  # e.g. the configured chat's CX_TELEGRAM_SCOPE is another country
    subject, body = answer_message(row, at)
    return store.enqueue(
        s,
        channel="telegram",
        recipient=chat,
        subject=subject,
        body=body,
        dedupe_key=f"feed:{row['response_id']}",
        directory=directory,
        **geo,
    )


# ---------------------------------------------------------------- comments


def comment_rating(
    s: Session, user: User, response_id: str, text: str, *, now: datetime | None = None
) -> RatingComment:
    """Comment one rating: the agency's staff (front line and managers whose scope covers it).
    The text is stored as given (screens show it escaped), 1 to 1000 characters."""
    if not user.has(*COMMENTERS):
        raise FeedForbidden(
            f"{user.username} may not comment ratings (role {', '.join(user.roles) or 'none'})"
        )
    answer = s.exec(
        restrict_statement(
            select(SurveyAnswer).where(SurveyAnswer.response_id == str(response_id)),
            user.scope,
            SurveyAnswer,
        )
    ).first()
    if answer is None:
        raise FeedForbidden(f"rating {response_id} does not exist in your scope")
    if not (text or "").strip():
        raise FeedError("the comment is empty; write what was done or what the team learned")
    if len(text) > MAX_COMMENT:
        raise FeedError(f"the comment is too long ({len(text)} characters; at most {MAX_COMMENT})")
    nps = json.loads(answer.row or "{}").get("nps")
    comment = RatingComment(
        response_id=answer.response_id,
        nps=None if nps is None else int(nps),
        rated_at=answer.received_at,
        author=user.username,
        text=text,
        at=now or utcnow(),
        region=answer.region,
        country=answer.country,
        agency=answer.agency,
    )
    s.add(comment)
    s.flush()
    store.audit(
        s,
        actor=user.username,
        action="rating.comment",
        entity="survey_answer",
        entity_id=answer.response_id,
        detail={"comment_id": comment.id, "chars": len(text)},
        region=answer.region,
        country=answer.country,
        agency=answer.agency,
    )
    return comment


def rating_comments(s: Session, scope: Scope, response_id: str) -> list[RatingComment]:
    """The comments of one rating inside the scope, oldest first."""
    stmt = restrict_statement(
        select(RatingComment).where(RatingComment.response_id == str(response_id)),
        scope,
        RatingComment,
    )
    return list(s.exec(stmt.order_by(RatingComment.at, RatingComment.id)))  # type: ignore[arg-type]


# ---------------------------------------------------------------- the 24 h figure

_ANSWER_SCHEMA: dict[str, Any] = {
    "response_id": pl.String,
    "row": pl.String,
    "rated_at": pl.Datetime("us", "UTC"),
    "country": pl.String,
    "agency": pl.String,
}


def answer_frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Answers as a frame with their NPS and comment read from the stored data-contract row."""
    return pl.DataFrame(rows, schema=_ANSWER_SCHEMA, orient="row").with_columns(
        nps=pl.col("row").str.json_path_match("$.nps").cast(pl.Int64, strict=False),
        comment=pl.col("row").str.json_path_match("$.comment"),
    )


def _negatives(s: Session, scope: Scope, now: datetime, within: timedelta) -> pl.DataFrame:
    """The negative ratings of the scope with their first comment and where they stand."""
    answers = s.exec(
        restrict_statement(
            select(  # type: ignore[call-overload]
                SurveyAnswer.response_id,
                SurveyAnswer.row,
                SurveyAnswer.received_at,
                SurveyAnswer.country,
                SurveyAnswer.agency,
            ),
            scope,
            SurveyAnswer,
        )
    ).all()
    firsts = s.exec(
        restrict_statement(
            select(RatingComment.response_id, func.min(RatingComment.at)).group_by(  # type: ignore[call-overload]
                RatingComment.response_id
            ),
            scope,
            RatingComment,
        )
    ).all()
    first = pl.DataFrame(
        [tuple(r) for r in firsts],
        schema={"response_id": pl.String, "first_comment_at": pl.Datetime("us", "UTC")},
        orient="row",
    )
    deadline = pl.col("rated_at") + pl.duration(microseconds=within // timedelta(microseconds=1))
    at = pl.lit(now, dtype=pl.Datetime("us", "UTC"))
    return (
        answer_frame([tuple(r) for r in answers])
        .filter(pl.col("nps") <= NEGATIVE_MAX)
        .join(first, on="response_id", how="left")
        .with_columns(
            in_time=pl.col("first_comment_at").is_not_null()
            & (pl.col("first_comment_at") <= deadline),
            late=pl.col("first_comment_at").is_not_null() & (pl.col("first_comment_at") > deadline),
            overdue=pl.col("first_comment_at").is_null() & (at > deadline),
            hours=(at - pl.col("rated_at")).dt.total_microseconds() / 3_600_000_000,
        )
    )


def negatives_commented(
    s: Session, scope: Scope, *, now: datetime | None = None, within: timedelta = COMMENT_WINDOW
) -> pl.DataFrame:
    """Per agency: negative ratings, those commented within ``within`` (24 h), later, not yet
    (still in time: ``pending``; past it: ``uncommented_overdue``) and ``share`` = commented in time
    / the negatives whose window is over or already commented in time, in % (None when none)."""
    frame = _negatives(s, scope, now or utcnow(), within)
    return (
        frame.group_by("country", "agency")
        .agg(
            negatives=pl.len().cast(pl.Int64),
            commented_in_time=pl.col("in_time").sum().cast(pl.Int64),
            commented_late=pl.col("late").sum().cast(pl.Int64),
            uncommented_overdue=pl.col("overdue").sum().cast(pl.Int64),
        )
        .with_columns(
            pending=pl.col("negatives")
            - pl.col("commented_in_time")
            - pl.col("commented_late")
            - pl.col("uncommented_overdue")
        )
        .with_columns(
            share=pl.when(pl.col("negatives") > pl.col("pending")).then(
                100.0 * pl.col("commented_in_time") / (pl.col("negatives") - pl.col("pending"))
            )
        )
        .select(
            "country",
            "agency",
            "negatives",
            "commented_in_time",
            "commented_late",
            "uncommented_overdue",
            "pending",
            "share",
        )
        .sort("country", "agency", nulls_last=True)
    )


def uncommented(
    s: Session, scope: Scope, now: datetime | None = None, *, within: timedelta = COMMENT_WINDOW
) -> pl.DataFrame:
    """The negative ratings of the scope nobody has commented yet, oldest first: response_id,
    agency, nps, rated_at, masked comment, hours since the rating and whether it is ``overdue``."""
    return (
        _negatives(s, scope, now or utcnow(), within)
        .filter(pl.col("first_comment_at").is_null())
        .with_columns(comment=privacy.mask_pii(pl.col("comment")))
        .select("response_id", "agency", "nps", "rated_at", "comment", "hours", "overdue")
        .sort("rated_at", "response_id")
    )


def recent_comments(s: Session, scope: Scope, limit: int = 20) -> pl.DataFrame:
    """The latest rating comments of the scope, newest first (the text as written: show it
    escaped, as a table does)."""
    stmt = restrict_statement(
        select(  # type: ignore[call-overload]
            RatingComment.at,
            RatingComment.agency,
            RatingComment.response_id,
            RatingComment.nps,
            RatingComment.author,
            RatingComment.text,
        ),
        scope,
        RatingComment,
    )
    newest = (col(RatingComment.at).desc(), col(RatingComment.id).desc())
    rows = s.exec(stmt.order_by(*newest).limit(limit)).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "at": pl.Datetime("us", "UTC"),
            "agency": pl.String,
            "response_id": pl.String,
            "nps": pl.Int64,
            "author": pl.String,
            "text": pl.String,
        },
        orient="row",
    )


def takeaway(commented: pl.DataFrame) -> str:
    """One sentence on the 24 h comment figure of the scope."""
    if commented.is_empty():
        return "No negative rating in your scope yet: nothing to comment."
    due = int((commented["negatives"] - commented["pending"]).sum())
    in_time = int(commented["commented_in_time"].sum())
    overdue = int(commented["uncommented_overdue"].sum())
    share = f"{100 * in_time / due:.0f} %" if due else "–"
    return (
        f"{share} of negative ratings commented within 24 h ({in_time} of {due}); "
        f"{overdue} still uncommented past 24 h."
    )
