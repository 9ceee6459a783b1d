"""Download the image of an `upload_url` lookup: public addresses only, within limits.

The URL comes from whoever can reach the engine, so by default the engine fetches only
from public addresses: every host name is resolved, each address is checked, and the
connection goes to a checked address (a custom aiohttp resolver; no second lookup that
DNS rebinding could answer differently). Loopback, private, link-local, multicast,
unspecified and reserved addresses are refused, however they are spelt (``127.1``,
``2130706433``, ``0x7f000001``, ``localhost``, ``[::ffff:127.0.0.1]``), and so is every
redirect hop that leads there. `UrlPolicy` lets a user allow networks or host names
(cameras on the LAN).

Answers to the caller say only `NOT_ALLOWED` or `COULD_NOT_FETCH`: nothing about the
remote status, its content or whether a port is open. The reason goes to the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import unquote

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from .budget import BudgetSpent
from .settings import redact_url

_LOGGER = logging.getLogger(__name__)

MAX_REDIRECTS: Final = 3
MAX_URL_CHARS: Final = 2048
NOT_ALLOWED: Final = "upload_url is not allowed"
COULD_NOT_FETCH: Final = "could not fetch upload_url"
_CHUNK: Final = 64 * 1024
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
# NAT64 prefixes: the IPv4 address inside is what is reached.
_NAT64: Final = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address
type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(Exception):
    """The image could not be fetched; the message is one of the two safe answers."""


class _Refused(OSError):
    """Raised by the resolver: the host resolves to no allowed address."""


def is_public(address: Address) -> bool:
    """Reachable on the public internet, and not a special-purpose address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or int(address) >> 32 == 0:
            return False  # ::ffff:a.b.c.d and the deprecated ::a.b.c.d reach IPv4 hosts
        if address.sixtofour is not None or address.teredo is not None:
            return False
        if any(address in net for net in _NAT64):
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which upload_url targets are fetched: public addresses, plus what is allowed here."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> UrlPolicy:
        """From CIDRs, addresses and host names; ValueError naming a bad entry."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in entries:
            text = entry.strip()
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
                continue
            except ValueError:
                pass
            name = text.lower().rstrip(".")
            if not name or "/" in name or ":" in name or " " in name:
                raise ValueError(f"upload_url allow entry {entry!r} is not a CIDR, IP or host")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: Address) -> bool:
        if any(address.version == net.version and address in net for net in self.networks):
            return True
        return is_public(address)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _numeric_host(host: str) -> Address | None:
    """The address a host aiohttp connects to without resolving, as the OS parses it.

    aiohttp skips the resolver for any host of digits and dots or with a colon, and
    the OS reads "127.1", "2130706433" or "0177.0.0.1" as 127.0.0.1: so the check
    must parse them the same way (numerically: no lookup happens here).
    """
    if not (":" in host or host.replace(".", "").isdigit()):
        return None  # a name: it goes through _PolicyResolver
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        raise FetchError(NOT_ALLOWED) from ValueError(f"{host} is not an address")
    return _literal(str(infos[0][4][0]).split("%", 1)[0])


class _PolicyResolver(AbstractResolver):
    """Resolves with the system resolver and keeps only the addresses the policy allows."""

    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        self._system = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._system.resolve(host, port, family)
        if self._policy.allows_host(host):
            return results
        allowed = []
        for result in results:
            address = _literal(result["host"].split("%", 1)[0])
            if address is not None and self._policy.allows_address(address):
                allowed.append(result)
        if not allowed:
            raise _Refused(f"{host} resolves to no allowed address")
        return allowed

    async def close(self) -> None:
        await self._system.close()


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    filename: str | None  # the last path segment of the final URL, if any


class ByteMeter(Protocol):
    """Counts a download against the engine's bytes in flight (`budget.Lease`)."""

    def grow(self, units: int) -> bool: ...


class _Unmetered:
    def grow(self, units: int) -> bool:
        return True


