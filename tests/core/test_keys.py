"""The signing key: weak keys refused at start, form tokens signed and dated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cx.core import keys
from tests.support.apptest import ROOT


@pytest.mark.parametrize(
    "key",
    [
        "changeme",
        "changeme" * 5,
        "my-secret-signing-key-for-cx-review-app",
        "0123456789" * 4,
        "ab" * 32,
    ],
)
def test_a_weak_signing_key_is_refused(key: str) -> None:
    with pytest.raises(keys.KeyProblem, match="signing key refused"):
        keys.check(key)


def test_the_server_refuses_to_start_with_a_weak_key_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "CX_SIGNING_KEY": "changeme", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "cx: signing key refused: shorter than 32 bytes (8); make one with: "
        'python -c "import secrets; print(secrets.token_hex(32))"'
    ]


def test_form_tokens_are_bound_to_their_purpose_and_expire() -> None:
    token = keys.form_token("signin", now=1_000_000)
    assert keys.check_form_token(token, "signin", now=1_000_100)
    assert not keys.check_form_token(token, "signout", now=1_000_100)
    assert not keys.check_form_token(token, "signin", now=1_000_000 + 3601)
    issued, nonce, mac = token.split(".")
    assert not keys.check_form_token(f"{issued}.{nonce}.{'0' * len(mac)}", "signin", now=1_000_100)
    assert not keys.check_form_token("", "signin") and not keys.check_form_token("a.b", "signin")
