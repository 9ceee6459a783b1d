"""Server-rendered HTML: one escape-everything helper and the page layout.

Plate text comes from OCR and camera names from configuration files: every value
interpolated into a template is escaped (`html.escape`, quotes included), and every
attribute in our templates is double-quoted. Only `Markup` made here passes as is.
No inline script or style: the Content-Security-Policy forbids both.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from aiohttp import web


class Markup(str):
    """HTML already escaped (built by `render`/`join`): interpolated as is."""

    __slots__ = ()


def escape(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def render(template: str, **values: Any) -> Markup:
    """`template` (ours, with `{name}` fields) with every value escaped."""
    return Markup(template.format(**{name: escape(value) for name, value in values.items()}))


def join(parts: Iterable[Markup]) -> Markup:
    return Markup("".join(escape(part) for part in parts))


# What a page shows of one text from outside (an API's make/model/colour, OCR text, a
# camera name): nothing bounds them upstream, and 50 reads of 100 KB each would make a
# 5 MB page and 100 KB live events.
MAX_SHOWN = 200


def clip(value: str | None, limit: int = MAX_SHOWN) -> str:
    """`value` cut to `limit` characters ("…" says it was cut); "" for None."""
    text = value or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def segment(value: str) -> str:
    """One URL path segment, nothing left to interpret (`/`, `?`, `#` ...)."""
    return quote(value, safe="")


NAV = (("Live", "./"), ("History", "history"), ("Watch list", "watchlist"), ("Health", "health"))

_LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · plate-bridge</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}static/app.css">
<script src="{root}static/app.js" defer></script>
</head>
<body data-page="{page}" data-csrf="{csrf}">
<header><strong class="brand">plate-bridge</strong><nav>{nav}</nav></header>
<main>
<h1>{title}</h1>
<p id="message" class="{message_class}" role="status">{message}</p>
{body}
</main>
</body>
</html>
"""


def page(
    title: str,
    body: Markup,
    *,
    page_name: str,
    root: str = "",
    csrf: str = "",
    message: str | None = None,
    error: bool = False,
) -> str:
    """A whole page. `root`: the way back to the top from this page ("" or "../"), so
    that every URL is relative and the page works under any prefix (ingress)."""
    nav = join(
        render(
            '<a href="{href}"{current}>{label}</a>',
            href=(root + href) if href != "./" else (root or "./"),
            label=label,
            current=Markup(' aria-current="page"' if label == title else ""),
        )
        for label, href in NAV
    )
    return render(
        _LAYOUT,
        title=title,
        root=root,
        page=page_name,
        csrf=csrf,
        nav=nav,
        message=message or "",
        message_class=("error" if error else "ok") if message else "empty",
        body=body,
    )


def html_response(text: str, status: int = 200) -> web.Response:
    # "replace": a lone surrogate (a JSON answer may carry "\\ud800") shows as "?" instead
    # of failing the whole page for as long as that read is listed.
    body = text.encode("utf-8", "replace")
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8")
