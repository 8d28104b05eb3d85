"""Writing to the notification outbox, in the same transaction as the event that causes it.

Delivery (SMTP, Telegram, retries) is :mod:`cx.loop.notify`'s job; here a row is only queued,
and only to a recipient who may have it:

- ``audience="staff"`` (the default): the recipient is a known user (by username or e-mail, from
  :mod:`cx.core.users`) or an ``org.yaml`` contact, and their scope covers the row's geography;
- ``audience="customer"``: the customer's own address (a case, a CRM record): one well-formed
  e-mail address;
- Telegram rows go to a configured chat (``CX_TELEGRAM_CHAT_ID``) whose scope covers the row;
- Slack and Teams rows go to an agency's incoming-webhook URL of ``org.yaml`` (``chat:``), webhook
  rows to a stored subscription (``wh_…``), helpdesk rows to the configured helpdesk; each is known
  through the directory (``<channel>:<recipient>``) with the scope it may see.

Anything else (an outside address, a comma list, free text, a manager of another agency) raises
:class:`RecipientRefused` with a one-line reason, and nothing is queued. The sender checks again
before sending (:func:`cx.loop.notify.in_scope`), so a row written any other way is never sent.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

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
_SUBSCRIPTION = re.compile(r"^wh_[A-Za-z0-9]{8,64}$")
CHANNELS = ("email", "telegram", "slack", "teams", "webhook", "helpdesk")
HTTP_CHANNELS = ("slack", "teams", "webhook", "helpdesk")
"""Channels sent by an HTTP post (concurrently, with a short timeout)."""
HELPDESKS = ("zendesk",)


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
        organisation = org.load(root)
        for code, contacts in organisation.country_contacts.items():
            for mail in contacts.values():
                out.setdefault(mail.strip().lower(), Scope.parse(f"country:{code}"))
        for agency in organisation.agencies:
            for mail in agency.contacts.values():
                out.setdefault(mail.strip().lower(), Scope.parse(f"agency:{agency.name}"))
        chats = org_chat_directory(organisation)
    else:
        chats = {}
    return {**chat_directory(env), **chats, **out}


def org_chat_directory(organisation: org.Org) -> dict[str, Scope]:
    """Each agency's own chat of ``org.yaml`` (``chat: {kind, url | chat_id}``) as
    ``{"<kind>:<url or chat id>": the agencies using it}``: the only chat URLs the outbox accepts."""
    agencies: dict[str, list[str]] = {}
    for agency in organisation.agencies:
        kind, target = agency.chat.get("kind", ""), agency.chat.get("target", "")
        if kind and target:
            agencies.setdefault(f"{kind}:{target}", []).append(f"agency:{agency.name}")
    return {key: Scope.parse(specs) for key, specs in agencies.items()}


def directory_key(recipient: str, channel: str) -> str:
    """How a recipient is known in the directory: an e-mail by itself, lower-cased; anything else
    as ``<channel>:<recipient>`` (URLs keep their case)."""
    return recipient.strip().lower() if channel == "email" else f"{channel}:{recipient.strip()}"


def check_url(url: str, env: Mapping[str, str] | None = None) -> str:
    """``url`` when it is an ``http(s)`` URL without credentials whose host is not loopback or
    private (allowed with ``CX_WEBHOOKS_ALLOW_LOCAL=1``, for tests and local receivers);
    :class:`RecipientRefused` naming the problem otherwise."""
    from urllib.parse import urlsplit

    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise RecipientRefused(f"{text!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host or re.search(r"\s", text):
        raise RecipientRefused(f"{text!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise RecipientRefused("the URL holds credentials: put no user or password in it")
    e = os.environ if env is None else env
    local = host == "localhost" or host.endswith(".localhost")
    try:
        ip = ipaddress.ip_address(host)
        local = local or ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified
    except ValueError:
        pass
    if local and (e.get("CX_WEBHOOKS_ALLOW_LOCAL") or "").strip() not in ("1", "true", "yes"):
        raise RecipientRefused(
            f"{host} is a local address: set CX_WEBHOOKS_ALLOW_LOCAL=1 to send to it"
        )
    return text


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
    if channel in ("slack", "teams"):
        return check_url(text)
    if channel == "webhook":
        if not _SUBSCRIPTION.match(text):
            raise RecipientRefused(f"{text!r} is not a webhook subscription id (wh_…)")
        return text
    if channel == "helpdesk":
        if text not in HELPDESKS:
            raise RecipientRefused(f"unknown helpdesk {text!r}: use {', '.join(HELPDESKS)}")
        return text
    if channel != "email":
        raise RecipientRefused(f"unknown channel {channel!r}: use {', '.join(CHANNELS)}")
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
        key = directory_key(text, channel)
        if key not in known:
            if channel == "telegram":
                raise RecipientRefused(
                    f"Telegram chat {text!r} is not the configured one (CX_TELEGRAM_CHAT_ID)"
                )
            if channel in ("slack", "teams"):
                raise RecipientRefused(
                    f"this {channel} URL is not an agency's chat of org.yaml: not written to"
                )
            if channel in ("webhook", "helpdesk"):
                raise RecipientRefused(f"{channel} {text!r} is not configured")
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
