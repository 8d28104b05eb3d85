"""Two replicas of the real app behind a real HAProxy on loopback, sharing one PostgreSQL store and
one data folder, exactly as ``deploy/compose.yaml`` lays them out: the replicas run the command
read from that file, the proxy runs ``deploy/haproxy.cfg``, the store is prepared by
``deploy/init.py``.

Through the proxy, in headless Chromium: two browsers are dealt to different replicas and stay
there (sticky cookie, the websocket included); a session opened on one replica is accepted on the
other; a survey answer whose steps land on both replicas gives exactly one e-mail although both
replicas run outbox senders; a wave written into the shared folder shows on both overviews
without a restart.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import ingest, store
from cx.capture import links
from cx.core import keys
from cx.demo.dataset import write_demo
from cx.store.models import Notification, SurveyAnswer
from tests.server.test_survey_pages import hidden
from tests.support.browser import ROOT, login, shot, wait_idle
from tests.support.datadir import no_hook
from tests.support.net import free_port, wait_for_port
from tests.support.proxy import (
    check_config,
    children,
    command_line,
    haproxy,
    haproxy_binary,
    rss_mib,
)
from tests.support.smtp import Sink
from tests.support.wait import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

DEPLOY = ROOT / "deploy"
REPLICAS = ("app1", "app2")
NEW_WAVE = "2026-Q4"  # the demo's waves end at 2026-Q3
MADRID = links.open_link("experience", "Madrid", "qr", language="es")
CLEANING = "cleaning.madrid@cx-demo.example"
FIGURES: dict[str, Any] = {}  # measured here, written to artifacts/replicas.json for the README


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def replica_command(port: int) -> list[str]:
    """The compose file's replica command, listening on loopback ``port`` instead of 0.0.0.0:8501."""
    command = [str(part) for part in compose()["services"]["app1"]["command"]]
    command[command.index("--server.port") + 1] = str(port)
    command[command.index("--server.address") + 1] = "127.0.0.1"
    return command


