"""Personal survey invitations: single-use links e-mailed through the outbox, right after a CRM
transaction or as a daily / weekly / monthly digest of the period's customers.

Every path goes through :func:`invite`, which honours the customer's opt-out and the frequency cap
(no second invitation within ``cap_days``, 30 by default), stores only the keyed hash of the
token, and queues the e-mail in the customer's language in the same transaction. The e-mail
carries the survey link and an opt-out link (``/s/optout/<token>``, see :func:`opt_out`).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from cx import store
from cx.analytics import rfm
from cx.capture import links
from cx.core import catalog, data
from cx.core.org import Org
from cx.loop.rules import customer_email
from cx.store.models import AuditLog, Invitation, Notification, OptOut
from cx.store.outbox import RecipientRefused, check_address

FREQUENCIES = ("daily", "weekly", "monthly")
OPT_OUT_PREFIX = "/s/optout/"
LOOKBACK_DAYS = 7
"""The first ``--after-import`` run looks this far back (later runs start where the last ended)."""
OUTCOMES = ("invited", "already", "capped", "opted_out", "no_address", "unknown_agency")
_CHUNK = 500
_WATERMARK_ACTION = "invitations.after_import"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "How was your visit to {agency}?",
        "hello": "Dear {first_name},",
        "hello_anonymous": "Dear customer,",
        "body": (
            "{hello}\n\nThank you for choosing {agency}. Would you tell us how it went? "
            "It takes two minutes:\n\n{url}\n\nThis personal link works once, until {expires}."
            "\n\nTo receive no more survey invitations: {optout}\n\nThe {agency} team"
        ),
    },
    "es": {
        "subject": "¿Qué tal su visita a {agency}?",
        "hello": "Hola, {first_name}:",
        "hello_anonymous": "Estimado cliente:",
        "body": (
            "{hello}\n\nGracias por elegir {agency}. ¿Nos cuenta qué tal fue? "
            "Solo le llevará dos minutos:\n\n{url}\n\nEste enlace personal sirve una sola vez, "
            "hasta el {expires}.\n\nPara no recibir más encuestas: {optout}\n\nEl equipo de {agency}"
        ),
    },
    "fr": {
        "subject": "Comment s’est passée votre visite à {agency} ?",
        "hello": "Bonjour {first_name},",
        "hello_anonymous": "Madame, Monsieur,",
        "body": (
            "{hello}\n\nMerci d’avoir choisi {agency}. Voulez-vous nous dire comment cela s’est "
            "passé ? Cela prend deux minutes :\n\n{url}\n\nCe lien personnel ne sert qu’une fois, "
            "jusqu’au {expires}.\n\nPour ne plus recevoir d’enquêtes : {optout}\n\n"
            "L’équipe {agency}"
        ),
    },
    "ru": {
        "subject": "Как прошёл ваш визит в {agency}?",
        "hello": "Здравствуйте, {first_name}!",
        "hello_anonymous": "Здравствуйте!",
        "body": (
            "{hello}\n\nСпасибо, что выбрали {agency}. Расскажите, как всё прошло? "
            "Это займёт две минуты:\n\n{url}\n\nЭта личная ссылка действует один раз, "
            "до {expires}.\n\nЧтобы больше не получать опросы: {optout}\n\nКоманда {agency}"
        ),
    },
}
"""The invitation e-mail per language (English is the fallback); ``{name}`` fields only."""


class InvitationRefused(ValueError):
    """An invitation that is not made: opted out, capped, no address, unknown agency. ``kind`` is
    one of :data:`OUTCOMES` (for the counts), the message one line."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# ---------------------------------------------------------------- one invitation


def _language(organisation: Org, country: str, wanted: str | None) -> str:
    """The language asked for, else the country's (``org.yaml``), else English."""
    return (wanted or organisation.country_languages.get(country) or catalog.FALLBACK).lower()