async def fetch_image(
    url: str,
    *,
    policy: UrlPolicy,
    max_bytes: int,
    time_limit: float,
    meter: ByteMeter | None = None,
) -> Fetched:
    """GET `url` (and up to MAX_REDIRECTS redirects); the body, at most `max_bytes`.

    Raises FetchError (NOT_ALLOWED or COULD_NOT_FETCH) or BudgetSpent.
    """
    safe = redact_url(url[:MAX_URL_CHARS])
    try:
        async with asyncio.timeout(time_limit):
            return await _fetch(url, policy, max_bytes, meter or _Unmetered())
    except FetchError as err:
        _LOGGER.info("upload_url %s: %s", safe, err.__cause__ or err)
        raise FetchError(str(err)) from None
    except TimeoutError:
        _LOGGER.info("upload_url %s: no answer within %g s", safe, time_limit)
    except (aiohttp.ClientError, OSError, ValueError) as err:
        if _was_refused(err):
            _LOGGER.info("upload_url %s: not allowed (%s)", safe, _reason(err))
            raise FetchError(NOT_ALLOWED) from None
        _LOGGER.info("upload_url %s: %s", safe, _reason(err))
    raise FetchError(COULD_NOT_FETCH)


def _was_refused(err: BaseException) -> bool:
    seen: BaseException | None = err
    for _ in range(8):  # the resolver's error arrives wrapped by aiohttp
        if seen is None:
            return False
        if isinstance(seen, _Refused):
            return True
        seen = getattr(seen, "os_error", None) or seen.__cause__ or seen.__context__
    return False


def _reason(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:300]


def _check_target(url: URL) -> None:
    """Scheme and literal addresses (aiohttp connects to those without resolving)."""
    if url.scheme not in ("http", "https") or not url.host:
        raise FetchError(NOT_ALLOWED) from ValueError(f"not an http(s) URL: {url.scheme}:")


async def _fetch(url: str, policy: UrlPolicy, max_bytes: int, meter: ByteMeter) -> Fetched:
    if len(url) > MAX_URL_CHARS:
        raise FetchError(NOT_ALLOWED) from ValueError(f"longer than {MAX_URL_CHARS} characters")
    try:
        current = URL(url)
    except ValueError as err:
        raise FetchError(NOT_ALLOWED) from err
    connector = aiohttp.TCPConnector(
        resolver=_PolicyResolver(policy), use_dns_cache=False, force_close=True, limit=1
    )
    async with aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,  # a gzip bomb would inflate past every limit
        trust_env=False,  # a proxy from the environment would bypass the policy
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"Accept-Encoding": "identity"},
    ) as session:
        for _ in range(MAX_REDIRECTS + 1):
            _check_target(current)
            host = current.host or ""
            literal = _numeric_host(host)
            if literal is not None and not (
                policy.allows_address(literal) or policy.allows_host(host)
            ):
                raise FetchError(NOT_ALLOWED) from ValueError(f"{literal} is not allowed")
            async with session.get(current, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    current = current.join(URL(response.headers["Location"]))
                    continue
                if response.status != 200:
                    raise FetchError(COULD_NOT_FETCH) from ValueError(f"HTTP {response.status}")
                encoding = response.headers.get("Content-Encoding", "identity").lower()
                if encoding != "identity":
                    raise FetchError(COULD_NOT_FETCH) from ValueError(f"encoded: {encoding}")
                data = await _read_limited(response, max_bytes, meter)
                name = unquote(current.path.rstrip("/").rsplit("/", 1)[-1]) or None
                return Fetched(data, name)
    raise FetchError(COULD_NOT_FETCH) from ValueError(f"more than {MAX_REDIRECTS} redirects")


async def _read_limited(
    response: aiohttp.ClientResponse, max_bytes: int, meter: ByteMeter
) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise FetchError(COULD_NOT_FETCH) from ValueError(f"declares {declared} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        if len(body) + len(chunk) > max_bytes:
            raise FetchError(COULD_NOT_FETCH) from ValueError(f"more than {max_bytes} bytes")
        if not meter.grow(len(chunk)):
            raise BudgetSpent
        body += chunk
    return bytes(body)
