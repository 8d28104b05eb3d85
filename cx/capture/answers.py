"""Where a survey answer goes: stored durably on submit, looped at once, folded into its wave.

1. :func:`accept` commits one :class:`~cx.store.models.SurveyAnswer` (and, for a personal link,
   marks the invitation completed) in one transaction, before the thank-you page is sent. The
   ``response_id`` is a keyed hash of the form's submission nonce, so a double click or a replayed
   form meets the unique constraint and stays one answer.
2. :func:`close_loop` (the capture worker, every second) runs the routing rules on the answers
   not looped yet — cases, the agency contact's mail, the customer's acknowledgement — schedules
   the callback a customer asked for and posts the answer to its agency's team chat.
3. :func:`fold` (every ``CX_FOLD_SECONDS``) writes the answers not folded yet into
   ``waves/wave=<W>/capture.parquet`` under the importer's wave lock, with the importer's atomic
   write (temporary file, fsync, rename). Rows already in the wave are skipped, so a crash between
   the write and the store's ``folded_at`` loses and duplicates nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cx import store
from cx.capture import surveys
from cx.capture.links import Target
from cx.core import atomic, data, keys, privacy
from cx.core.scope import Scope
from cx.ingest import locks
from cx.loop import alerts, cases, events, feed, rules
from cx.store.models import Callback, Case, Invitation, SurveyAnswer

log = logging.getLogger(__name__)

CAPTURE_PART = data.CAPTURE_PART
"""The one file of each wave that holds the folded survey answers (rewritten atomically)."""
ANONYMOUS = rules.ANONYMOUS_PREFIX
SLOT_HOURS = {"morning": 9, "afternoon": 14, "evening": 17}
"""The first hour (UTC) of each callback slot of the default survey; other slots: the next hour."""
LOOP_BATCH = 500
FOLD_BATCH = 20_000
STRING_COLUMNS = frozenset(
    c for c, k in {**data.REQUIRED, **data.OPTIONAL}.items() if k == "string"
)
"""The data contract's text columns (``cx.core.data``), cast to text when answers become a frame."""


