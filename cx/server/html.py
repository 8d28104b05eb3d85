"""The light, server-rendered HTML pages of the one server (sign-in now; survey pages later):
no JavaScript, readable on a phone and on a projector, every user value escaped."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from cx.core.text import escape_html

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 18px/1.5 "DejaVu Sans", system-ui, sans-serif; color: #1b1f24;
       background: #f4f6f8; }
main { max-width: 28rem; margin: 8vh auto; padding: 2rem; background: #fff;
       border-radius: 12px; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
p.lead { color: #4a5560; margin: 0 0 1.5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
input[type=text], input[type=password] { width: 100%; padding: .7rem .8rem; font-size: 1rem;
       border: 2px solid #8a96a3; border-radius: 8px; }
input:focus, button:focus, a:focus { outline: 3px solid #1f6feb; outline-offset: 2px; }
button { margin-top: 1.5rem; width: 100%; padding: .8rem; font-size: 1.05rem; font-weight: 600;
       color: #fff; background: #0b5cad; border: 0; border-radius: 8px; cursor: pointer; }
button.secondary { background: #fff; color: #0b5cad; border: 2px solid #0b5cad; }
.error { background: #fdecea; color: #8a1c12; border-left: 4px solid #c62828;
         padding: .7rem .9rem; border-radius: 6px; margin: 0 0 1rem; }
.note { background: #eef4fb; color: #123c69; border-left: 4px solid #0b5cad;
        padding: .7rem .9rem; border-radius: 6px; margin: 0 0 1rem; }
code { background: #eef1f4; padding: .1rem .3rem; border-radius: 4px; font-size: .9em; }
.or { text-align: center; color: #4a5560; margin: 1.25rem 0 0; }
"""


def page(
    title: str,
    body: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    lang: str = "en",
    style: str = "",
    head: str = "",
    brand: str = "CX Review",
) -> HTMLResponse:
    """A whole HTML page; ``body`` is trusted markup built with :func:`escape_html` values
    (``style`` and ``head`` are trusted too: constants of the calling module)."""
    doc = (
        f'<!doctype html><html lang="{escape_html(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape_html(title)} · {escape_html(brand)}</title>"
        f"<style>{STYLE}{style}</style>{head}</head>"
        f"<body><main>{body}</main></body></html>"
    )
    base = {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'",
    }
    return HTMLResponse(doc, status_code=status, headers={**base, **(headers or {})})
