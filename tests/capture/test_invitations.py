"""Personal invitations: the e-mail queued in the customer's language with an opt-out link, the
cap and the opt-out honoured, the after-transaction and scheduled runs inviting each customer once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from cx import store
from cx.capture import invitations, links
from cx.core import org
from cx.core.org import Org
from cx.store.models import Invitation, Notification, OptOut
from tests.support.datadir import write_waves

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def organisation(root: Path) -> Org:
    return org.load(root)


def _invite(engine: Engine, organisation: Org, root: Path, **kw: object) -> tuple[Invitation, str]:
    args: dict[str, object] = {
        "survey_id": "experience",
        "customer_id": "C0000001",
        "agency": "Paris",
        "now": NOW,
        "root": root,
    }
    args.update(kw)
    return invitations.invite(engine, organisation, **args)  # type: ignore[arg-type]


def _outbox(engine: Engine) -> list[Notification]:
    with store.session(engine) as s:
        return list(s.exec(select(Notification).order_by(Notification.id)).all())


def _invited(engine: Engine) -> list[Invitation]:
    with store.session(engine) as s:
        return list(s.exec(select(Invitation).order_by(Invitation.id)).all())


# ---------------------------------------------------------------- one invitation


def test_the_invitation_mail_is_queued_in_the_customers_language_with_an_opt_out_link(
    sqlite_engine: Engine, organisation: Org, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_PUBLIC_URL", "https://cx.example.com")
    row, path = _invite(sqlite_engine, organisation, root, first_name="Léa")
    token = path.removeprefix("/s/")
    assert path.startswith("/s/") and len(token) >= 32 and "." not in token
    assert row.token_hash == links.invitation_hash(token) and token not in row.token_hash
    assert (row.language, row.agency, row.country, row.region) == ("fr", "Paris", "FR", "Europe")
    assert row.expires_at == NOW + timedelta(days=14)
    (mail,) = _outbox(sqlite_engine)
    assert mail.audience == "customer" and mail.dedupe_key == f"invitation:{row.id}"
    assert mail.recipient == "c0000001@customers.cx-demo.example"
    assert mail.subject == "Comment s’est passée votre visite à Paris ?"
    assert mail.body.startswith("Bonjour Léa,")
    assert f"https://cx.example.com/s/{token}\n" in mail.body
    assert f"https://cx.example.com/s/optout/{token}" in mail.body
    assert (mail.agency, mail.country) == ("Paris", "FR")


def test_an_explicit_language_and_address_win(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    row, _ = _invite(
        sqlite_engine,
        organisation,
        root,
        language="ru",
        recipient="ivan@example.org",
        agency="Madrid",
    )
    (mail,) = _outbox(sqlite_engine)
    assert row.language == "ru" and mail.recipient == "ivan@example.org"
    assert mail.subject == "Как прошёл ваш визит в Madrid?"
    assert mail.body.startswith("Здравствуйте!")


def test_the_address_comes_from_the_crm_file_when_it_has_one(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    (root / "crm").mkdir()
    pl.DataFrame(
        {
            "transaction_id": ["T1", "T2"],
            "customer_id": ["C0000001", "C0000002"],
            "date": [date(2026, 12, 1)] * 2,
            "amount": [10.0, 20.0],
            "email": ["ana@correo.es", None],
        }
    ).write_parquet(root / "crm" / "transactions.parquet")
    _invite(sqlite_engine, organisation, root)
    _invite(sqlite_engine, organisation, root, customer_id="C0000002")
    assert [m.recipient for m in _outbox(sqlite_engine)] == [
        "ana@correo.es",
        "c0000002@customers.cx-demo.example",
    ]


def test_a_second_invitation_within_the_cap_is_refused(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    _invite(sqlite_engine, organisation, root)
    with pytest.raises(invitations.InvitationRefused, match="not again within 30 days") as refused:
        _invite(sqlite_engine, organisation, root, now=NOW + timedelta(days=29), agency="Madrid")
    assert refused.value.kind == "capped"
    _invite(sqlite_engine, organisation, root, now=NOW + timedelta(days=31))
    with pytest.raises(invitations.InvitationRefused):
        _invite(sqlite_engine, organisation, root, now=NOW + timedelta(days=40), cap_days=10)
    _invite(sqlite_engine, organisation, root, now=NOW + timedelta(days=40), cap_days=8)
    assert len(_invited(sqlite_engine)) == len(_outbox(sqlite_engine)) == 3


def test_an_opted_out_customer_is_never_invited_again(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    _, path = _invite(sqlite_engine, organisation, root)
    token = path.removeprefix("/s/")
    assert invitations.opt_out(sqlite_engine, token) is True
    assert invitations.opt_out(sqlite_engine, "/s/optout/" + token) is True  # idempotent
    with store.session(sqlite_engine) as s:
        (opt,) = s.exec(select(OptOut)).all()
    assert (opt.customer_id, opt.source) == ("C0000001", "link")
    with pytest.raises(invitations.InvitationRefused, match="opt-out") as refused:
        _invite(sqlite_engine, organisation, root, now=NOW + timedelta(days=90))
    assert refused.value.kind == "opted_out"
    assert len(_invited(sqlite_engine)) == 1


def test_opting_out_withdraws_the_invitation_mail_still_waiting_in_the_outbox(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    _invite(sqlite_engine, organisation, root, customer_id="C0000002")  # another customer's
    _, path = _invite(sqlite_engine, organisation, root)
    assert [n.status for n in _outbox(sqlite_engine)] == ["pending", "pending"]
    assert invitations.opt_out(sqlite_engine, path.removeprefix("/s/")) is True
    other, mine = _outbox(sqlite_engine)
    assert other.status == "pending"
    assert mine.status == "dead" and "opted out" in (mine.last_error or "")


def test_opting_out_needs_a_real_token_from_the_public_page(sqlite_engine: Engine) -> None:
    assert invitations.opt_out(sqlite_engine, "C0000009") is False  # a customer id is no token
    assert invitations.opt_out(sqlite_engine, "") is False
    assert invitations.opt_out(sqlite_engine, "C0000009", source="staff") is True
    with store.session(sqlite_engine) as s:
        assert [o.customer_id for o in s.exec(select(OptOut)).all()] == ["C0000009"]


@pytest.mark.parametrize(
    ("kw", "kind"),
    [
        ({"agency": "Atlantis"}, "unknown_agency"),
        ({"recipient": "not an address"}, "no_address"),
        ({"recipient": "a@x.es, b@y.es"}, "no_address"),
        ({"customer_id": " "}, "no_address"),
    ],
)
def test_refused_invitations_store_and_queue_nothing(
    sqlite_engine: Engine, organisation: Org, root: Path, kw: dict[str, object], kind: str
) -> None:
    with pytest.raises(invitations.InvitationRefused) as refused:
        _invite(sqlite_engine, organisation, root, **kw)
    assert refused.value.kind == kind and "\n" not in str(refused.value)
    assert _invited(sqlite_engine) == [] and _outbox(sqlite_engine) == []


def test_a_non_email_channel_stores_the_invitation_and_queues_nothing(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    row, path = _invite(sqlite_engine, organisation, root, channel="sms")
    assert row.channel == "sms" and row.recipient == "" and path.startswith("/s/")
    assert _outbox(sqlite_engine) == []


# ---------------------------------------------------------------- many invitations


def _crm(root: Path, rows: list[tuple[str, str, date]], **extra: list[object]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "transaction_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "date": [r[2] for r in rows],
            "amount": [10.0] * len(rows),
            **extra,
        }
    )
    (root / "crm").mkdir(exist_ok=True)
    frame.write_parquet(root / "crm" / "transactions.parquet")
    return frame


def _waves(root: Path) -> None:
    """Each customer's agency comes from their latest survey answer when the CRM has none."""
    write_waves(
        root,
        pl.DataFrame(
            {
                "response_id": ["r1", "r2", "r3"],
                "wave": ["2026-Q3", "2026-Q3", "2026-Q4"],
                "responded_at": [
                    datetime(2026, 8, 1, tzinfo=UTC),
                    datetime(2026, 8, 2, tzinfo=UTC),
                    datetime(2026, 10, 2, tzinfo=UTC),
                ],
                "customer_id": ["C1", "C2", "C1"],
                "region": ["Europe"] * 3,
                "country": ["FR", "ES", "ES"],
                "agency": ["Paris", "Madrid", "Madrid"],
                "nps": [9, 3, 7],
            }
        ),
    )


