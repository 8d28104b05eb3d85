"""The outbox sender against a real SMTP server (aiosmtpd) and a fake Telegram Bot API, on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from cx import store
from cx.core.scope import Scope
from cx.demo.accounts import DEMO_USERS
from cx.loop import cases, notify, transport
from cx.loop.notify import NotifySettings
from cx.store import Notification
from tests.support.datadir import write_org
from tests.support.net import free_port
from tests.support.smtp import Sink

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


DIRECTORY = {f"{u['username']}@cx-demo.example": Scope.parse(u["scope"]) for u in DEMO_USERS}
"""The demo users' addresses and scopes (what ``recipient_directory`` finds in the demo folder)."""


def settings(port: int, **kw: Any) -> NotifySettings:
    base: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 5.0,
        "directory": DIRECTORY,
    }
    return NotifySettings(**{**base, **kw})


def enqueue_many(
    engine: Engine,
    count: int,
    *,
    agency: str = "Madrid",
    recipient: str = "customer{i}@example.com",
) -> None:
    with store.session(engine) as s:
        for i in range(count):
            store.enqueue(
                s,
                recipient=recipient.format(i=i),
                subject=f"msg {i}",
                body=f"body {i}",
                dedupe_key=f"test:{i}",
                audience="customer",
                region="Europe",
                country="ES",
                agency=agency,
            )
    with store.session(engine) as s:  # all due from T0
        for n in s.exec(select(Notification)):
            n.next_attempt_at = T0
            s.add(n)


def statuses(engine: Engine) -> dict[str, int]:
    with store.session(engine) as s:
        return notify.outbox_summary(s, Scope.world())


def test_server_stopped_mid_batch_then_restarted_every_message_delivered_exactly_once(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, running = smtp
    enqueue_many(engine, 20)
    sink.fail_at = 8  # the 8th message finds the server going down

    stopper = threading.Thread(target=lambda: (sink.failing.wait(30), running[0].stop()))
    stopper.start()
    first = notify.deliver_pending(engine, settings(port), now=T0)
    stopper.join(30)
    assert first == {"sent": 7, "retry": 13, "dead": 0, "skipped": 0}
    assert statuses(engine) == {"sent": 7, "pending": 13}

    # Still down: nothing is due before the backoff, nothing is lost.
    assert notify.deliver_pending(engine, settings(port), now=T0 + timedelta(seconds=30)) == {
        "sent": 0,
        "retry": 0,
        "dead": 0,
        "skipped": 0,
    }

    sink.fail_at, sink.failing = None, threading.Event()
    restarted = Controller(sink, hostname="127.0.0.1", port=port)
    restarted.start()
    running.append(restarted)
    second = notify.deliver_pending(engine, settings(port), now=T0 + timedelta(minutes=2))
    assert second == {"sent": 13, "retry": 0, "dead": 0, "skipped": 0}
    assert notify.deliver_pending(engine, settings(port), now=T0 + timedelta(days=1))["sent"] == 0

    ids = [m["Message-ID"] for m in sink.messages]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert sorted(ids) == sorted(transport.message_id(f"test:{i}") for i in range(20))
    assert statuses(engine) == {"sent": 20}


def test_failed_sends_back_off_exponentially_then_go_to_the_dead_letter(engine: Engine) -> None:
    port = free_port()  # nothing listens there
    enqueue_many(engine, 1)
    st = settings(port, max_attempts=3, backoff=timedelta(minutes=1))
    with store.session(engine) as s:
        row = s.exec(select(Notification)).one()

    def reload() -> Notification:
        with store.session(engine) as s:
            got = s.get(Notification, row.id)
            assert got is not None
            return got

    assert notify.deliver_pending(engine, st, now=T0)["retry"] == 1
    assert (reload().attempts, reload().next_attempt_at) == (1, T0 + timedelta(minutes=1))
    assert (
        notify.deliver_pending(engine, st, now=T0 + timedelta(seconds=59))["retry"] == 0
    )  # not yet due
    assert notify.deliver_pending(engine, st, now=T0 + timedelta(minutes=1))["retry"] == 1
    assert (reload().attempts, reload().next_attempt_at) == (2, T0 + timedelta(minutes=3))
    assert notify.deliver_pending(engine, st, now=T0 + timedelta(minutes=3))["dead"] == 1
    dead = reload()
    assert dead.status == "dead" and dead.attempts == 3 and "Connection" in (dead.last_error or "")
    assert notify.deliver_pending(engine, st, now=T0 + timedelta(days=9)) == {
        "sent": 0,
        "retry": 0,
        "dead": 0,
        "skipped": 0,
    }


def test_a_row_left_sending_by_a_crash_is_resent_with_the_same_message_id(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, _ = smtp
    enqueue_many(engine, 1)
    st = settings(port, lease=timedelta(minutes=5))
    with store.session(engine) as s:  # a sender claimed it, then died before marking it sent
        n = s.exec(select(Notification)).one()
        n.status, n.next_attempt_at = "sending", T0 + timedelta(minutes=5)
        s.add(n)
    assert (
        notify.deliver_pending(engine, st, now=T0 + timedelta(minutes=1))["sent"] == 0
    )  # lease still held
    assert notify.deliver_pending(engine, st, now=T0 + timedelta(minutes=5))["sent"] == 1
    assert [m["Message-ID"] for m in sink.messages] == [transport.message_id("test:0")]


def test_an_attached_file_goes_with_its_e_mail_and_a_missing_one_is_retried(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]], tmp_path: Path
) -> None:
    sink, port, _ = smtp
    enqueue_many(engine, 2)
    report = tmp_path / "cx-report.pdf"
    report.write_bytes(b"%PDF-1.4 weekly")
    with store.session(engine) as s:
        first, second = s.exec(select(Notification).order_by(col(Notification.id))).all()
        first.attachment_path, first.attachment_name = str(report), "weekly.pdf"
        second.attachment_path = str(tmp_path / "gone.pdf")
        s.add(first)
        s.add(second)
        missing_id = second.id
    counts = notify.deliver_pending(engine, settings(port), now=T0)
    assert (counts["sent"], counts["retry"]) == (1, 1)
    [msg] = sink.messages
    [part] = [p for p in msg.walk() if p.get_filename()]
    assert (part.get_filename(), part.get_content_type()) == ("weekly.pdf", "application/pdf")
    assert part.get_payload(decode=True) == b"%PDF-1.4 weekly"
    with store.session(engine) as s:
        retry = s.get(Notification, missing_id)
        assert retry is not None and retry.status == "pending"
        assert "gone.pdf" in (retry.last_error or "")