@dataclass
class Cluster:
    url: str
    root: Path
    engine: Engine
    sink: Sink
    replicas: dict[str, subprocess.Popen[bytes]]
    ports: dict[str, int]
    proxy: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def served_by(self, name: str) -> bool:
        """Whether the proxy routes a request holding ``name``'s sticky cookie to ``name`` (it
        does once its health checks passed)."""
        try:
            answer = httpx.get(f"{self.url}/api/v1/health", cookies={"SERVERID": name}, timeout=5)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.headers.get("x-cx-replica") == name


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a replica: ``uv run``, its server and the server's capture worker (one group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def database(postgres_server: str) -> Iterator[str]:
    """A database of its own on the suite's PostgreSQL server: the replicas' one shared store."""
    name = f"replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, database: str, mailbox: tuple[Sink, int]
) -> Iterator[Cluster]:
    binary = haproxy_binary()
    root = tmp_path_factory.mktemp("replicas") / "data"
    write_demo(root, rows=8_000)  # the demo's 8 waves, small: two servers share 2 cores
    env = {
        **os.environ,
        "CX_DATA_DIR": str(root),
        "DATABASE_URL": database,
        "CX_SIGNING_KEY": keys.signing_key(),  # one key for all: the tests sign survey links
        "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32),
        "CX_TRUSTED_PROXIES": "127.0.0.1",
        "CX_WARM": "on",
        "CX_NOTIFY_INTERVAL": "1",
        "CX_FOLD_SECONDS": "3600",  # answers stay out of the waves: the new wave is the import's
        "CX_SMTP_HOST": "127.0.0.1",
        "CX_SMTP_PORT": str(mailbox[1]),
        "CX_SMTP_TLS": "none",
        "CX_SMTP_ALLOW_PLAIN": "1",
        "CX_SMTP_FROM": "cx@cx-demo.example",
    }
    init = [str(part) for part in compose()["services"]["init"]["command"]]
    subprocess.run(init, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    ports = {name: free_port() for name in REPLICAS}
    replicas: dict[str, subprocess.Popen[bytes]] = {}
    logs = []
    try:
        for name in REPLICAS:  # started together, as compose does
            logs.append(open(root.parent / f"{name}.log", "wb"))  # noqa: SIM115
            replicas[name] = subprocess.Popen(
                replica_command(ports[name]),
                cwd=ROOT,
                env=env,
                stdout=logs[-1],
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one group: uv, the server and its capture worker
            )
        for name in REPLICAS:
            wait_for_port(ports[name], timeout=120)
        proxy_port = free_port()
        proxy_env = {
            "CX_PROXY_BIND": f"127.0.0.1:{proxy_port}",
            "CX_APP1": f"127.0.0.1:{ports['app1']}",
            "CX_APP2": f"127.0.0.1:{ports['app2']}",
        }
        with haproxy(
            binary, DEPLOY / "haproxy.cfg", proxy_env, proxy_port, root.parent / "haproxy.log"
        ) as proxy:
            found = Cluster(
                url=f"http://127.0.0.1:{proxy_port}",
                root=root,
                engine=store.make_engine(database),
                sink=mailbox[0],
                replicas=replicas,
                ports=ports,
                proxy=proxy,
                env=proxy_env,
            )
            for name in REPLICAS:
                assert wait_until(lambda n=name: found.served_by(n), 60), name  # type: ignore[misc]
            yield found
            found.engine.dispose()
    finally:
        for proc in replicas.values():
            _stop(proc)
        for log in logs:
            log.close()
        if FIGURES:
            out = ROOT / "artifacts" / "replicas.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(FIGURES, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def signed_in(cluster: Cluster, browser: Any) -> Iterator[dict[str, Any]]:
    """Two browsers (fresh contexts), one after the other, each signed in as the CEO through the
    proxy and showing the overview: replica name -> its page."""
    pages: dict[str, Any] = {}
    contexts = []
    for _ in REPLICAS:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{cluster.url}/")
        login(page, "ceo")
        page.get_by_text("NPS overview").first.wait_for()
        wait_idle(page)
        sticky = {c["name"]: c["value"] for c in context.cookies()}.get("SERVERID", "")
        pages[sticky] = page
    yield pages
    for context in contexts:
        context.close()


def server_pid(cluster: Cluster, name: str) -> int:
    """The replica's server process (``uv run`` starts it as its child)."""
    found = [
        pid
        for pid in children(cluster.replicas[name].pid)
        if "streamlit" in " ".join(command_line(pid))
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_proxy_config_is_valid_for_the_compose_layout_and_the_test() -> None:
    binary = haproxy_binary()
    for env in (
        {"CX_PROXY_BIND": ":8080", "CX_APP1": "127.0.0.1:8501", "CX_APP2": "127.0.0.1:8502"},
        {"CX_PROXY_BIND": "127.0.0.1:18080", "CX_APP1": "app1:8501", "CX_APP2": "app2:8501"},
    ):
        checked = check_config(binary, DEPLOY / "haproxy.cfg", env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Configuration file is valid" in checked.stdout + checked.stderr
    config = (DEPLOY / "haproxy.cfg").read_text(encoding="utf-8")
    assert "cookie SERVERID insert" in config and "timeout tunnel" in config
    assert "option httpchk GET /api/v1/health" in config


def test_the_replicas_and_the_image_run_the_same_command() -> None:
    services = compose()["services"]
    assert services["app1"]["command"] == services["app2"]["command"]
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd is not None and json.loads(cmd.group(1)) == services["app1"]["command"]
    for name in ("app1", "app2", "init"):
        env = services[name]["environment"]
        assert env["CX_SIGNING_KEY"].startswith("${CX_SIGNING_KEY:?")  # from the environment
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://cx:${POSTGRES_PASSWORD:?")
    assert services["postgres"]["image"] == "postgres:15"


def test_two_browsers_are_dealt_to_both_replicas_and_each_shows_the_overview(
    cluster: Cluster, signed_in: dict[str, Any]
) -> None:
    assert sorted(signed_in) == list(REPLICAS)  # round-robin, then sticky by the SERVERID cookie
    for name, page in signed_in.items():
        shot(page, f"replicas-overview-{name}")
        body = page.inner_text("body")
        assert "NPS overview" in body and "Wave 2026-Q3" in body, body[:400]
        assert "Scope: world" in body
        scripts_see = page.evaluate("document.cookie")  # both are HttpOnly
        assert "SERVERID" not in scripts_see and "cx_session" not in scripts_see
    FIGURES["replica_rss_mib_after_one_signed_in_overview"] = {
        name: round(rss_mib(server_pid(cluster, name)), 1) for name in REPLICAS
    }
    FIGURES["capture_worker_rss_mib"] = {
        name: round(sum(rss_mib(c) for c in children(server_pid(cluster, name))), 1)
        for name in REPLICAS
    }
    FIGURES["haproxy_rss_mib"] = round(rss_mib(cluster.proxy.pid), 1)


def test_a_session_opened_on_one_replica_is_accepted_on_the_other(
    cluster: Cluster, signed_in: dict[str, Any], browser: Any
) -> None:
    cookies = {c["name"]: c for c in signed_in["app1"].context.cookies()}
    session = cookies["cx_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    # over HTTP, straight to each replica and through the proxy pinned to each
    for name in REPLICAS:
        direct = httpx.get(
            f"http://127.0.0.1:{cluster.ports[name]}/",
            headers={"Accept": "text/html"},
            cookies={"cx_session": session["value"]},
        )
        assert direct.status_code == 200, (name, direct.status_code)
        pinned = httpx.get(
            f"{cluster.url}/",
            headers={"Accept": "text/html"},
            cookies={"cx_session": session["value"], "SERVERID": name},
        )
        assert pinned.status_code == 200 and pinned.headers["x-cx-replica"] == name
    refused = httpx.get(
        f"{cluster.url}/",
        headers={"Accept": "text/html"},
        cookies={"cx_session": "not-a-session", "SERVERID": "app2"},
    )
    assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")
    # a new browser holding only app1's session cookie, sent to app2: signed in, no form
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        context.add_cookies(
            [
                {k: session[k] for k in ("name", "value", "domain", "path", "httpOnly")},
                {"name": "SERVERID", "value": "app2", "domain": session["domain"], "path": "/"},
            ]
        )
        page = context.new_page()
        page.set_default_timeout(120_000)
        answer = page.goto(f"{cluster.url}/")
        assert answer is not None and answer.headers["x-cx-replica"] == "app2"
        page.get_by_text("NPS overview").first.wait_for()
        wait_idle(page)
        assert "/signin" not in page.url and "Scope: world" in page.inner_text("body")
    finally:
        context.close()
    # its websocket (the tab's session state) went to app2 with the page: HAProxy logs a
    # tunnel when it closes, and this is the first browser tab closed
    log = cluster.root.parent / "haproxy.log"
    streams = wait_until(
        lambda: [ln for ln in log.read_text().splitlines() if "GET /_stcore/stream" in ln], 20
    )
    assert streams and all("replicas/app2" in ln for ln in streams), streams


def test_a_new_wave_in_the_shared_folder_shows_on_both_replicas_without_a_restart(
    cluster: Cluster, signed_in: dict[str, Any], tmp_path: Path
) -> None:
    pids = {name: server_pid(cluster, name) for name in REPLICAS}
    lines = [
        f"N{i},2026-10-{1 + i % 28:02d} 10:00:00,NC{i},Europe,{country},{agency},{nps},fine"
        for i, (country, agency, nps) in enumerate(
            [("ES", "Madrid", 10), ("ES", "Madrid", 9), ("FR", "Paris", 3), ("ES", "Madrid", 7)]
            * 15
        )
    ]
    src = tmp_path / "wave.csv"
    src.write_text(
        "response_id,responded_at,customer_id,region,country,agency,nps,comment\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )
    result = ingest.import_file(
        src, NEW_WAVE, root=cluster.root, engine=cluster.engine, after_import=no_hook
    )
    assert result.status == "written" and result.accepted == 60, result
    written = time.monotonic()
    seen: dict[str, float] = {}
    for name, page in signed_in.items():
        page.goto(f"{cluster.url}/")  # a new run of the same browser, on its own replica
        page.get_by_text(f"Wave {NEW_WAVE}").first.wait_for(timeout=120_000)
        seen[name] = time.monotonic() - written
        wait_idle(page)
        shot(page, f"replicas-new-wave-{name}")
        body = page.inner_text("body")
        assert f"Wave {NEW_WAVE}" in body
        # 60 answers: 30 promoters, 15 passives, 15 detractors -> NPS 25; Spain's 45: 66.7
        assert f"NPS is 25.0 ± 20.4 in {NEW_WAVE}" in body, body[:600]
        assert "66.7" in body and "-100.0" in body
    assert {name: server_pid(cluster, name) for name in REPLICAS} == pids  # no restart
    FIGURES["seconds_until_both_replicas_show_the_new_wave"] = round(max(seen.values()), 2)


def test_a_survey_answer_spread_over_both_replicas_gives_exactly_one_mail(
    cluster: Cluster, signed_in: dict[str, Any]
) -> None:
    # both replicas run outbox senders: the dashboards' (SMTP is set, and a dashboard ran on
    # each) and their capture worker's
    for name in REPLICAS:
        workers = children(server_pid(cluster, name))
        assert any("cx.server.workers" in " ".join(command_line(c)) for c in workers), name
    steps = [
        {"nps": "2"},
        {
            "attr_cleanliness": "1",
            "attr_waiting_time": "6",
            "attr_staff_attitude": "7",
            "attr_staff_competence": "7",
        },
        {"followup_cleanliness": "toilets"},
        {"comment": "Los baños estaban sucios", "callback": "no"},
    ]
    served: list[str] = []
    with httpx.Client(base_url=cluster.url, timeout=60) as client:
        page = client.get(MADRID)
        served.append(page.headers["x-cx-replica"])
        for answers in steps:
            assert page.status_code == 200, page.text[:300]
            client.cookies.clear()  # no sticky cookie: the proxy deals each step anew
            page = client.post(MADRID, data={**hidden(page.text), **answers})
            served.append(page.headers["x-cx-replica"])
    assert page.status_code == 200 and "<form" not in page.text, page.text[:300]
    assert set(served) == set(REPLICAS), served  # the answer's steps were served by both

    with store.session(cluster.engine) as s:
        stored = list(s.exec(select(SurveyAnswer).where(SurveyAnswer.agency == "Madrid")))
    assert len(stored) == 1  # one answer, although its steps went to both replicas

    def settled() -> list[Notification]:
        with store.session(cluster.engine) as s:
            rows = list(s.exec(select(Notification).where(Notification.channel == "email")))
        done = rows and all(r.status in ("sent", "dead") for r in rows)
        return rows if done and any(r.recipient == CLEANING for r in rows) else []

    rows = wait_until(settled, 90)
    assert rows, "the cleaning contact's e-mail was never sent"
    time.sleep(3 * float(os.environ.get("CX_NOTIFY_INTERVAL", "1")))  # other senders' rounds
    mails = [m for m in cluster.sink.messages if m["To"] == CLEANING]
    assert len(mails) == 1, [m["Subject"] for m in mails]
    sent = [r for r in rows if r.status == "sent"]
    ids = [m["Message-ID"] for m in cluster.sink.messages]
    assert len(ids) == len(set(ids)) == len(sent)  # every queued mail once, none twice
    FIGURES["mails_sent_for_one_answer"] = len(ids)
