"""Which webhook URLs we call (server-side request forgery guard).

At request time (:func:`check_url`): ``https://`` to a public host only; a literal IP must be a
public address, and names that are never public (single labels like ``intranet``,
``*.localhost``, ``*.local``) are refused. Loopback (``127.0.0.0/8``, ``::1``, ``localhost``)
over ``http`` or ``https`` only when ``IMAGEDESIGNER_WEBHOOK_ALLOW_LOOPBACK`` is set, for tests
and local development. At connect time (``transport.py``) every address a name resolves to is
checked again with :func:`address_allowed`, so a public-looking name that resolves to a private
address (or is re-pointed there later) is refused too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit, urlunsplit

from imagedesigner import errors
from imagedesigner.config import Settings

MAX_URL_CHARS = 2048
PARAM = "webhook_url"
CODE = "invalid_webhook_url"
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)  # 127.1, 0x7f.0.0.1, 2130706433
_NEVER_PUBLIC_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _refuse(message: str) -> errors.InvalidRequest:
    return errors.InvalidRequest(message, param=PARAM, code=CODE)


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    """An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by that one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_loopback(ip: IPAddress) -> bool:
    return _embedded_ipv4(ip).is_loopback


def address_allowed(ip: IPAddress, *, allow_loopback: bool) -> bool:
    """Public unicast addresses; loopback only when allowed. Private, shared (CGNAT),
    link-local (cloud metadata at 169.254.169.254), multicast, reserved and unspecified
    addresses never."""
    ip = _embedded_ipv4(ip)
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):  # the legacy forms the resolver would take as an address
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str, settings: Settings) -> str:
    """The URL to deliver a job's webhook to, normalised; a 400 (``param: "webhook_url"``)
    saying what is wrong otherwise. Makes no network call."""
    if not isinstance(url, str) or not url:
        raise _refuse("webhook_url must be an https:// URL.")
    if len(url) > MAX_URL_CHARS:
        raise _refuse(f"webhook_url must be at most {MAX_URL_CHARS} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _refuse("webhook_url must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("webhook_url is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise _refuse("webhook_url must be an https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("webhook_url must not contain a user name or password.")
    if parts.fragment:
        raise _refuse("webhook_url must not contain a #fragment.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("webhook_url has no host.")
    if port == 0:
        raise _refuse("webhook_url has an invalid port.")
    ip = _literal_ip(host)
    loopback = host == "localhost" or host.endswith(".localhost") or bool(ip and is_loopback(ip))
    if loopback:
        if not settings.webhook_allow_loopback:
            raise _refuse(
                "webhook_url points at this machine (loopback), which is not allowed on this "
                "server. Use a public https:// URL."
            )
    elif ip is not None:
        if not address_allowed(ip, allow_loopback=False):
            raise _refuse(
                "webhook_url points at a private, link-local or reserved address. Use a "
                "public https:// URL."
            )
    elif "." not in host or host.endswith(_NEVER_PUBLIC_SUFFIXES):
        raise _refuse(
            "webhook_url must name a public host (a full domain name such as hooks.example.com)."
        )
    if scheme != "https" and not loopback:
        raise _refuse("webhook_url must use https://.")
    netloc = f"[{host}]" if ip is not None and ip.version == 6 else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
