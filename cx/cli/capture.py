"""``cx survey link`` and ``cx invite``: the links that open a survey, from a script or a cron job.

``cx survey link`` prints an open link (one per survey × agency × channel) and writes its QR code
or counter poster with ``--qr FILE``; ``cx invite`` makes one personal invitation, the digest of
a period (``--schedule daily|weekly|monthly``) or the invitations of the CRM transactions
imported since its last run (``--after-import``), each e-mail queued in the outbox.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cx import store
from cx.capture import invitations, links, posters, surveys
from cx.cli.common import CliError, Command, Rows, root_of
from cx.core import data, org
from cx.core.org import Org


def _engine(root: Path) -> Any:
    return store.init(store.make_engine(store.database_url(root)))


def _organisation(root: Path) -> Org:
    return org.load(root, data.scan_responses(root) if data.has_waves(root) else None)


def _survey(root: Path, survey_id: str | None) -> surveys.Survey:
    """The named survey's live version, else the default one (written at first use)."""
    return surveys.ensure_default(root) if survey_id is None else surveys.live(root, survey_id)


def _language(survey: surveys.Survey, lang: str | None) -> str | None:
    if lang is not None and lang not in survey.languages:
        raise CliError(
            f"survey {survey.id!r} has no {lang!r} texts; its languages are {', '.join(survey.languages)}"
        )
    return lang


# ---------------------------------------------------------------- cx survey link


def cmd_survey(args: argparse.Namespace) -> Rows:
    root = root_of(args)
    organisation = _organisation(root)
    agency = organisation.agency(args.agency)
    if agency is None:
        raise CliError(f"unknown agency {args.agency!r}: not in org.yaml or the waves")
    survey = _survey(root, args.survey)
    language = _language(survey, args.lang)
    channel = args.channel or ("in_person" if args.kiosk else "qr")
    path = links.open_link(survey.id, agency.name, channel, language=language, kiosk=args.kiosk)
    url = links.absolute_url(path)
    qr = None
    if args.qr:
        country_language = organisation.country_languages.get(agency.country)
        written = posters.write(
            url,
            args.qr,
            agency=agency.name,
            place=f"{agency.city}, {organisation.country_name(agency.country)}",
            languages=[language or country_language or survey.default_language],
        )
        qr = str(written)
    return [
        {
            "survey_id": survey.id,
            "agency": agency.name,
            "channel": channel,
            "language": language,
            "kiosk": args.kiosk,
            "path": path,
            "url": url,
            "qr": qr,
        }
    ]


def _survey_parser(sub: Any) -> None:
    p = sub.add_parser(
        "survey", help="survey links: an open link per agency x channel, its QR code"
    )
    ssub = p.add_subparsers(dest="action", required=True)
    link = ssub.add_parser(
        "link", help="print the open link of a survey at an agency (and write its QR code)"
    )
    link.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    link.add_argument("--agency", required=True, help="the agency the answers belong to")
    link.add_argument(
        "--channel",
        choices=links.CHANNELS,
        help="channel the answers are counted under (default qr; in_person with --kiosk)",
    )
    link.add_argument("--lang", help="open the survey in this language (default: the visitor's)")
    link.add_argument(
        "--kiosk", action="store_true", help="kiosk mode: restarts for the next visitor"
    )
    link.add_argument(
        "--qr", metavar="FILE", help="write the QR code: .png, .svg or .pdf (an A4 counter poster)"
    )
    link.add_argument("--survey", help="survey id (default: the default survey)")
    link.add_argument("--format", choices=("table", "csv", "json"), default="table")


# ---------------------------------------------------------------- cx invite


def _one(args: argparse.Namespace, engine: Any, root: Path, organisation: Org) -> Rows:
    if not args.agency:
        raise CliError("--customer needs --agency")
    survey = _survey(root, args.survey)
    row, path = invitations.invite(
        engine,
        organisation,
        survey_id=survey.id,
        customer_id=args.customer,
        agency=args.agency,
        channel=args.channel,
        recipient=args.email,
        language=_language(survey, args.lang),
        first_name=args.first_name or "",
        transaction_id=args.transaction,
        ttl_days=args.ttl_days,
        cap_days=args.cap_days,
        root=root,
    )
    return [
        {
            "customer_id": row.customer_id,
            "agency": row.agency,
            "channel": row.channel,
            "language": row.language,
            "path": path,
            "url": links.absolute_url(path),
            "expires_at": row.expires_at.isoformat(),
            "queued": row.channel == "email",
        }
    ]


def cmd_invite(args: argparse.Namespace) -> Rows:
    root = root_of(args)
    engine = _engine(root)
    organisation = _organisation(root)
    if args.customer:
        return _one(args, engine, root, organisation)
    survey_id = _survey(root, args.survey).id
    if args.schedule:
        start, end = invitations.period(args.schedule, store.utcnow())
        counts = invitations.run_schedule(
            engine,
            root,
            organisation,
            frequency=args.schedule,
            survey_id=survey_id,
            cap_days=args.cap_days,
        )
        return [
            {"frequency": args.schedule, "from": start.isoformat(), "to": end.isoformat(), **counts}
        ]
    return [invitations.invite_new_transactions(engine, root, organisation, survey_id=survey_id)]


def _invite_parser(sub: Any) -> None:
    p = sub.add_parser(
        "invite",
        help="personal single-use survey invitations, e-mailed through the outbox",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--customer", help="invite this customer (with --agency)")
    mode.add_argument(
        "--schedule",
        choices=invitations.FREQUENCIES,
        help="invite the customers of the last full day / week / month",
    )
    mode.add_argument(
        "--after-import",
        action="store_true",
        help="invite the customers of the CRM transactions imported since the last run",
    )
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--agency", help="the agency the invitation is about (with --customer)")
    p.add_argument("--channel", choices=links.CHANNELS, default="email")
    p.add_argument("--lang", help="language of the e-mail and survey (default: the country's)")
    p.add_argument("--first-name", help="the customer's first name, for the greeting")
    p.add_argument("--email", help="address to write to (default: the CRM's)")
    p.add_argument("--transaction", help="the CRM transaction the invitation follows")
    p.add_argument("--survey", help="survey id (default: the default survey)")
    p.add_argument("--ttl-days", type=int, default=14, help="days the link stays valid")
    p.add_argument(
        "--cap-days", type=int, default=30, help="never invite a customer twice within this"
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def add_parsers(sub: Any) -> None:
    _survey_parser(sub)
    _invite_parser(sub)


COMMANDS: dict[str, Command] = {"survey": cmd_survey, "invite": cmd_invite}
