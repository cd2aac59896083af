"""ASGI entry point: HTTP through Django, websockets through Channels.

Websockets pass origin validation (ALLOWED_HOSTS; a foreign origin gets an HTTP 403 handshake
rejection) and session authentication before routing; each consumer then checks access itself in
`connect()` (accept, then close 4403), and a path without a route is closed with 4404.
The process warms up (linli/warmup.py) when it loads this module, before serving.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from linli.routing import websocket_fallback, websocket_urlpatterns  # noqa: E402
from linli.warmup import warm_up  # noqa: E402

# Before the server takes requests: the first page and socket need not load what every later
# one finds loaded (linli/warmup.py).
warm_up()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, websocket_fallback]))
        ),
    }
)
