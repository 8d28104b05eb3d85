"""User text shown through Markdown (plan titles, alert texts, names) stays text in a real
browser: no link, no image, no heading — bare URLs and addresses included, which GitHub-flavoured
Markdown would otherwise turn into links by itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.net import free_port, wait_for_port

HOSTILE = [
    "[click here](https://evil.example/steal)",
    "![tracker](https://evil.example/pixel.png)",
    "# Shouting heading",
    "see https://evil.example/a and http://evil.example/b",
    "or www.evil.example/c",
    "write to boss@evil.example",
    "<a href='https://evil.example/d'>html link</a>",
]

SCRIPT = """
import json, sys
import streamlit as st
from cx.core.text import escape_markdown
for line in json.loads(sys.argv[1]):
    st.markdown(escape_markdown(line))
st.markdown("done-marker")
"""


def test_escaped_user_text_renders_no_link_image_or_heading(page: object, tmp_path: Path) -> None:
    import json

    script = tmp_path / "show.py"
    script.write_text(SCRIPT, encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", str(script)),
            *("--server.port", str(port), "--server.headless", "true"),
            *("--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"),
            *("--server.fileWatcherType", "none", "--", json.dumps(HOSTILE)),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=90)
        page.goto(f"http://127.0.0.1:{port}")  # type: ignore[attr-defined]
        page.get_by_text("done-marker").wait_for()  # type: ignore[attr-defined]
        body = page.locator("[data-testid='stMain']")  # type: ignore[attr-defined]
        text = body.inner_text().replace("\u2060", "")  # the invisible joiner that unlinks
        assert body.locator("a").count() == 0, body.inner_html()
        assert body.locator("img").count() == 0
        assert body.locator("h1, h2, h3").count() == 0
        for shown in ("[click here](https://evil.example/steal)", "# Shouting heading"):
            assert shown in text  # shown as written, for the reader to see
        assert "boss@evil.example" in text and "www.evil.example/c" in text
    finally:
        proc.terminate()
        proc.wait(timeout=15)
