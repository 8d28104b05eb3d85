"""``cx webhooks add|list|remove|test`` against a real receiver on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from cx.cli import main
from tests.support.receivers import receiver


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and out.strip() else []), err


def test_add_list_test_remove(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CX_WEBHOOKS_ALLOW_LOCAL", "1")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data = ["--data", str(root), "--format", "json"]
    with receiver() as rec:
        code, (added,), _ = run(
            capsys, "webhooks", "add", rec.url, "--events", "case.opened,plan.updated",
            "--scope", "country:ES", *data,
        )  # fmt: skip
        assert code == 0 and added["id"].startswith("wh_") and added["secret"].startswith("whsec_")
        assert added["events"] == ["case.opened", "plan.updated"] and added["scope"] == "country:ES"
        code, listed, _ = run(capsys, "webhooks", "list", *data)
        assert [r["id"] for r in listed] == [added["id"]] and "secret" not in listed[0]
        code, (tested,), _ = run(capsys, "webhooks", "test", added["id"], *data)
        assert tested["status"] == "sent"
        (got,) = rec.requests
        assert Webhook(added["secret"]).verify(got.body, got.headers)["type"] == "webhook.test"
        code, _, _ = run(capsys, "webhooks", "remove", added["id"], *data)
        assert code == 0
        assert run(capsys, "webhooks", "list", *data)[1] == []


def test_bad_input_prints_one_line(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CX_WEBHOOKS_ALLOW_LOCAL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, _, err = run(
        capsys, "webhooks", "add", "http://127.0.0.1:1/h", "--events", "case.opened",
        "--data", str(root),
    )  # fmt: skip
    assert code == 2 and "CX_WEBHOOKS_ALLOW_LOCAL" in err and err.count("\n") == 1
    code, _, err = run(capsys, "webhooks", "remove", "wh_nothere000", "--data", str(root))
    assert code == 2 and "no webhook subscription" in err
