"""The client's address, for the login throttle and the audit trail.

Behind reverse proxies the address Django sees (`REMOTE_ADDR`) is the nearest proxy's; the
client's is in `X-Forwarded-For`, which each proxy extends with the address it received from.
Only the entries our own proxies appended can be trusted (a client may send any header), so
with `TRUSTED_PROXY_COUNT = n` the client is the n-th entry from the right, and with 0 (the
default) the header is ignored altogether.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: `REMOTE_ADDR`, or with `TRUSTED_PROXY_COUNT = n > 0` the address
    the outermost of our n proxies received the request from (`X-Forwarded-For`, n-th from the
    right). A header shorter than n means the request bypassed a proxy: `REMOTE_ADDR` then."""
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxy_count = settings.TRUSTED_PROXY_COUNT
    if proxy_count <= 0:
        return remote_addr
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < proxy_count:
        return remote_addr
    return forwarded[-proxy_count]