def test_the_sender_checks_again_rows_written_without_the_enqueue_check(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    """Rows queued before the check existed, or written by other code, are checked when sent."""
    sink, port, _ = smtp
    rows = [
        ("a", "madrid.manager@cx-demo.example", "Paris", "FR", "staff"),  # another agency's data
        ("b", "paris.manager@cx-demo.example", "Paris", "FR", "staff"),
        ("c", "es.manager@cx-demo.example", "Madrid", "ES", "staff"),
        ("d", "some.customer@example.com", "Paris", "FR", None),  # before the check: a customer
        ("e", "fr.manager@cx-demo.example", None, None, "staff"),  # world-level data
        ("f", "boss@outside.example", "Paris", "FR", "staff"),  # nobody we know
        ("g", "a@x.example, b@y.example", "Paris", "FR", None),  # a list
    ]
    with store.session(engine) as s:
        for key, recipient, agency, country, audience in rows:
            s.add(
                Notification(
                    recipient=recipient,
                    subject=key,
                    body=key,
                    dedupe_key=key,
                    audience=audience,
                    region="Europe" if agency else None,
                    country=country,
                    agency=agency,
                )
            )
    counts = notify.deliver_pending(
        engine, settings(port), now=datetime.now(UTC) + timedelta(seconds=1)
    )
    assert counts["sent"] == 3 and counts["dead"] == 4
    assert sorted(m["Subject"] for m in sink.messages) == ["b", "c", "d"]
    with store.session(engine) as s:
        refused = {
            r.dedupe_key: r.last_error or ""
            for r in s.exec(select(Notification).where(Notification.status == "dead"))
        }
    assert sorted(refused) == ["a", "e", "f", "g"]
    assert "out of scope" in refused["a"] and "out of scope" in refused["e"]
    assert "recipient unknown" in refused["f"] and "is a list" in refused["g"]


class FakeTelegram(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict[str, Any]]] = []
    fail_next = 0

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if FakeTelegram.fail_next:
            FakeTelegram.fail_next -= 1
            self.send_response(502)
            self.end_headers()
            return
        FakeTelegram.posts.append((self.path, body))
        out = json.dumps({"ok": True, "result": {"message_id": len(FakeTelegram.posts)}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


def test_telegram_messages_go_to_the_bot_api_and_are_retried_after_an_error(engine: Engine) -> None:
    FakeTelegram.posts, FakeTelegram.fail_next = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTelegram)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        st = NotifySettings(
            telegram_token="123:abc",
            telegram_chat_id="-100",
            telegram_api=f"http://127.0.0.1:{server.server_address[1]}",
        )
        with store.session(engine) as s:
            store.enqueue(
                s,
                channel="telegram",
                recipient="-100",
                directory={"telegram:-100": Scope.world()},
                subject="New detractor at Madrid",
                body="NPS 2: dirty office",
                dedupe_key="tg:1",
                agency="Madrid",
                country="ES",
            )
        now = datetime.now(UTC) + timedelta(seconds=1)
        assert notify.deliver_pending(engine, st, now=now)["retry"] == 1
        assert notify.deliver_pending(engine, st, now=now + timedelta(minutes=1))["sent"] == 1
        assert notify.deliver_pending(engine, st, now=now + timedelta(hours=1))["sent"] == 0
    finally:
        server.shutdown()
    assert len(FakeTelegram.posts) == 1
    path, body = FakeTelegram.posts[0]
    assert path == "/bot123:abc/sendMessage" and body["chat_id"] == "-100"
    assert "New detractor at Madrid" in body["text"] and "dirty office" in body["text"]


def test_customer_acknowledgement_is_personalised_in_the_customer_language(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, _ = smtp
    with store.session(engine) as s:
        case = cases.open_case(
            s,
            response={
                "response_id": "r9",
                "customer_id": "C0042",
                "region": "Europe",
                "country": "FR",
                "agency": "Paris",
                "nps": 2,
                "language": "fr",
            },
            reason="nps < 6",
            actor="rules",
        )
        assert case is not None
        assert (
            notify.email_customer_ack(s, case, recipient="client@example.com", name="Mme Martin")
            is not None
        )
        assert (
            notify.email_customer_ack(s, case, recipient="client@example.com") is None
        )  # queued once
    notify.deliver_pending(engine, settings(port), now=datetime.now(UTC) + timedelta(seconds=1))
    [msg] = sink.messages
    number = f"CX-{case.id:06d}"
    assert msg["Subject"] == f"Votre avis sur Paris : dossier {number}"
    text = msg.get_payload(decode=True).decode()
    assert "Bonjour Mme Martin" in text and number in text and "48 heures" in text
    subject, body = notify.customer_ack(case_id=7, agency="Madrid", customer_id="C7", language="es")
    assert subject == "Su opinión sobre Madrid: caso CX-000007" and "Estimado/a C7" in body


def test_background_sender_delivers_and_stops(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, _ = smtp
    with store.session(engine) as s:
        store.enqueue(
            s,
            recipient="x@example.com",
            audience="customer",
            subject="bg",
            body="bg",
            dedupe_key="bg:1",
            agency="Madrid",
        )
    sender = notify.start_background_sender(engine, settings(port), interval=0.1)
    deadline = time.monotonic() + 20
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    sender.stop()
    assert not sender.thread.is_alive()
    assert [m["Subject"] for m in sink.messages] == ["bg"]


def test_settings_from_environment_and_bad_values() -> None:
    st = NotifySettings.from_env(
        env={
            "CX_SMTP_HOST": "mail.local",
            "CX_SMTP_TLS": "starttls",
            "CX_SMTP_USER": "u",
            "CX_SMTP_PASSWORD": "s3cr3t-pw",
            "CX_SMTP_FROM": "cx@x",
        }
    )
    assert (st.smtp_host, st.smtp_port, st.smtp_tls, st.smtp_user, st.smtp_from) == (
        "mail.local",
        587,
        "starttls",
        "u",
        "cx@x",
    )
    assert st.smtp_password == "s3cr3t-pw" and "s3cr3t-pw" not in repr(st)
    with pytest.raises(notify.NotifyError, match="CX_SMTP_TLS"):
        NotifySettings.from_env(env={"CX_SMTP_TLS": "maybe"})
    with pytest.raises(notify.NotifyError, match="CX_SMTP_PORT"):
        NotifySettings.from_env(env={"CX_SMTP_PORT": "abc"})


def test_a_channel_without_settings_keeps_its_rows_pending(engine: Engine) -> None:
    enqueue_many(engine, 2)
    counts = notify.deliver_pending(engine, NotifySettings(), now=T0 + timedelta(days=1))
    assert counts["unconfigured"] == 2 and counts["sent"] == counts["dead"] == counts["retry"] == 0
    assert statuses(engine) == {"pending": 2}


def test_cx_notify_command_sends_the_outbox_and_prints_json(
    tmp_path: Any,
    smtp: tuple[Sink, int, list[Controller]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cx.cli import main

    sink, port, _ = smtp
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key in ("CX_TELEGRAM_TOKEN", "CX_SMTP_USER", "CX_SMTP_TLS"):
        monkeypatch.delenv(key, raising=False)
    engine = store.init(store.make_engine(f"sqlite:///{tmp_path / 'cx.db'}"))
    write_org(tmp_path)  # care.madrid@ is the Madrid agency's contact there
    with store.session(engine) as s:
        store.enqueue(
            s,
            directory=notify.recipient_directory(tmp_path),
            recipient="care.madrid@cx-demo.example",
            subject="hello",
            body="b",
            dedupe_key="cli:1",
            agency="Madrid",
            country="ES",
        )
    engine.dispose()
    assert main(["notify", "--data", str(tmp_path), "--format", "json"]) == 0  # nothing lost:
    [row] = json.loads(capsys.readouterr().out)  # without SMTP settings the e-mail waits
    assert (row["sent"], row["unconfigured"], row["pending"]) == (0, 1, 1)
    monkeypatch.setenv("CX_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CX_SMTP_PORT", str(port))
    assert main(["notify", "--data", str(tmp_path), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["sent"], row["pending"], row["sent_total"]) == (1, 0, 1)
    assert [m["Subject"] for m in sink.messages] == ["hello"]


def test_a_new_case_posts_to_the_team_chat_in_the_same_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_TELEGRAM_CHAT_ID", "-100")
    with store.session(engine) as s:
        case = cases.open_case(
            s,
            response={
                "response_id": "t1",
                "customer_id": "C1",
                "region": "Europe",
                "country": "ES",
                "agency": "Madrid",
                "nps": 1,
                "wave": "2026-Q3",
                "comment": "Llamad al 612 345 678",
            },
            reason="x",
            actor="rules",
        )
    with (
        pytest.raises(RuntimeError),
        store.session(engine) as s,
    ):  # a rolled-back case leaves no message behind
        cases.open_case(
            s,
            response={"response_id": "t2", "customer_id": "C2", "agency": "Madrid", "nps": 0},
            reason="x",
            actor="rules",
        )
        raise RuntimeError("rollback")
    with store.session(engine) as s:
        rows = s.exec(select(Notification)).all()
    assert case is not None and [
        (r.channel, r.recipient, r.dedupe_key, r.agency) for r in rows
    ] == [("telegram", "-100", f"case:{case.id}:telegram", "Madrid")]
    assert "612 345 678" not in rows[0].body and f"CX-{case.id:06d}" in rows[0].subject


def test_two_senders_running_at_once_never_send_a_message_twice(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, _ = smtp
    enqueue_many(engine, 30)
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(notify.deliver_pending(engine, settings(port), now=T0))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r["sent"] for r in results) == 30
    ids = [m["Message-ID"] for m in sink.messages]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert statuses(engine) == {"sent": 30}


# ---------------------------------------------------------------- who may receive what (issue 12)

MADRID = {"region": "Europe", "country": "ES", "agency": "Madrid"}
PARIS = {"region": "Europe", "country": "FR", "agency": "Paris"}


@pytest.fixture
def people(tmp_path: Path) -> tuple[dict[str, Scope], Path]:
    """A directory (demo org contacts + three users) and its users file."""
    users_file = tmp_path / "users.yaml"
    accounts = {
        "madrid.manager": {"email": "madrid.manager@cx-demo.example", "scope": ["agency:Madrid"]},
        "es.manager": {"email": "es.manager@cx-demo.example", "scope": ["country:ES"]},
        "no.mail": {"email": "", "scope": ["agency:Madrid"]},
    }
    users_file.write_text(
        json.dumps(
            {
                "credentials": {
                    "usernames": {
                        name: {"name": name, "roles": ["agency_manager"], **a}
                        for name, a in accounts.items()
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    root = write_org(tmp_path / "data")
    return notify.recipient_directory(root, users_file=users_file, env={}), users_file


@pytest.mark.parametrize(
    ("address", "geo", "channel", "reason"),
    [
        ("boss@outside.example", MADRID, "email", "not a known user or organisation contact"),
        ("madrid.manager@cx-demo.example, boss@outside.example", MADRID, "email", "is a list"),
        ("madrid.manager@cx-demo.example;boss@outside.example", MADRID, "email", "is a list"),
        ("Juan from sales", MADRID, "email", "not an e-mail address or a known user"),
        ("Juan <madrid.manager@cx-demo.example>", MADRID, "email", "not an e-mail address"),
        ("stranger", MADRID, "email", "not an e-mail address or a known user"),
        ("", MADRID, "email", "no recipient given"),
        ("no.mail", MADRID, "email", "has no e-mail address"),
        (
            "madrid.manager@cx-demo.example",
            PARIS,
            "email",
            "may not receive data about agency Paris",
        ),
        ("madrid.manager", PARIS, "email", "may not receive data about agency Paris"),
        ("es.manager@cx-demo.example", None, "email", "may not receive data about the whole world"),
        ("cleaning.madrid@cx-demo.example", PARIS, "email", "(their scope: agency:Madrid)"),
        ("-200", MADRID, "telegram", "not the configured one"),
        ("hello there", MADRID, "telegram", "not a Telegram chat id"),
    ],
)
def test_each_recipient_refusal_says_why_in_one_line(
    people: tuple[dict[str, Scope], Path],
    address: str,
    geo: dict[str, str] | None,
    channel: str,
    reason: str,
) -> None:
    directory, users_file = people
    with pytest.raises(notify.RecipientRefused) as refused:
        notify.check_recipient(
            address, geo, channel=channel, directory=directory, users_file=users_file
        )
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_known_users_and_contacts_inside_the_geography_are_accepted(
    people: tuple[dict[str, Scope], Path],
) -> None:
    directory, users_file = people

    def ok(address: str, geo: Any = MADRID) -> str:
        return notify.check_recipient(address, geo, directory=directory, users_file=users_file)

    assert ok("madrid.manager") == "madrid.manager@cx-demo.example"  # a username
    assert ok(" Madrid.Manager@cx-demo.example ") == "Madrid.Manager@cx-demo.example"
    assert ok("es.manager@cx-demo.example") == "es.manager@cx-demo.example"  # a country's manager
    assert ok("care.madrid@cx-demo.example") == "care.madrid@cx-demo.example"  # an org contact
    assert ok("fr.manager@cx-demo.example", PARIS) == "fr.manager@cx-demo.example"


def test_a_refused_recipient_is_never_queued(
    sqlite_engine: Engine, people: tuple[dict[str, Scope], Path]
) -> None:
    engine = sqlite_engine  # refused before any SQL: one store is enough
    directory, _ = people
    with (
        pytest.raises(notify.RecipientRefused, match="outside addresses"),
        store.session(engine) as s,
    ):
        store.enqueue(
            s,
            recipient="boss@outside.example",
            subject="Madrid digest",
            body="plans",
            dedupe_key="digest:x",
            directory=directory,
            **MADRID,
        )
    with pytest.raises(notify.RecipientRefused, match="is a list"), store.session(engine) as s:
        store.enqueue(
            s,
            recipient="a@x.example,b@y.example",
            subject="ack",
            body="b",
            dedupe_key="ack:x",
            audience="customer",
            **MADRID,
        )
    assert statuses(engine) == {}


def test_digests_are_filed_with_their_plans_geography_and_reach_only_their_owner(
    engine: Engine,
    people: tuple[dict[str, Scope], Path],
    smtp: tuple[Sink, int, list[Controller]],
) -> None:
    from datetime import date

    from cx.improve import plans
    from cx.store.models import Plan

    directory, users_file = people
    sink, port, _ = smtp
    due = date(2026, 11, 20)
    with store.session(engine) as s:
        for title, owner, geo in (
            ("Clean the waiting room", "madrid.manager", MADRID),
            ("Shorter queues", "es.manager", MADRID),
            ("Shorter queues in Paris", "es.manager", PARIS),  # not Javier's country
            ("Signs", "ops@outside.example", MADRID),  # a free-text owner
        ):
            s.add(Plan(title=title, owner=owner, due_date=due, **geo))
    counts = plans.send_digests(
        engine, datetime(2026, 11, 25, 7, 0, tzinfo=UTC), users_file=users_file
    )
    assert (counts["enqueued"], counts["refused"]) == (1, 2)
    with store.session(engine) as s:
        [row] = s.exec(select(Notification)).all()
    assert (row.recipient, row.region, row.country, row.agency) == (
        "madrid.manager@cx-demo.example",
        "Europe",
        "ES",
        "Madrid",
    )
    sent = notify.deliver_pending(
        engine, settings(port, directory=directory), now=datetime.now(UTC)
    )
    assert sent["sent"] == 1 and sent["dead"] == 0  # it used to go straight to the dead letter
    assert [m["To"] for m in sink.messages] == ["madrid.manager@cx-demo.example"]


# ---------------------------------------------------------------- two senders, one slow server


class SlowSink(Sink):
    """A mail server that takes ``delay`` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


CRON = """
import sys, time
from pathlib import Path
from cx.cli import main
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()  # imported: from here on, the command starts the moment it is told to
while not go.exists():
    time.sleep(0.01)
sys.exit(main(sys.argv[3:]))
"""


def test_the_app_sender_and_cx_notify_against_a_slow_server_send_each_mail_once(
    engine: Engine, tmp_path: Path
) -> None:
    """The app's background sender (a thread of this process, as in the app) and a cron
    ``cx notify`` (another process) at once, against a server taking 0.2 s per message and a lease
    of 1.5 s: the lease used to run from the start of a batch, so once a batch had run longer than
    the lease the second sender re-claimed the row the first was sending, and it went out twice."""
    import os
    import subprocess
    import sys

    sink, port = SlowSink(0.2), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    count, lease = 24, timedelta(seconds=1.5)  # a lease far longer than one send, even here
    ready, go = tmp_path / "ready", tmp_path / "go"
    enqueue_many(engine, count)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CX_SMTP", "CX_TELEGRAM"))}
    env |= {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CX_SMTP_HOST": "127.0.0.1",
        "CX_SMTP_PORT": str(port),
        "CX_OUTBOX_LEASE_SECONDS": str(lease.total_seconds()),
    }
    cron = subprocess.Popen(
        [sys.executable, "-c", CRON, str(ready), str(go)]
        + ["notify", "--data", str(tmp_path), "--format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sender = None
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        sender = notify.start_background_sender(engine, settings(port, lease=lease), interval=0.1)
        late = time.monotonic() + lease.total_seconds() + 0.5
        while (not sink.messages or time.monotonic() < late) and time.monotonic() < deadline:
            time.sleep(0.01)  # the app's batch has now run longer than the lease
        go.touch()
        out, err = cron.communicate(timeout=60)
        while statuses(engine).get("sent", 0) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if sender is not None:
            sender.stop()
        cron.kill()
        controller.stop()
    assert cron.returncode == 0, err
    assert json.loads(out)[0]["sent"] >= 1  # both senders did send
    ids = [m["Message-ID"] for m in sink.messages]
    assert sorted(ids) == sorted(transport.message_id(f"test:{i}") for i in range(count))
    assert statuses(engine) == {"sent": count}


# ---------------------------------------------------------------- TLS and passwords


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (nothing leaves the machine)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsSink(Sink):
    """Keeps, with each message, whether the session was encrypted; records every login."""

    def __init__(self) -> None:
        super().__init__()
        self.encrypted: list[bool] = []
        self.logins: list[tuple[bytes, bytes]] = []

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        self.logins.append((data.login, data.password))
        return AuthResult(success=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.encrypted.append(session.ssl is not None)
        return await super().handle_DATA(server, session, envelope)


def _server(sink: TlsSink, **kw: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticate, **kw
    )
    controller.start()
    return controller, port


def test_starttls_is_used_by_default_when_the_server_offers_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink = TlsSink()
    controller, port = _server(sink, tls_context=server_tls, auth_require_tls=True)
    try:
        enqueue_many(sqlite_engine, 1)
        st = NotifySettings.from_env(
            env={
                "CX_SMTP_HOST": "127.0.0.1",
                "CX_SMTP_PORT": str(port),
                "CX_SMTP_USER": "cx",
                "CX_SMTP_PASSWORD": "s3cret",
                "CX_SMTP_CA_FILE": str(cert),
            }
        )
        assert st.smtp_tls == "auto"
        assert notify.deliver_pending(sqlite_engine, st, now=T0)["sent"] == 1
    finally:
        controller.stop()
    assert sink.encrypted == [True] and sink.logins == [(b"cx", b"s3cret")]


def test_a_password_is_never_sent_in_clear_text_unless_allowed(sqlite_engine: Engine) -> None:
    sink = TlsSink()
    controller, port = _server(sink, auth_require_tls=False)  # would accept a plain login
    try:
        enqueue_many(sqlite_engine, 1)
        env = {
            "CX_SMTP_HOST": "127.0.0.1",
            "CX_SMTP_PORT": str(port),
            "CX_SMTP_USER": "cx",
            "CX_SMTP_PASSWORD": "s3cret",
        }
        refused = notify.deliver_pending(sqlite_engine, NotifySettings.from_env(env=env), now=T0)
        assert refused["retry"] == 1 and sink.logins == [] and not sink.messages
        with store.session(sqlite_engine) as s:
            [row] = s.exec(select(Notification)).all()
        assert "CX_SMTP_ALLOW_PLAIN" in (row.last_error or "")
        required = NotifySettings.from_env(env={**env, "CX_SMTP_TLS": "starttls"})
        later = T0 + timedelta(hours=1)
        assert notify.deliver_pending(sqlite_engine, required, now=later)["retry"] == 1
        with store.session(sqlite_engine) as s:
            assert "does not offer STARTTLS" in (
                s.exec(select(Notification)).one().last_error or ""
            )
        allowed = NotifySettings.from_env(env={**env, "CX_SMTP_ALLOW_PLAIN": "1"})
        assert (
            notify.deliver_pending(sqlite_engine, allowed, now=T0 + timedelta(days=1))["sent"] == 1
        )
    finally:
        controller.stop()
    assert sink.logins == [(b"cx", b"s3cret")] and sink.encrypted == [False]


def test_lease_and_tls_settings_from_the_environment() -> None:
    st = NotifySettings.from_env(env={"CX_OUTBOX_LEASE_SECONDS": "90", "CX_SMTP_HOST": "m"})
    assert (st.lease, st.smtp_tls, st.smtp_port, st.smtp_allow_plain) == (
        timedelta(seconds=90),
        "auto",
        25,
        False,
    )
    for bad in ("soon", "0"):
        with pytest.raises(notify.NotifyError, match="CX_OUTBOX_LEASE_SECONDS"):
            NotifySettings.from_env(env={"CX_OUTBOX_LEASE_SECONDS": bad})


def test_a_send_longer_than_the_lease_keeps_its_row_from_the_other_sender(
    engine: Engine,
) -> None:
    """Each message takes 1.5 s to be accepted, the lease is 0.6 s: the sender renews its lease
    while the transport works, so a second sender polling all along never takes a row over."""
    sink, port = SlowSink(1.5), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    count, lease = 3, timedelta(seconds=0.6)
    enqueue_many(engine, count)
    senders = [
        notify.start_background_sender(engine, settings(port, lease=lease), interval=0.05)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while statuses(engine).get("sent", 0) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2 * lease.total_seconds())  # a re-claimed row would now be on its second send
    finally:
        for sender in senders:
            sender.stop()
        controller.stop()
    ids = [m["Message-ID"] for m in sink.messages]
    assert sorted(ids) == sorted(transport.message_id(f"test:{i}") for i in range(count))
    assert statuses(engine) == {"sent": count}