def invitation_mail(
    *, language: str, agency: str, first_name: str, url: str, optout_url: str, expires: date
) -> tuple[str, str]:
    """Subject and body of the invitation e-mail in ``language`` (English when it has none)."""
    texts = TEXTS.get(language) or TEXTS[catalog.FALLBACK]
    hello = (
        catalog.fill(texts["hello"], {"first_name": first_name.strip()})
        if first_name.strip()
        else texts["hello_anonymous"]
    )
    values = {
        "agency": agency,
        "hello": hello,
        "url": url,
        "optout": optout_url,
        "expires": expires.isoformat(),
    }
    return catalog.fill(texts["subject"], values), catalog.fill(texts["body"], values)


def _crm_contact(root: Path, customer_id: str) -> dict[str, Any]:
    """The customer's e-mail / first name / language from the CRM file, when it has such columns."""
    path = rfm.transactions_path(root)
    if not path.exists():
        return {}
    wanted = [c for c in ("email", "first_name", "language") if c in _columns(path)]
    if not wanted:
        return {}
    row = (
        pl.scan_parquet(path)
        .filter(pl.col("customer_id").cast(pl.String) == customer_id)
        .select(pl.col(c).cast(pl.String).drop_nulls().last() for c in wanted)
        .collect()
    )
    return {k: v for k, v in row.row(0, named=True).items() if v} if row.height else {}


def _columns(path: Path) -> list[str]:
    return pl.scan_parquet(path).collect_schema().names()


def _refuse_if_not_invitable(s: Session, customer_id: str, now: datetime, cap_days: int) -> None:
    if s.get(OptOut, customer_id) is not None:
        raise InvitationRefused(
            f"customer {customer_id} asked not to be invited (opt-out)", "opted_out"
        )
    last = s.exec(
        select(Invitation.created_at)
        .where(
            Invitation.customer_id == customer_id,
            col(Invitation.created_at) > now - timedelta(days=cap_days),
        )
        .order_by(col(Invitation.created_at).desc())
    ).first()
    if last is not None:
        raise InvitationRefused(
            f"customer {customer_id} was invited on {last.date().isoformat()}: "
            f"not again within {cap_days} days",
            "capped",
        )


def invite(
    engine: Engine,
    organisation: Org,
    *,
    survey_id: str,
    customer_id: str,
    agency: str,
    channel: str = "email",
    recipient: str | None = None,
    language: str | None = None,
    first_name: str = "",
    transaction_id: str | None = None,
    reason: str = "manual",
    now: datetime | None = None,
    ttl_days: int = 14,
    cap_days: int = 30,
    root: Path | None = None,
) -> tuple[Invitation, str]:
    """Make a personal invitation and queue its e-mail; returns the row and its path ``/s/<token>``.

    :class:`InvitationRefused` (nothing stored) for an unknown agency, an opted-out or capped
    customer, or no usable address. ``recipient`` defaults to the CRM file's ``email`` column
    (``root``: the data folder), else the demo address of :func:`cx.loop.rules.customer_email`.
    A channel other than e-mail (a receipt, an SMS gateway) stores the invitation and queues
    nothing: the caller delivers the path.
    """
    now = now or datetime.now(UTC)
    customer_id = str(customer_id or "").strip()
    if not customer_id:
        raise InvitationRefused("no customer id given", "no_address")
    place = organisation.agency(agency)
    if place is None:
        raise InvitationRefused(f"unknown agency {agency!r}: not in org.yaml", "unknown_agency")
    if channel not in links.CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(links.CHANNELS)}")
    crm = _crm_contact(data.data_dir() if root is None else root, customer_id)
    language = _language(organisation, place.country, language or crm.get("language"))
    first_name = (first_name or crm.get("first_name") or "").strip()
    address = ""
    if channel == "email":
        try:
            address = check_address(recipient or crm.get("email") or customer_email(customer_id))
        except RecipientRefused as exc:
            raise InvitationRefused(f"customer {customer_id}: {exc}", "no_address") from None
    token = secrets.token_urlsafe(24)
    path = links.PREFIX + token
    expires = now + timedelta(days=ttl_days)
    with store.session(engine) as s:
        _refuse_if_not_invitable(s, customer_id, now, cap_days)
        row = Invitation(
            token_hash=links.invitation_hash(token),
            survey_id=survey_id,
            customer_id=customer_id,
            transaction_id=transaction_id,
            channel=channel,
            language=language,
            first_name=first_name,
            recipient=address,
            reason=reason,
            created_at=now,
            expires_at=expires,
            region=place.region,
            country=place.country,
            agency=place.name,
        )
        s.add(row)
        s.flush()
        if channel == "email":
            subject, body = invitation_mail(
                language=language,
                agency=place.name,
                first_name=first_name,
                url=links.absolute_url(path),
                optout_url=links.absolute_url(OPT_OUT_PREFIX + token),
                expires=expires.date(),
            )
            store.enqueue(
                s,
                recipient=address,
                subject=subject,
                body=body,
                dedupe_key=dedupe_key(row),
                audience="customer",
                region=place.region,
                country=place.country,
                agency=place.name,
            )
    return row, path