class AnswerRefused(ValueError):
    """The answer cannot be stored (already answered): one customer-facing line and a status."""

    def __init__(self, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.status = status


def response_id_for(submission: str) -> str:
    """The response id of one submission nonce (stable: a replay gives the same id)."""
    return "w" + keys.keyed_hash(submission, "survey-answer")[:23]


@dataclass(frozen=True)
class Accepted:
    answer: SurveyAnswer
    created: bool
    """False when this submission was already stored (a double click, a replayed form)."""


def accept(
    engine: Engine,
    survey: surveys.Survey,
    target: Target,
    answers: Mapping[str, Any],
    *,
    submission: str,
    language: str,
    now: datetime | None = None,
) -> Accepted:
    """Store one complete answer durably (committed when this returns).

    A personal invitation is marked completed in the same transaction; when it was completed
    meanwhile by another submission, :class:`AnswerRefused` and nothing is stored.
    """
    now = now or datetime.now(UTC)
    response_id = response_id_for(submission)
    customer_id = target.customer_id or f"{ANONYMOUS}{response_id}"
    row, followups = surveys.to_row(
        survey,
        answers,
        response_id=response_id,
        responded_at=now,
        customer_id=customer_id,
        region=target.region,
        country=target.country,
        agency=target.agency,
        city=target.city,
        channel=target.channel,
        language=language,
    )
    answer = SurveyAnswer(
        response_id=response_id,
        survey_id=survey.id,
        survey_version=survey.version,
        wave=str(row["wave"]),
        channel=target.channel,
        language=language,
        customer_id=customer_id,
        invitation_id=target.invitation_id,
        row=json.dumps(row, default=str, ensure_ascii=False),
        followups=json.dumps(followups, default=str, ensure_ascii=False),
        received_at=now,
        region=target.region,
        country=target.country,
        agency=target.agency,
    )
    try:
        with store.session(engine) as s:
            s.add(answer)
            s.flush()
            if target.invitation_id is not None:
                done = s.exec(  # type: ignore[call-overload]
                    update(Invitation)
                    .where(
                        col(Invitation.id) == target.invitation_id,
                        col(Invitation.completed_at).is_(None),
                    )
                    .values(completed_at=now, response_id=response_id)
                )
                if done.rowcount != 1:
                    s.rollback()
                    raise AnswerRefused("This invitation has already been answered.", 410)
            s.commit()
            s.refresh(answer)
            return Accepted(answer, True)
    except IntegrityError:
        with store.session(engine) as s:
            stored = s.exec(
                select(SurveyAnswer).where(SurveyAnswer.response_id == response_id)
            ).first()
        if stored is None:  # an integrity error of another kind
            raise
        return Accepted(stored, False)


API_SURVEY = "api"
"""The ``survey_id`` of the answers posted to ``POST /api/v1/responses``."""


def accept_rows(
    engine: Engine, rows: list[dict[str, Any]], *, source: str, now: datetime | None = None
) -> tuple[list[str], list[str]]:
    """Store validated data-contract rows durably in ONE transaction: ``(stored, existing)`` ids.

    Rows whose ``response_id`` the store holds already are skipped (idempotent re-posts); the
    capture worker loops and folds the new ones exactly as it does survey-page answers.
    """
    now = now or datetime.now(UTC)
    ids = [str(r["response_id"]) for r in rows]
    for _attempt in range(3):  # a concurrent post of the same ids: re-read and skip them
        try:
            with store.session(engine) as s:
                present: set[str] = set()
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    present |= set(
                        s.exec(
                            select(SurveyAnswer.response_id).where(
                                col(SurveyAnswer.response_id).in_(chunk)
                            )
                        )
                    )
                stored: list[str] = []
                for row in rows:
                    rid = str(row["response_id"])
                    if rid in present:
                        continue
                    present.add(rid)
                    stored.append(rid)
                    s.add(
                        SurveyAnswer(
                            response_id=rid,
                            survey_id=API_SURVEY,
                            wave=str(row["wave"]),
                            channel=str(row.get("channel") or ""),
                            language=str(row.get("language") or "en"),
                            customer_id=str(row.get("customer_id") or ""),
                            row=json.dumps(row, default=str, ensure_ascii=False),
                            followups=json.dumps({"source": source}, ensure_ascii=False),
                            received_at=now,
                            region=row.get("region"),
                            country=row.get("country"),
                            agency=row.get("agency"),
                        )
                    )
                s.commit()
            existing = [i for i in dict.fromkeys(ids) if i not in set(stored)]
            return stored, existing
        except IntegrityError:
            continue
    raise AnswerRefused("the same responses are being stored by another request; retry", 409)


# ---------------------------------------------------------------- the loop: rules, callback, chat


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Data-contract rows as a frame with the contract's types (scores Int64, UTC timestamps)."""
    frame = pl.DataFrame(rows, infer_schema_length=None)
    casts: list[pl.Expr] = []
    for name in frame.columns:
        if name == "responded_at":
            casts.append(
                pl.col(name).cast(pl.String).str.to_datetime(time_zone="UTC", time_unit="us")
            )
        elif name in ("nps", "csat") or name.startswith("attr_"):
            casts.append(pl.col(name).cast(pl.Int64))
        elif name == "weight":
            casts.append(pl.col(name).cast(pl.Float64))
        elif name == "excluded":
            casts.append(pl.col(name).cast(pl.Boolean))
        elif name in STRING_COLUMNS:
            casts.append(pl.col(name).cast(pl.String))
    return frame.with_columns(casts)


def rows_of(answers: list[SurveyAnswer]) -> list[dict[str, Any]]:
    return [json.loads(a.row) for a in answers]


def slot_time(slot: str | None, now: datetime) -> datetime:
    """When to call back for ``slot``: its next start at least one hour ahead."""
    hour = SLOT_HOURS.get(slot or "")
    if hour is None:
        return now + timedelta(hours=1)
    due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return due if due >= now + timedelta(hours=1) else due + timedelta(days=1)


def _callback(s: Session, answer: SurveyAnswer, row: dict[str, Any], now: datetime) -> bool:
    """The callback a customer asked for: a case (opened if no rule did) and a Callback row."""
    extra = json.loads(answer.followups)
    if extra.get("callback") != "yes":
        return False
    case = s.exec(select(Case).where(Case.response_id == answer.response_id)).first()
    if case is None:
        case = cases.open_case(s, response=row, reason="Callback requested", actor="respondent")
        if case is None:  # opened concurrently
            case = s.exec(select(Case).where(Case.response_id == answer.response_id)).one()
    return cases.request_callback(
        s,
        case,
        due_at=slot_time(extra.get("callback_slot"), now),
        phone=str(extra.get("phone") or ""),
        slot=str(extra.get("callback_slot") or ""),
        now=now,
    )


def close_loop(engine: Engine, root: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """Run the loop of every answer not looped yet; idempotent (a crash mid-way re-runs safely)."""
    now = now or datetime.now(UTC)
    out: dict[str, Any] = {"answers": 0, "hits": 0, "cases": 0, "notifications": 0, "callbacks": 0}
    with store.session(engine) as s:
        pending = list(
            s.exec(
                select(SurveyAnswer)
                .where(col(SurveyAnswer.looped_at).is_(None))
                .order_by(col(SurveyAnswer.id))
                .limit(LOOP_BATCH)
            )
        )
    if not pending:
        return out
    rows = rows_of(pending)
    frame = _frame(rows)
    for wave in frame["wave"].unique().to_list():
        done = rules.run_rules(
            engine,
            frame.filter(pl.col("wave") == wave).lazy(),
            Scope.world(),
            wave=wave,
            actor="survey",
            root=root,
        )
        for k in ("hits", "cases", "notifications"):
            out[k] += int(done[k])
    said = privacy.mask_texts([str(row.get("comment") or "") for row in rows])
    with store.session(engine) as s:
        for answer, row, masked in zip(pending, rows, said, strict=True):
            out["callbacks"] += int(_callback(s, answer, row, now))
            if feed.post_answer(s, row, at=answer.received_at) is not None:
                out["notifications"] += 1
            events.emit(
                s,
                "response.created",
                {**row, "comment": masked or None},
                region=row.get("region"),
                country=row.get("country"),
                agency=row.get("agency"),
                key=f"response:{row['response_id']}",
                at=answer.received_at,
            )
        ids = [a.id for a in pending if a.id is not None]
        s.exec(  # type: ignore[call-overload]
            update(SurveyAnswer).where(col(SurveyAnswer.id).in_(ids)).values(looped_at=now)
        )
        s.commit()
    _scrub(engine, ids)
    out["answers"] = len(pending)
    return out


_KEPT_AS_IS = frozenset(
    {"response_id", "customer_id", "wave", "region", "country", "agency", "city", "channel"}
    | {"language", "responded_at", "survey_id"}
)


def _scrub(engine: Engine, ids: list[int]) -> int:
    """Mask the free text of the answers among ``ids`` that are both looped and folded: from
    then on the raw text lives only in the wave's Parquet (the store and its backups keep the
    masked copy; a callback keeps its own phone number). The masking runs in one pass before a
    short write transaction, so survey pages never wait on it."""
    with store.session(engine) as s:
        done = list(
            s.exec(
                select(SurveyAnswer.id, SurveyAnswer.row, SurveyAnswer.followups).where(
                    col(SurveyAnswer.id).in_(ids),
                    col(SurveyAnswer.looped_at).is_not(None),
                    col(SurveyAnswer.folded_at).is_not(None),
                )
            )
        )
    if not done:
        return 0
    ids_of = [i for i, _, _ in done if i is not None]
    parts: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (json.loads(r or "{}"), json.loads(f or "{}")) for _, r, f in done
    ]
    cells = [
        (values, k)
        for pair in parts
        for values in pair
        for k, v in values.items()
        if isinstance(v, str) and v and k not in _KEPT_AS_IS
    ]
    masked = privacy.mask_texts([str(values[k]) for values, k in cells])
    for (values, k), text in zip(cells, masked, strict=True):
        values[k] = text
    with store.session(engine) as s:
        for answer_id, (row, followups) in zip(ids_of, parts, strict=True):
            s.exec(  # type: ignore[call-overload]
                update(SurveyAnswer)
                .where(col(SurveyAnswer.id) == answer_id)
                .values(
                    row=json.dumps(row, default=str, ensure_ascii=False),
                    followups=json.dumps(followups, default=str, ensure_ascii=False),
                )
            )
    return len(parts)


# ---------------------------------------------------------------- the fold into the wave's Parquet


def _present(root: Path, wave: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` the wave's files already hold."""
    files = sorted((data.waves_dir(root) / f"wave={wave}").glob("*.parquet"))
    if not files:
        return set()
    found = (
        data.scan_files(files)  # the wave's files may differ in their optional columns
        .select("response_id")
        .filter(pl.col("response_id").is_in(ids))
        .collect()
    )
    return set(found["response_id"].to_list())


def fold(
    root: Path, engine: Engine, *, lock_timeout: float = 30.0, before_replace: Any = None
) -> dict[str, int]:
    """Fold the answers not folded yet into their waves; returns ``{wave: rows written}``.

    ``before_replace`` is for the crash test (called after the new file is written and synced,
    just before it replaces the old one).
    """
    with store.session(engine) as s:
        pending = list(
            s.exec(
                select(SurveyAnswer)
                .where(col(SurveyAnswer.folded_at).is_(None))
                .order_by(col(SurveyAnswer.id))
                .limit(FOLD_BATCH)
            )
        )
    if not pending:
        return {}
    written: dict[str, int] = {}
    frame = _frame(rows_of(pending))
    with locks.exclusive(root, "waves", timeout=lock_timeout):
        for wave in frame["wave"].unique().sort().to_list():
            rows = frame.filter(pl.col("wave") == wave)
            present = _present(root, wave, rows["response_id"].to_list())
            new = rows.filter(~pl.col("response_id").is_in(list(present)))
            if new.is_empty():
                written[wave] = 0
                continue
            target = data.waves_dir(root) / f"wave={wave}" / CAPTURE_PART
            atomic.clean_stale(target.parent)
            old = pl.read_parquet(target) if target.exists() else None
            out = new if old is None else pl.concat([old, new], how="diagonal_relaxed")
            atomic.atomic_write_parquet(out, target, before_replace=before_replace)
            written[wave] = new.height
        with store.session(engine) as s:
            ids = [a.id for a in pending if a.id is not None]
            s.exec(  # type: ignore[call-overload]
                update(SurveyAnswer)
                .where(col(SurveyAnswer.id).in_(ids))
                .values(folded_at=datetime.now(UTC))
            )
            s.commit()
    _scrub(engine, ids)
    if any(written.values()):
        try:  # the answers changed these waves' alerts: tell the subscribers
            alerts.raise_new(engine, root, [w for w, n in written.items() if n])
        except Exception as exc:  # folded all the same; the next fold tells them
            log.warning("alert events after the fold failed: %s", exc)
    return written


def pending_counts(engine: Engine) -> dict[str, int]:
    """Answers stored but not looped / not folded yet (for the health line and the tests)."""
    from sqlalchemy import func

    with store.session(engine) as s:
        loop = s.exec(select(func.count()).where(col(SurveyAnswer.looped_at).is_(None))).one()
        folded = s.exec(select(func.count()).where(col(SurveyAnswer.folded_at).is_(None))).one()
    return {"not_looped": int(loop), "not_folded": int(folded)}


def callbacks_of(s: Session, case_id: int) -> list[Callback]:
    return list(s.exec(select(Callback).where(Callback.case_id == case_id)))
