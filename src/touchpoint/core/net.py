"""Who is on the other end: the client address that limits count by.

The peer the ASGI server saw (scope["client"], REMOTE_ADDR under Django) is the address, unless that
peer is one of our own proxies (settings.TRUSTED_PROXIES): then X-Forwarded-For says who it forwarded
for. Anyone can write that header, so it is read only from a trusted peer, right to left, skipping
our own proxies: the first address that is not one of them is the client (what a caller wrote further
left is theirs to make up)."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(peer: str | None, forwarded_for: str = "") -> str:
    """The client's address from the peer and the X-Forwarded-For it sent; "" when the peer is unknown."""
    peer = (peer or "").strip()
    if not peer or not forwarded_for or not _trusted(peer):
        return peer
    address = peer
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if _ip(hop) is None:
            break  # garbage in the header: the last hop we could read is the client
        address = hop
        if not _trusted(hop):
            break
    return address


def request_address(request: HttpRequest) -> str:
    return client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def scope_address(scope: dict) -> str:
    """The client address of an ASGI connection (a socket)."""
    client = scope.get("client") or ("",)
    forwarded = [value.decode("latin-1") for key, value in scope.get("headers", []) if key == b"x-forwarded-for"]
    return client_address(str(client[0] or ""), ",".join(forwarded))


def _trusted(address: str) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)
