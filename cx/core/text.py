"""Text that came from a user or a customer, made safe for HTML or Markdown: the one escaper,
as a scalar function and as a Polars expression that gives the same result."""

from __future__ import annotations

import html
import re

import polars as pl

_HTML_FROM = ["&", "<", ">", '"', "'"]
_HTML_TO = ["&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"]
_MARKDOWN = re.compile(r"([\\`*_{}\[\]#!|<>~$])")
_AUTOLINK = re.compile(r"(?i)(?<=\w)(?=://)|(?<=\bwww)(?=\.)|(?=@)")
_JOINER = "\u2060"  # WORD JOINER: invisible, and it breaks a bare URL or address apart


def escape_html(text: str) -> str:
    """Escape ``text`` for an HTML element or attribute.

    >>> escape_html('<b class="x">Tom & Jerry\\'s</b>')
    '&lt;b class=&quot;x&quot;&gt;Tom &amp; Jerry&#x27;s&lt;/b&gt;'
    """
    return html.escape(text, quote=True)


def escape_html_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`escape_html` for a whole string column in one vectorised pass.

    >>> pl.select(escape_html_expr(pl.lit("<a href='x'>&</a>"))).item()
    '&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;'
    """
    return expr.str.replace_many(_HTML_FROM, _HTML_TO)


def escape_markdown(text: str) -> str:
    """Escape Markdown syntax, so user text shows as text, never as a link, an image or a heading;
    a bare URL or e-mail address (which the browser's Markdown would link by itself) gets an
    invisible word joiner before its ``://`` or ``@``.

    >>> escape_markdown("[click](http://x) *now*, ana@x.es")
    '\\\\[click\\\\](http\u2060://x) \\\\*now\\\\*, ana\u2060@x.es'
    """
    return _AUTOLINK.sub(_JOINER, _MARKDOWN.sub(r"\\\1", text))
