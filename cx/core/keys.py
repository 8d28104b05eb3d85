"""The signing key: it keys the hashes of session tokens in the store and signs form tokens.

Read from ``CX_SIGNING_KEY``, else ``[cx] signing_key`` in ``.streamlit/secrets.toml``, else a
key generated at first start into the git-ignored ``.streamlit/.signing_key`` (mode 0600).
The server refuses to start with a key shorter than 32 bytes, with too few different
characters to be random, or with a known weak value. Rotating it ends every session: the
stored hashes no longer match any browser's token.

>>> check("changeme")
Traceback (most recent call last):
...
cx.core.keys.KeyProblem: signing key refused: shorter than 32 bytes (8); make one with: python -c "import secrets; print(secrets.token_hex(32))"
>>> check("9f2c" * 16)
Traceback (most recent call last):
...
cx.core.keys.KeyProblem: signing key refused: too few different characters to be random
>>> check("3b1f9a0c5d7e2468ace13579bdf0246a")
Traceback (most recent call last):
...
cx.core.keys.KeyProblem: signing key refused: it holds about 128 random bits, fewer than 32 random bytes (256 bits); make one with: python -c "import secrets; print(secrets.token_hex(32))"
>>> check("3b1f9a0c5d7e2468ace13579bdf02468a1b2c3d4e5f60718293a4b5c6d7e8f90")
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

SECRETS_FILE = Path(".streamlit/secrets.toml")
GENERATED_FILE = Path(".streamlit/.signing_key")
MIN_BYTES = 32
WEAK = (
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "example",
    "default",
    "streamlit",
    "cx-demo",
    "not-secret",
    "insecure",
    "letmein",
    "0123456789",
    "abcdef",
)
_MAKE = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'


class KeyProblem(ValueError):
    """The signing key is missing or too weak to sign anything."""


def check(key: str) -> None:
    """Refuse a key an attacker could guess, with a one-line reason."""
    size = len(key.encode())
    if size < MIN_BYTES:
        raise KeyProblem(f"signing key refused: shorter than {MIN_BYTES} bytes ({size}); {_MAKE}")
    low = key.lower()
    if any(w in low for w in WEAK):
        raise KeyProblem(f"signing key refused: it contains a known weak value; {_MAKE}")
    if len(set(key)) < 12:
        raise KeyProblem("signing key refused: too few different characters to be random")
    bits = _bits(key)
    if bits < 8 * MIN_BYTES:
        raise KeyProblem(
            f"signing key refused: it holds about {bits} random bits, fewer than "
            f"{MIN_BYTES} random bytes ({8 * MIN_BYTES} bits); {_MAKE}"
        )


_HEX = frozenset("0123456789abcdefABCDEF")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=")


def _bits(key: str) -> int:
    """The randomness a key's spelling can hold at most: 4 bits a character in hex, 6 in base64,
    8 otherwise (so 32 hex characters are 16 random bytes, not 32)."""
    if set(key) <= _HEX:
        return 4 * len(key)
    if set(key) <= _B64:
        return 6 * len(key.rstrip("="))
    return 8 * len(key.encode())


def secrets_file() -> Path:
    """``CX_SECRETS_FILE``, else Streamlit's ``.streamlit/secrets.toml``."""
    return Path(os.environ.get("CX_SECRETS_FILE") or SECRETS_FILE)


def read_secrets() -> dict[str, Any]:
    """The secrets file as a dict (empty when missing or unreadable): the signing key here, the
    single sign-on provider in :mod:`cx.server.sso`."""
    try:
        return tomllib.loads(secrets_file().read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _from_secrets() -> str | None:
    value = read_secrets().get("cx", {}).get("signing_key")
    return str(value) if value else None


def _generated() -> str:
    """The key made on first use beside the data: written whole to a temporary file, then linked
    into place (never overwriting), so a process starting at the same time never reads it half
    written."""
    if not GENERATED_FILE.exists():
        GENERATED_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".signing-key-", dir=GENERATED_FILE.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(tmp, GENERATED_FILE)
        finally:
            os.unlink(tmp)
    return GENERATED_FILE.read_text().strip()


@cache
def signing_key() -> str:
    """The checked key (cached for the process; a rotation takes a restart)."""
    key = os.environ.get("CX_SIGNING_KEY") or _from_secrets() or _generated()
    check(key)
    return key


def keyed_hash(value: str, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` for one purpose (session token, form token…), hex."""
    mac = hmac.new(signing_key().encode(), f"{purpose}\0{value}".encode(), hashlib.sha256)
    return mac.hexdigest()


def form_token(purpose: str, now: float | None = None) -> str:
    """A signed, timestamped token for a form (CSRF): ``<issued>.<nonce>.<mac>``."""
    issued = str(int(now if now is not None else time.time()))
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{keyed_hash(issued + '.' + nonce, 'form:' + purpose)}"


def check_form_token(
    token: str, purpose: str, max_age: float = 3600, now: float | None = None
) -> bool:
    """True when ``token`` was made by :func:`form_token` for ``purpose`` less than ``max_age``
    seconds ago."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    issued, nonce, mac = parts
    expected = keyed_hash(issued + "." + nonce, "form:" + purpose)
    age = (now if now is not None else time.time()) - int(issued)
    return hmac.compare_digest(mac, expected) and -60 <= age <= max_age


def b64(raw: bytes) -> str:
    """Unpadded base64url (what links, signed states and cursors are spelled in).

    >>> b64(b"cx"), unb64("Y3g"), unb64("Y3h"), unb64("*")
    ('Y3g', b'cx', None, None)
    """
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes | None:
    """The bytes of unpadded base64url ``text``; None unless it is the canonical spelling (a
    flipped trailing bit that decodes to the same bytes is refused too)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if b64(raw) == text else None


def seal(payload: Mapping[str, Any], purpose: str, *, mac_chars: int = 40) -> str:
    """``payload`` as a signed, URL-safe token ``<base64url JSON>.<mac>`` (readable, not secret:
    it only cannot be altered). :func:`unseal` reads it back.

    >>> token = seal({"a": 1}, "test")
    >>> unseal(token, "test"), unseal(token, "other"), unseal(token[:-1] + "0", "test")
    ({'a': 1}, None, None)
    """
    body = b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{keyed_hash(body, purpose)[:mac_chars]}"


def unseal(token: str, purpose: str, *, mac_chars: int = 40) -> dict[str, Any] | None:
    """The payload :func:`seal` signed for ``purpose``; None when altered, foreign or malformed."""
    body, _, mac = (token or "").partition(".")
    if not body or not hmac.compare_digest(mac, keyed_hash(body, purpose)[:mac_chars]):
        return None
    raw = unb64(body)
    try:
        found = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
