"""Writing to the notification outbox, in the same transaction as the event that causes it.

Delivery (SMTP, Telegram, retries) is :mod:`cx.loop.notify`'s job; here a row is only queued,
and only to a recipient who may have it:

- ``audience="staff"`` (the default): the recipient is a known user (by username or e-mail, from
  :mod:`cx.core.users`) or an ``org.yaml`` contact, and their scope covers the row's geography;
- ``audience="customer"``: the customer's own address (a case, a CRM record): one well-formed
  e-mail address;
- Telegram rows go to a configured chat (``CX_TELEGRAM_CHAT_ID``) whose scope covers the row.

Anything else (an outside address, a comma list, free text, a manager of another agency) raises
:class:`RecipientRefused` with a one-line reason, and nothing is queued. The sender checks again
before sending (:func:`cx.loop.notify.in_scope`), so a row written any other way is never sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

import yaml
from sqlmodel import Session, select

from cx.core import org, users
from cx.core.data import data_dir
from cx.core.scope import Scope, contains
from cx.store.models import Notification

AUDIENCES = ("staff", "customer")
_EMAIL = re.compile(
    r"^[^@\s,;:<>()\[\]\"'\\]+@[^@\s,;:<>()\[\]\"'\\]+\.[^@\s,;:<>()\[\]\"'\\.]{2,}$"
)
_CHAT = re.compile(r"^(?:-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")


class Geography(TypedDict):
    """Where an outbox row belongs (the keyword arguments of :func:`enqueue`)."""

    region: str | None
    country: str | None
    agency: str | None


class RecipientRefused(ValueError):
    """A notification recipient the outbox will not write to (the message says why, in one line)."""


def recipient_directory(
    root: Path | None = None,
    *,
    users_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Scope]:
    """Known recipients and the scope each may see: every (enabled) user's e-mail, each
    contact of ``<root>/org.yaml`` (a country's or an agency's) and the configured Telegram chat
    (``telegram:<chat>``, scope ``CX_TELEGRAM_SCOPE`` or the world)."""
    out: dict[str, Scope] = {}
    for u in users.all_users(users_file):
        if u.email and not u.disabled:
            out.setdefault(u.email.strip().lower(), u.scope)
    root = data_dir() if root is None else root
    if (root / "org.yaml").exists():
        raw = yaml.safe_load((root / "org.yaml").read_text(encoding="utf-8")) or {}
        for region in raw.get("regions", []) or []:
            for country in region.get("countries", []) or []:
                for mail in (country.get("contacts") or {}).values():
                    out.setdefault(
                        str(mail).strip().lower(), Scope.parse(f"country:{country['code']}")
                    )
        for agency in org.load(root).agencies:
            for mail in agency.contacts.values():
                out.setdefault(mail.strip().lower(), Scope.parse(f"agency:{agency.name}"))
    return {**chat_directory(env), **out}


def chat_directory(env: Mapping[str, str] | None = None) -> dict[str, Scope]:
    """The configured Telegram chat (``CX_TELEGRAM_CHAT_ID``) and its scope (``CX_TELEGRAM_SCOPE``,
    default the world), as ``{"telegram:<chat>": scope}``; empty when none is configured."""
    e = os.environ if env is None else env
    chat = (e.get("CX_TELEGRAM_CHAT_ID") or "").strip()
    return {f"telegram:{chat}": Scope.parse(e.get("CX_TELEGRAM_SCOPE") or "world")} if chat else {}


def common_geography(records: Iterable[Any]) -> Geography:
    """The narrowest geography holding every record (plans, tasks' plans…): an outbox row about
    them is filed there, and only a recipient whose scope covers it may have it.

    >>> from types import SimpleNamespace as R
    >>> common_geography([R(region="Europe", country="ES", agency="Madrid"),
    ...                   R(region="Europe", country="ES", agency="Sevilla")])
    {'region': 'Europe', 'country': 'ES', 'agency': None}
    >>> common_geography([])
    {'region': None, 'country': None, 'agency': None}
    """
    geos = {geography_of(r) for r in records}
    out: list[str | None] = [None, None, None]
    for i in range(3):
        values = {g[i] for g in geos}
        if len(values) != 1 or None in values:
            break
        out[i] = values.pop()
    return Geography(region=out[0], country=out[1], agency=out[2])


def geography_of(where: Any) -> tuple[str | None, str | None, str | None]:
    """(region, country, agency) of a mapping with those keys, of a record with those attributes
    (a plan, an outbox row), or (None, None, None) for the world."""
    if where is None:
        return None, None, None
    if isinstance(where, Mapping):
        return where.get("region"), where.get("country"), where.get("agency")
    return (
        getattr(where, "region", None),
        getattr(where, "country", None),
        getattr(where, "agency", None),
    )


def _where(region: str | None, country: str | None, agency: str | None) -> str:
    if agency:
        return f"agency {agency}"
    if country:
        return f"country {country}"
    return f"region {region}" if region else "the whole world"


def check_address(recipient: str, channel: str = "email") -> str:
    """The recipient, stripped, when it is one well-formed address (an e-mail, or a chat id for
    Telegram); :class:`RecipientRefused` otherwise.

    >>> check_address(" ana@correo.es ")
    'ana@correo.es'
    >>> check_address("a@x.es, b@y.es")
    Traceback (most recent call last):
    ...
    cx.store.outbox.RecipientRefused: 'a@x.es, b@y.es' is a list of addresses: one recipient per notification
    """
    text = (recipient or "").strip()
    if not text:
        raise RecipientRefused("no recipient given: name a known user or organisation contact")
    if channel == "telegram":
        if not _CHAT.match(text):
            raise RecipientRefused(f"{text!r} is not a Telegram chat id")
        return text
    if channel != "email":
        raise RecipientRefused(f"unknown channel {channel!r}: use email or telegram")
    if text.count("@") > 1 or re.search(r"[,;]", text):
        raise RecipientRefused(f"{text!r} is a list of addresses: one recipient per notification")
    if not _EMAIL.match(text):
        raise RecipientRefused(f"{text!r} is not an e-mail address or a known user")
    return text


def check_recipient(
    address: str,
    geography: Any = None,
    *,
    channel: str = "email",
    directory: Mapping[str, Scope] | None = None,
    root: Path | None = None,
    users_file: str | Path | None = None,
) -> str:
    """The e-mail address (or chat) to send to when ``address`` — a username, a user's or an
    org contact's e-mail, or for Telegram the configured chat — may receive a message about
    ``geography`` (a mapping or record with region / country / agency; None for the world).

    Raises :class:`RecipientRefused` with a one-line reason otherwise (outside address, list,
    free text, unknown user, a scope that does not cover the geography). ``directory`` defaults
    to :func:`recipient_directory` of ``root`` / ``users_file``.
    """
    text = (address or "").strip()
    if channel == "email" and text and "@" not in text and not re.search(r"[\s,;]", text):
        user = users.get(text, users_file)
        if user is None or user.disabled:
            raise RecipientRefused(f"{text!r} is not an e-mail address or a known user")
        if not user.email:
            raise RecipientRefused(f"user {text!r} has no e-mail address to write to")
        scope, shown, text = user.scope, text, check_address(user.email)
    else:
        text = check_address(text, channel)
        known = recipient_directory(root, users_file=users_file) if directory is None else directory
        key = f"telegram:{text}" if channel == "telegram" else text.lower()
        if key not in known:
            if channel == "telegram":
                raise RecipientRefused(
                    f"Telegram chat {text!r} is not the configured one (CX_TELEGRAM_CHAT_ID)"
                )
            raise RecipientRefused(
                f"{text!r} is not a known user or organisation contact: "
                "the outbox does not write to outside addresses"
            )
        scope, shown = known[key], text
    region, country, agency = geography_of(geography)
    if not contains(scope, region=region, country=country, agency=agency):
        raise RecipientRefused(
            f"{shown!r} may not receive data about {_where(region, country, agency)} "
            f"(their scope: {str(scope) or 'nothing'})"
        )
    return text


def enqueue(
    s: Session,
    *,
    recipient: str,
    subject: str,
    body: str,
    dedupe_key: str,
    channel: str = "email",
    region: str | None = None,
    country: str | None = None,
    agency: str | None = None,
    attachment: Path | None = None,
    audience: str = "staff",
    directory: Mapping[str, Scope] | None = None,
) -> Notification | None:
    """Add a notification to the outbox unless one with the same ``dedupe_key`` exists; an
    ``attachment`` (a file that outlives the transaction) is sent with the e-mail.

    The recipient is checked first (see the module docstring): :class:`RecipientRefused` when it
    may not have the message. ``directory`` (from :func:`recipient_directory`) saves re-reading
    the users file and ``org.yaml`` when many rows are queued, and names another data folder.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}: use one of {', '.join(AUDIENCES)}")
    geo = {"region": region, "country": country, "agency": agency}
    if audience == "customer" and channel == "email":
        recipient = check_address(recipient, channel)
    else:
        recipient = check_recipient(recipient, geo, channel=channel, directory=directory)
    existing = s.exec(select(Notification).where(Notification.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return None
    row = Notification(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        dedupe_key=dedupe_key,
        audience=audience,
        attachment_path=None if attachment is None else str(attachment.resolve()),
        attachment_name=None if attachment is None else attachment.name,
        region=region,
        country=country,
        agency=agency,
    )
    s.add(row)
    return row