def dedupe_key(row: Invitation) -> str:
    """The outbox key of an invitation's e-mail (one per invitation)."""
    return f"invitation:{row.id}"


def _withdraw_queued(s: Session, customer_id: str) -> int:
    """Take the customer's invitation e-mails that are still waiting in the outbox out of it
    (``dead``, with the reason): an opt-out stops the mail already queued too."""
    ids = s.exec(
        select(Invitation.id).where(
            Invitation.customer_id == customer_id, col(Invitation.completed_at).is_(None)
        )
    ).all()
    if not ids:
        return 0
    done = s.exec(  # type: ignore[call-overload]
        update(Notification)
        .where(
            col(Notification.dedupe_key).in_([f"invitation:{i}" for i in ids]),
            col(Notification.status) == "pending",
        )
        .values(status="dead", last_error="withdrawn: the customer opted out of invitations")
    )
    return int(done.rowcount or 0)


def opt_out(engine: Engine, token_or_customer: str, *, source: str = "link") -> bool:
    """Record that a customer wants no more invitations; True when recorded (or already so).

    With ``source="link"`` (the public ``/s/optout/<token>`` page) the argument must be an
    invitation token: an unknown token opts nobody out and returns False. Any other source
    (``staff``, ``import``) names the customer id directly.
    """
    value = (token_or_customer or "").strip()
    value = links.link_of(value.removeprefix(OPT_OUT_PREFIX))
    if not value:
        return False
    with store.session(engine) as s:
        if source == "link":
            row = s.exec(
                select(Invitation).where(Invitation.token_hash == links.invitation_hash(value))
            ).first()
            if row is None:
                return False
            customer_id, geo = row.customer_id, row
        else:
            customer_id, geo = value, None
        _withdraw_queued(s, customer_id)
        if s.get(OptOut, customer_id) is None:
            s.add(OptOut(customer_id=customer_id, source=source))
            store.audit(
                s,
                actor="customer" if source == "link" else source,
                action="opt_out",
                entity="customer",
                entity_id=customer_id,
                region=getattr(geo, "region", None),
                country=getattr(geo, "country", None),
                agency=getattr(geo, "agency", None),
            )
    return True


# ---------------------------------------------------------------- many invitations


def _customers(root: Path, transactions: pl.DataFrame) -> pl.DataFrame:
    """One row per customer of ``transactions``: their last transaction and the agency it belongs
    to (the file's ``agency`` column, else the agency of the customer's latest survey response)."""
    last = (
        transactions.lazy()
        .with_columns(pl.col("customer_id").cast(pl.String))
        .sort("date", "transaction_id")
        .group_by("customer_id")
        .agg(
            pl.col("transaction_id").last(),
            *(
                pl.col(c).cast(pl.String).drop_nulls().last()
                for c in ("agency", "email", "first_name", "language")
                if c in transactions.columns
            ),
        )
        .collect()
    )
    if "agency" not in last.columns:
        last = last.with_columns(agency=pl.lit(None, pl.String))
    missing = last.filter(pl.col("agency").is_null())["customer_id"]
    if missing.len() and data.has_waves(root):
        try:
            seen = (
                data.scan_responses(root)
                .filter(pl.col("customer_id").is_in(missing.implode()))
                .sort("responded_at")
                .group_by("customer_id")
                .agg(pl.col("agency").last().alias("_agency"))
                .collect()
            )
        except data.DataError:
            seen = pl.DataFrame(schema={"customer_id": pl.String, "_agency": pl.String})
        last = (
            last.join(seen, on="customer_id", how="left")
            .with_columns(agency=pl.coalesce("agency", "_agency"))
            .drop("_agency")
        )
    return last.sort("customer_id")


