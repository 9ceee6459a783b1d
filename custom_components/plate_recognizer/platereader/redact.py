"""Keep secrets out of text: error messages, log lines, anything derived from an answer.

Two layers, because a secret reaches text in two ways:

* a known secret (the API token, a password: whatever the caller registers) is
  replaced wherever it appears, also URL-encoded - a proxy or captive portal that
  echoes the request into its page echoes it verbatim;
* credential-shaped text is replaced even when nobody registered it: the value of
  Authorization/Cookie/Set-Cookie headers (as httpcore logs them at debug level),
  ``token=``/``password=`` pairs (query strings, JSON), ``Bearer``/``Token``/``Basic``
  credentials, JWTs, and the ``user:password@`` part of URLs.

`SecretFilter` applies both to log records. The bridge installs it on its log
handlers (`install_log_redaction`), which covers every logger, third-party ones
included; `PlateReader` attaches it to the loggers its own requests go through
(`protect_loggers`), so Home Assistant's log is covered without touching HA's handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "***"

# Shorter values cannot be replaced blindly without mangling unrelated text.
MIN_SECRET_LENGTH = 4
MAX_SECRETS = 32  # remembered by one `SecretFilter`, newest kept

# The loggers an HTTP request of ours goes through (httpcore logs response headers,
# Set-Cookie included, at debug level; httpx logs URLs at info level).
HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

_SCHEMES = r"(?:Bearer|Token|Basic|Digest|JWT)"

# "Authorization: Token x", '"authorization": "Bearer x"', "Cookie: a=b; c=d",
# and httpcore's tuples: (b'set-cookie', b'frigate_token=...; Path=/').
_HEADER = re.compile(
    r"(?i)(?P<name>\b(?:proxy-)?authorization|\bset-cookie|\bcookie|\bx-api-key|\bx-auth-token)"
    r"(?P<sep>['\"]?\s*[:=]\s*b?['\"]?|['\"]\s*,\s*b?['\"])"
    r"(?P<value>[^'\"\r\n<>]+)"
)
_HEADER_SCHEME = re.compile(rf"(?i)^\s*({_SCHEMES})\s+")

# token=x, password=x, ?api_key=x, "secret": "x" - a key naming a secret, then its value.
# A bare "token: x" is left alone: that is how prose and pydantic messages read.
_PAIR = re.compile(
    r"(?i)(?P<key>\b[\w.-]*?(?:token|password|passwd|pwd|secret|api[_-]?key|apikey"
    r"|session[_-]?id|license[_-]?key|credentials?)s?)"
    r"(?P<sep>\s*=\s*['\"]?|['\"]\s*:\s*['\"]|['\"]\s*:\s*(?=[^\s'\"]))"
    r"(?P<value>[^\s'\"&,;<>)\]}]+)"
)

# "Bearer eyJ...", "Token 0123abcd...": long enough to be a credential, not a word.
_CREDENTIAL = re.compile(rf"(?i)\b({_SCHEMES})\s+[A-Za-z0-9._~+/-]{{16,}}=*")

# A JSON Web Token: base64url header (always starts with '{"' -> "eyJ"), payload, signature.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")

# scheme://user:password@host -> scheme://***@host
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")


def _header(match: re.Match[str]) -> str:
    value = match.group("value")
    scheme = _HEADER_SCHEME.match(value)
    kept = f"{scheme.group(1)} " if scheme else ""
    return f"{match.group('name')}{match.group('sep')}{kept}{REDACTED}"


def _variants(secrets: Iterable[str | None]) -> list[str]:
    """Each secret as given and URL-encoded, longest first (a secret may contain another)."""
    found: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            found.update({secret, quote(secret, safe=""), quote(secret)})
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret and everything credential-shaped replaced by ***."""
    for secret in _variants(secrets):
        text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _HEADER.sub(_header, text)
    text = _PAIR.sub(rf"\g<key>\g<sep>{REDACTED}", text)
    text = _CREDENTIAL.sub(rf"\1 {REDACTED}", text)
    return _JWT.sub(REDACTED, text)


class SecretFilter(logging.Filter):
    """Rewrites each log record (message, traceback, stack) with `redact`; drops nothing.

    Attached to a handler it covers every record that handler emits, whichever
    logger made it; attached to a logger, only the records that logger makes.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        # Replaced, never mutated: handlers on other threads iterate them.
        self._given: tuple[str, ...] = ()
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Also replace these values (None and too short ones are ignored).

        The newest `MAX_SECRETS` are kept: a settings form tried with many tokens must
        not make every log line slower without bound.
        """
        new = [s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH]
        given = [s for s in self._given if s not in new] + list(dict.fromkeys(new))
        self._given = tuple(given[-MAX_SECRETS:])
        self._secrets = tuple(_variants(self._given))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself
            return True
        record.msg, record.args = redact(message, self._secrets), None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, so that it is redacted like the message.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        return True


# One filter per process: every secret registered anywhere is redacted everywhere it is used.
LOG_FILTER = SecretFilter()


def remember_secrets(*secrets: str | None) -> None:
    """Register secrets with the process-wide `LOG_FILTER`."""
    LOG_FILTER.add(*secrets)


def protect_loggers(names: Iterable[str] = HTTP_LOGGERS) -> None:
    """Attach `LOG_FILTER` to these loggers (idempotent)."""
    for name in names:
        logging.getLogger(name).addFilter(LOG_FILTER)


def install_log_redaction(handlers: Iterable[logging.Handler] | None = None) -> SecretFilter:
    """Attach `LOG_FILTER` to `handlers` (default: the root logger's) and the HTTP loggers.

    For a program that owns its logging (the bridge): every record of every logger
    passes through a root handler, so third-party loggers (httpx, httpcore, aiohttp,
    paho) are covered too.
    """
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        handler.addFilter(LOG_FILTER)
    protect_loggers()
    return LOG_FILTER
