"""Who is the client? The socket peer, unless that peer is a trusted proxy.

``CF-Connecting-IP`` / ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed only when the
connecting peer is inside ``IMAGEDESIGNER_TRUSTED_PROXIES`` (CIDRs, default none); otherwise any
client could claim any address. With ``X-Forwarded-For`` the right-most address that is not itself
a trusted proxy is the client (the left part of the header is whatever the client sent).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

Scope = Mapping[str, Any]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=16)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    out = []
    for item in cidrs:
        for part in item.replace(",", " ").split():
            out.append(ipaddress.ip_network(part.strip(), strict=False))
    return tuple(out)


def parse_ip(value: str | None) -> Address | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:1234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in net for net in networks)


def _header(scope: Scope, name: bytes) -> str | None:
    """All lines of a header joined with ',' (a proxy may append a line instead of merging)."""
    values = [v.decode("latin-1") for k, v in scope.get("headers") or () if k == name]
    return ",".join(values) if values else None


@lru_cache(maxsize=1024)
def _parse_peer(host: str) -> Address | None:
    """The socket peer's address, parsed once per address (a few µs each, on every request);
    addresses are immutable, and the cache lives in this process's memory only."""
    return parse_ip(host)


def _peer(scope: Scope) -> Address | None:
    client = scope.get("client")
    return _parse_peer(client[0]) if client and isinstance(client[0], str) else None


def client_ip(scope: Scope, trusted: list[str] | tuple[str, ...]) -> str | None:
    peer = _peer(scope)
    networks = parse_networks(tuple(trusted))
    if not is_trusted(peer, networks):
        return str(peer) if peer else None
    cf = parse_ip(_header(scope, b"cf-connecting-ip"))
    if cf is not None:
        return str(cf)
    xff = _header(scope, b"x-forwarded-for")
    if xff:
        hops = [parse_ip(h) for h in xff.split(",")]
        for hop in reversed(hops):
            if hop is None:
                break  # a garbled hop: stop believing anything further left
            if not is_trusted(hop, networks):
                return str(hop)
        else:
            if hops and hops[0] is not None:
                return str(hops[0])  # every hop is a proxy of ours
    return str(peer) if peer else None


def is_https(scope: Scope, trusted: list[str] | tuple[str, ...]) -> bool:
    if scope.get("scheme") == "https":
        return True
    if not trusted:  # no proxy is believed: only the connection's own scheme counts
        return False
    if is_trusted(_peer(scope), parse_networks(tuple(trusted))):
        proto = _header(scope, b"x-forwarded-proto") or ""
        return proto.split(",")[0].strip().lower() == "https"
    return False


def truncate_ip(value: str, v4_prefix: int, v6_prefix: int) -> str:
    """The network address of the /v4_prefix or /v6_prefix the address is in."""
    address = parse_ip(value)
    if address is None:
        return ""
    prefix = v4_prefix if address.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