def _already(engine: Engine, transaction_ids: list[str]) -> set[str]:
    """Transactions that already have an invitation (a re-run invites nobody twice)."""
    found: set[str] = set()
    with store.session(engine) as s:
        for i in range(0, len(transaction_ids), _CHUNK):
            chunk = transaction_ids[i : i + _CHUNK]
            found.update(
                t
                for t in s.exec(
                    select(Invitation.transaction_id).where(
                        col(Invitation.transaction_id).in_(chunk)
                    )
                ).all()
                if t is not None
            )
    return found


def _invite_all(
    engine: Engine,
    root: Path,
    organisation: Org,
    customers: pl.DataFrame,
    *,
    survey_id: str,
    reason: str,
    now: datetime,
    cap_days: int,
) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    done = _already(engine, customers["transaction_id"].cast(pl.String).to_list())
    for c in customers.iter_rows(named=True):  # one invitation (and e-mail) per customer
        if c["transaction_id"] in done:
            counts["already"] += 1
            continue
        try:
            invite(
                engine,
                organisation,
                survey_id=survey_id,
                customer_id=c["customer_id"],
                agency=c["agency"] or "",
                recipient=c.get("email"),
                language=c.get("language"),
                first_name=c.get("first_name") or "",
                transaction_id=c["transaction_id"],
                reason=reason,
                now=now,
                cap_days=cap_days,
                root=root,
            )
        except InvitationRefused as exc:
            counts[exc.kind] += 1
            continue
        counts["invited"] += 1
    return counts


def after_transactions(
    engine: Engine,
    root: Path,
    organisation: Org,
    transactions: pl.DataFrame,
    *,
    survey_id: str = "experience",
    now: datetime | None = None,
    cap_days: int = 30,
) -> dict[str, int]:
    """Invite each customer of new CRM transactions (``customer_id``, ``date``,
    ``transaction_id`` and optional ``agency``, ``email``, ``first_name``, ``language``) once,
    for their last one; returns the count of each outcome of :data:`OUTCOMES`."""
    if transactions.is_empty():
        return dict.fromkeys(OUTCOMES, 0)
    missing = [
        c for c in ("customer_id", "date", "transaction_id") if c not in transactions.columns
    ]
    if missing:
        raise ValueError(f"CRM transactions lack column(s) {', '.join(missing)}")
    return _invite_all(
        engine,
        root,
        organisation,
        _customers(root, transactions),
        survey_id=survey_id,
        reason="transaction",
        now=now or datetime.now(UTC),
        cap_days=cap_days,
    )


def period(frequency: str, now: datetime) -> tuple[date, date]:
    """The last full period before ``now`` (start inclusive, end exclusive): yesterday, last ISO
    week (Monday to Sunday) or last calendar month.

    >>> period("weekly", datetime(2026, 3, 11, 9, tzinfo=UTC))
    (datetime.date(2026, 3, 2), datetime.date(2026, 3, 9))
    >>> period("monthly", datetime(2026, 1, 5, tzinfo=UTC))
    (datetime.date(2025, 12, 1), datetime.date(2026, 1, 1))
    """
    today = now.astimezone(UTC).date()
    if frequency == "daily":
        return today - timedelta(days=1), today
    if frequency == "weekly":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday
    if frequency == "monthly":
        first = today.replace(day=1)
        return (first - timedelta(days=1)).replace(day=1), first
    raise ValueError(f"unknown frequency {frequency!r}: use one of {', '.join(FREQUENCIES)}")


