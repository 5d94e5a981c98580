"""The address of the person at the other end of a request, seen through the reverse proxies we run.

Behind a proxy every request comes from the proxy's address (``REMOTE_ADDR``), and the visitor's own
address travels in ``X-Forwarded-For``, a header anyone can write. Each proxy *appends* the address
of the peer it saw, so the header's right end was written by our proxies and its left end by whoever
sent the request. We walk it from the right, skipping the proxies named in ``TRUSTED_PROXIES``; the
first address that is not one of them is the client. A header that reaches us from a peer we do not
trust is ignored altogether: that peer could have written any address into it.

Every use of the client address goes through here: allauth's rate limits (``accounts/adapters.py``),
the vote's network fingerprint (``ratings/views.py``), the access log (``xhs/access_log.py``) and the
API's per-client rate limit (``api/http.py``, through ``client_rate_key``).
"""

import functools
import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse ``TRUSTED_PROXIES`` (addresses or CIDR networks); a malformed entry stops the start."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES must list IP addresses or networks (like 10.0.0.0/8), not {value!r}."
            ) from exc
    return tuple(networks)


@functools.lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return trusted_networks(values)


def _parse(value: str) -> Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``::1`` or ``[::1]:80``."""
    text = value.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's IP address, normalised; ``""`` when the connection has none (a Unix socket).

    With no trusted proxies configured (the default) this is ``REMOTE_ADDR`` and forwarded headers
    count for nothing. When every hop is a trusted proxy, or a trusted proxy forwarded something that
    is not an address, the leftmost trusted proxy stands for the client: a broken chain then groups
    its requests together rather than letting the sender pick an address.
    """
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return ""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


#: An IPv6 subscriber is given a /64 and its hosts pick any address in it (privacy extensions change it
#: daily or on demand): counted per address, one client would have 2**64 allowances.
IPV6_SUBSCRIBER_PREFIX = 64


def client_rate_key(request: HttpRequest) -> str:
    """Whom a per-client rate limit counts: the client's IPv4 address, or its IPv6 address's /64."""
    address = client_address(request)
    if ":" not in address:
        return address
    return str(ipaddress.ip_network(f"{address}/{IPV6_SUBSCRIBER_PREFIX}", strict=False))


#: Longer user agents are cut: they are hashed, and a huge header must not cost more than a normal one.
USER_AGENT_MAX = 512


def client_user_agent(request: HttpRequest) -> str:
    """The client's user agent, cut to ``USER_AGENT_MAX`` characters ("" if none)."""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]


#: Headers only our proxies may write: the scheme and host the visitor used.
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


class UntrustedForwardingMiddleware:
    """Drops ``X-Forwarded-Proto`` (and host and port) from a request whose peer is not a trusted proxy.

    ``SECURE_PROXY_SSL_HEADER`` makes Django believe the header: a client that reaches gunicorn directly
    (a port left open, another container on the network) could send ``X-Forwarded-Proto: https`` over
    plain HTTP, skip the HTTPS redirect and be handed pages as if on a secure connection. Only the
    proxies named in ``TRUSTED_PROXIES`` are believed, as for ``X-Forwarded-For``. First in the
    middleware list: everything after it sees the request as it really came.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        peer = _parse(request.META.get("REMOTE_ADDR", ""))
        networks = _networks(tuple(settings.TRUSTED_PROXIES))
        if peer is None or not _trusted(peer, networks):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
