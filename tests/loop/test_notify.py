"""The outbox sender against a real SMTP server (aiosmtpd) and a fake Telegram Bot API, on loopback."""

from __future__ import annotations

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
from cx.loop import cases, notify, transport
from cx.loop.notify import NotifySettings
from cx.store import Notification
from tests.support.net import free_port
from tests.support.smtp import Sink

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def settings(port: int, **kw: Any) -> NotifySettings:
    base: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 5.0,
        "directory": notify.recipient_directory(),
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


def test_known_recipients_only_receive_their_own_scope(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, _ = smtp
    with store.session(engine) as s:
        for key, recipient, agency, country in (
            (
                "a",
                "madrid.manager@cx-demo.example",
                "Paris",
                "FR",
            ),  # Paris data to the Madrid manager
            ("b", "paris.manager@cx-demo.example", "Paris", "FR"),
            ("c", "es.manager@cx-demo.example", "Madrid", "ES"),
            ("d", "some.customer@example.com", "Paris", "FR"),  # a customer: their own case
            (
                "e",
                "fr.manager@cx-demo.example",
                None,
                None,
            ),  # a world-level row to a country manager
        ):
            store.enqueue(
                s,
                recipient=recipient,
                subject=key,
                body=key,
                dedupe_key=key,
                region="Europe" if agency else None,
                country=country,
                agency=agency,
            )
    counts = notify.deliver_pending(
        engine, settings(port), now=datetime.now(UTC) + timedelta(seconds=1)
    )
    assert counts["sent"] == 3 and counts["dead"] == 2
    assert sorted(m["Subject"] for m in sink.messages) == ["b", "c", "d"]
    with store.session(engine) as s:
        refused = s.exec(select(Notification).where(Notification.status == "dead")).all()
    assert sorted(r.dedupe_key for r in refused) == ["a", "e"]
    assert all("out of scope" in (r.last_error or "") for r in refused)


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
    with store.session(engine) as s:
        store.enqueue(
            s,
            recipient="care.madrid@cx-demo.example",
            subject="hello",
            body="b",
            dedupe_key="cli:1",
            agency="Madrid",
            country="ES",
        )
    engine.dispose()
    assert main(["notify", "--data", str(tmp_path), "--format", "json"]) == 2
    assert "CX_SMTP_HOST" in capsys.readouterr().err
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