def _transactions(root: Path) -> pl.LazyFrame:
    """The CRM file with the columns invitations use (``transaction_id`` derived when absent)."""
    path = rfm.transactions_path(root)
    if not path.exists():
        raise data.DataError(f"{path}: no CRM transactions file; import one with cx import-crm")
    names = _columns(path)
    extra = [c for c in ("agency", "email", "first_name", "language") if c in names]
    tid = (
        pl.col("transaction_id").cast(pl.String)
        if "transaction_id" in names
        else pl.concat_str("customer_id", "date", separator="|")
    )
    return pl.scan_parquet(path).select(
        pl.col("customer_id").cast(pl.String),
        pl.col("date").cast(pl.Date),
        tid.alias("transaction_id"),
        *(pl.col(c).cast(pl.String) for c in extra),
    )


def run_schedule(
    engine: Engine,
    root: Path,
    organisation: Org,
    *,
    frequency: str,
    now: datetime | None = None,
    survey_id: str = "experience",
    cap_days: int = 30,
) -> dict[str, int]:
    """The digest of a period: invite every customer with a transaction in the last full day /
    week / month (see :func:`period`) who has not been invited for it; capping and opt-out apply.
    Running it twice for one period invites nobody the second time (``already``)."""
    now = now or datetime.now(UTC)
    start, end = period(frequency, now)
    frame = _transactions(root).filter(pl.col("date").is_between(start, end, closed="left"))
    counts = _invite_all(
        engine,
        root,
        organisation,
        _customers(root, frame.collect()),
        survey_id=survey_id,
        reason=frequency,
        now=now,
        cap_days=cap_days,
    )
    return counts


# ---------------------------------------------------------------- after an import


def _watermark(engine: Engine) -> tuple[date | None, set[str]]:
    """The last day ``--after-import`` handled and the transactions of that day it saw."""
    with store.session(engine) as s:
        row = s.exec(
            select(AuditLog)
            .where(AuditLog.action == _WATERMARK_ACTION)
            .order_by(col(AuditLog.id).desc())
        ).first()
    if row is None:
        return None, set()
    detail = json.loads(row.detail or "{}")
    through = detail.get("through")
    return (date.fromisoformat(through) if through else None), set(detail.get("seen") or [])


def new_transactions(
    engine: Engine, root: Path, *, now: datetime | None = None, lookback_days: int = LOOKBACK_DAYS
) -> pl.DataFrame:
    """CRM transactions not handled by an earlier :func:`invite_new_transactions` run (the first
    run takes the last ``lookback_days``); never a transaction dated after ``now``."""
    now = now or datetime.now(UTC)
    through, seen = _watermark(engine)
    start = through if through is not None else now.date() - timedelta(days=lookback_days)
    return (
        _transactions(root)
        .filter(
            pl.col("date").is_between(start, now.date()),
            ~pl.col("transaction_id").is_in(sorted(seen)),
        )
        .sort("date", "transaction_id")
        .collect()
    )


def invite_new_transactions(
    engine: Engine,
    root: Path,
    organisation: Org,
    *,
    survey_id: str = "experience",
    now: datetime | None = None,
    actor: str = "cli",
) -> dict[str, int]:
    """``cx invite --after-import``: invite the customers of the transactions imported since the
    last run, then remember where this run ended (in the audit log)."""
    now = now or datetime.now(UTC)
    frame = new_transactions(engine, root, now=now)
    counts = after_transactions(engine, root, organisation, frame, survey_id=survey_id, now=now)
    counts = {"transactions": frame.height, **counts}
    if frame.height:
        last_day: date = frame["date"].max()  # type: ignore[assignment]
        through, seen = _watermark(engine)
        same_day = set(frame.filter(pl.col("date") == last_day)["transaction_id"].to_list())
        if through == last_day:
            same_day |= seen
        with store.session(engine) as s:
            store.audit(
                s,
                actor=actor,
                action=_WATERMARK_ACTION,
                entity="crm",
                entity_id="transactions",
                detail={"through": last_day.isoformat(), "seen": sorted(same_day), **counts},
            )
    return counts
