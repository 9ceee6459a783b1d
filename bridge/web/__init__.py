"""The bridge's web page: live reads, history search, the watch list, health.

`server` (aiohttp app and routes), `security` (token, CSRF, headers, bounds),
`live` (`WebSink`: recent reads, pictures, server-sent events), one module per
page group (`pages_live`, `pages_history`, `pages_watchlist`), `html` (escaping
and the layout) and `static/` (app.js, app.css). Documented in docs/web.md.
"""

from __future__ import annotations

from .context import WebContext
from .live import WebSink
from .security import Guard
from .server import WebServer, build_app

__all__ = ["Guard", "WebContext", "WebServer", "WebSink", "build_app"]