def test_after_transactions_invites_each_customer_once_and_counts_the_rest(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    _waves(root)
    frame = _crm(
        root,
        [
            ("T1", "C1", date(2026, 11, 30)),
            ("T2", "C1", date(2026, 12, 1)),  # C1's last: the one the invitation follows
            ("T3", "C2", date(2026, 12, 1)),
            ("T4", "C3", date(2026, 12, 1)),  # no agency anywhere
            ("T5", "C4", date(2026, 12, 1)),
            ("T6", "C5", date(2026, 12, 1)),
        ],
        agency=[None, None, None, None, "Sevilla", "Valencia"],
    )
    invitations.opt_out(sqlite_engine, "C5", source="staff")
    counts = invitations.after_transactions(sqlite_engine, root, organisation, frame, now=NOW)
    assert counts == {
        "invited": 3,
        "already": 0,
        "capped": 0,
        "opted_out": 1,
        "no_address": 0,
        "unknown_agency": 1,
    }
    invited = {
        (i.customer_id, i.agency, i.transaction_id, i.reason) for i in _invited(sqlite_engine)
    }
    assert invited == {
        ("C1", "Madrid", "T2", "transaction"),  # from C1's latest answer, not the earlier Paris one
        ("C2", "Madrid", "T3", "transaction"),
        ("C4", "Sevilla", "T5", "transaction"),
    }
    again = invitations.after_transactions(sqlite_engine, root, organisation, frame, now=NOW)
    assert (again["invited"], again["already"], again["opted_out"]) == (0, 3, 1)
    assert len(_outbox(sqlite_engine)) == 3


def test_the_weekly_digest_invites_last_weeks_customers_once(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    _waves(root)
    _crm(
        root,
        [
            ("T1", "C1", date(2026, 11, 22)),  # the Sunday before last week: out
            ("T2", "C2", date(2026, 11, 23)),  # last week's Monday
            ("T3", "C6", date(2026, 11, 29)),  # last week's Sunday
            ("T4", "C7", date(2026, 11, 30)),  # this week: out
        ],
        agency=[None, None, "Valencia", "Paris"],
    )
    assert invitations.period("weekly", NOW) == (date(2026, 11, 23), date(2026, 11, 30))
    first = invitations.run_schedule(sqlite_engine, root, organisation, frequency="weekly", now=NOW)
    assert (first["invited"], first["already"]) == (2, 0)
    second = invitations.run_schedule(
        sqlite_engine, root, organisation, frequency="weekly", now=NOW + timedelta(hours=3)
    )
    assert (second["invited"], second["already"]) == (0, 2)
    assert sorted((i.customer_id, i.reason) for i in _invited(sqlite_engine)) == [
        ("C2", "weekly"),
        ("C6", "weekly"),
    ]
    with pytest.raises(ValueError, match="unknown frequency"):
        invitations.run_schedule(sqlite_engine, root, organisation, frequency="hourly", now=NOW)


def test_the_digest_is_capped_by_earlier_invitations(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    _crm(root, [("T1", "C1", date(2026, 12, 1))], agency=["Paris"])
    _invite(sqlite_engine, organisation, root, customer_id="C1", now=NOW - timedelta(days=5))
    counts = invitations.run_schedule(sqlite_engine, root, organisation, frequency="daily", now=NOW)
    assert (counts["invited"], counts["capped"]) == (0, 1)


def test_after_import_takes_only_the_transactions_since_the_last_run(
    sqlite_engine: Engine, organisation: Org, root: Path
) -> None:
    rows = [("T1", "C1", date(2026, 11, 1)), ("T2", "C2", date(2026, 12, 1))]
    _crm(root, rows, agency=["Paris", "Madrid"])
    first = invitations.invite_new_transactions(sqlite_engine, root, organisation, now=NOW)
    assert (first["transactions"], first["invited"]) == (1, 1)  # T1 is older than the lookback
    assert invitations.invite_new_transactions(sqlite_engine, root, organisation, now=NOW) == {
        "transactions": 0,
        **dict.fromkeys(invitations.OUTCOMES, 0),
    }
    _crm(
        root,
        [*rows, ("T3", "C3", date(2026, 12, 1)), ("T4", "C4", date(2026, 12, 2))],
        agency=["Paris", "Madrid", "Sevilla", "Atlantis"],
    )
    third = invitations.invite_new_transactions(sqlite_engine, root, organisation, now=NOW)
    assert (third["transactions"], third["invited"], third["unknown_agency"]) == (2, 1, 1)
    assert sorted(i.transaction_id or "" for i in _invited(sqlite_engine)) == ["T2", "T3"]
