"""Who may use the page, and how a write proves it comes from the page itself.

* Access: with `web.token` every request carries it: `Authorization: Bearer <token>`,
  or the cookie set when the page is opened once as `...?token=<token>` (the answer is
  a redirect to the same address without it, so the token leaves the address bar and
  the browser's history). With `web.ingress`, the Home Assistant supervisor's
  requests are trusted: Home Assistant has authenticated the user.
* Writes (CSRF): every POST carries this process's random CSRF token (a form field
  or `X-CSRF-Token`), and a POST that the browser says comes from another site
  (Sec-Fetch-Site, Origin or Referer) is refused.
* Bounds: the address and the body are size-checked before any handler runs.
* Every answer gets the security headers (`add_headers`): a strict Content-Security-
  Policy (no inline script or style), nosniff, no referrer.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.config.web import INGRESS_PEER, WebConfig, is_loopback

COOKIE = "plate_bridge_token"


def cookie_name(port: int) -> str:
    """The cookie of the page on `port`: cookies are shared by every port of a host, so
    two bridges on one machine would otherwise overwrite each other's."""
    return f"{COOKIE}_{port}"


CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_BODY = 64 * 1024
MAX_TARGET = 2048  # path and query string, in characters
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_ASK_FOR_ACCESS = (
    "plate-bridge: this page needs its access token (web.token). Open it once as "
    "<address>?token=YOUR_TOKEN (a cookie keeps it), or send the header "
    "'Authorization: Bearer YOUR_TOKEN'.\n"
)
_OTHER_HOST = (
    "plate-bridge: without web.token this page answers only to loopback addresses "
    "(127.0.0.1, localhost, [::1]); set web.token to use another name.\n"
)
_INGRESS_ONLY = (
    "plate-bridge: without web.token this page is served only through Home Assistant "
    "(ingress): open it from the add-on's page.\n"
)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _refuse(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


class Guard:
    """The access, CSRF and size checks, as one aiohttp middleware."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self._token = config.token.get_secret_value() if config.token else None
        # The cookie holds a value derived from the token, not the token: the browser's
        # cookie jar (and any other service on this host, which receives cookies of every
        # port) never holds the secret itself, which may be used elsewhere too.
        self.cookie_name = cookie_name(config.port)
        self._cookie = (
            hmac.new(self._token.encode(), b"plate-bridge web cookie", "sha256").hexdigest()
            if self._token
            else None
        )
        self.csrf = secrets.token_urlsafe(32)  # per process: a restart invalidates old forms

    def trusted_ingress(self, request: web.Request) -> bool:
        return self.config.ingress and request.remote == INGRESS_PEER

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if len(request.raw_path) > MAX_TARGET:
            return _refuse(414, "plate-bridge: the address is too long.\n")
        if (request.content_length or 0) > MAX_BODY:
            return _refuse(413, f"plate-bridge: a request body may be at most {MAX_BODY} bytes.\n")
        refused = self._access(request)
        if refused is not None:
            return refused
        if request.method not in SAFE_METHODS:
            problem = await self._csrf_problem(request)
            if problem is not None:
                return _refuse(403, f"plate-bridge: refused: {problem}.\n")
        return await handler(request)

    # -- access ----------------------------------------------------------------------------

    def _access(self, request: web.Request) -> web.StreamResponse | None:
        if self.trusted_ingress(request):
            return None
        if self._token is None:
            if not is_loopback(self.config.host):
                return _refuse(403, _INGRESS_ONLY)  # web.ingress without a token
            # DNS rebinding: a site whose name now points to 127.0.0.1 would be "same
            # origin" with the page; without a token, only a loopback Host is this page.
            if not is_loopback(request.url.host or ""):
                return _refuse(403, _OTHER_HOST)
            return None
        in_query = request.query.getall("token", [])
        if in_query:
            if len(in_query) == 1 and _same(in_query[0], self._token):
                return self._remember(request)
            return _refuse(401, _ASK_FOR_ACCESS)
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self._token):
            return None
        cookie = request.cookies.get(self.cookie_name)
        if cookie is not None and self._cookie is not None and _same(cookie, self._cookie):
            return None
        return _refuse(401, _ASK_FOR_ACCESS)

    def _remember(self, request: web.Request) -> web.StreamResponse:
        """Set the cookie and send the browser to the same address without the token."""
        assert self._cookie is not None
        last = request.rel_url.raw_path.rsplit("/", 1)[-1]
        # Relative ("./" + the last segment): right under any prefix (ingress, a proxy),
        # and never read as a scheme ("javascript:").
        location = "./" + last
        rest = [(key, value) for key, value in request.query.items() if key != "token"]
        if rest:
            location += "?" + urlencode(rest)
        response = web.Response(status=303, headers={"Location": location})
        response.set_cookie(
            self.cookie_name,
            self._cookie,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
        return response

    # -- writes ----------------------------------------------------------------------------------

    async def _csrf_problem(self, request: web.Request) -> str | None:
        # Browsers say where a request comes from: Sec-Fetch-Site, and Origin (which is
        # "null" on our own forms, because of Referrer-Policy: no-referrer) or Referer.
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return "the request comes from another site (Sec-Fetch-Site: cross-site)"
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            origin = request.headers.get("Referer")
        if origin is not None and not self._own_host(request, origin):
            return "the request comes from another site (Origin/Referer is not this page)"
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            try:
                form = await request.post()  # cached: the handler reads the same form
            except ValueError:
                return "the form could not be read"
            field = form.get(CSRF_FIELD)
            given = field if isinstance(field, str) else None
        if given is None or not _same(given, self.csrf):
            return "the form is missing its CSRF token or it is stale: reload the page and retry"
        return None

    def _own_host(self, request: web.Request, origin: str) -> bool:
        netloc = urlsplit(origin).netloc.lower()
        hosts = {request.host.lower()}
        if self.trusted_ingress(request):
            forwarded = request.headers.get("X-Forwarded-Host")
            if forwarded:
                hosts.add(forwarded.split(",")[0].strip().lower())
        return netloc in hosts


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: every answer, errors and streams included."""
    response.headers.update(HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
