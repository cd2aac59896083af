"""Linli settings: everything configurable comes from the environment (django-environ).

Development defaults are safe to run on one machine; with DEBUG off, unsafe values are a
startup error rather than a silent risk.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from linli.database import postgresql_connection_settings, redis_url_for_worker

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Local state of the embedded default (SQLite file, file broker, channel layer, media).
VAR_DIR = Path(env.str("LINLI_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "linli-development-only-key-never-use-in-production"  # noqa: S105


def _secret_key_is_weak(value: str) -> bool:
    return (
        len(value) < 50
        or len(set(value)) < 5
        or value.startswith("django-insecure")
        or value == _DEV_SECRET_KEY
    )


SECRET_KEY = env.str("SECRET_KEY", default="" if not DEBUG else _DEV_SECRET_KEY)
# Blank entries (`ALLOWED_HOSTS=" , "`, a trailing comma) are dropped so they cannot pass for a
# configured host list.
ALLOWED_HOSTS = [
    host.strip()
    for host in env.list(
        "ALLOWED_HOSTS",
        default=[] if not DEBUG else ["localhost", "127.0.0.1", "[::1]", "testserver"],
    )
    if host.strip()
]

if not DEBUG:
    if not SECRET_KEY or _secret_key_is_weak(SECRET_KEY):
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or weak: with DEBUG off it needs 50+ random characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "import_export",
    "django_celery_beat",
    "channels",
    "linli.vendor_apps.AxesConfig",  # django-axes, with a name the admin can translate
    "auditlog",
    "csp",
    "apps.customers",
    "apps.catalog",
    "apps.stores",
    "apps.campaigns",
    "apps.procurement",
    "apps.devices",
    "apps.training",
    "apps.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files need no policy. Sets the header on every other response.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records the request's user as the actor of every audited change (linli/audit.py).
    "linli.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it turns a login refused by the throttle into the lockout page (linli/throttle.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"
ASGI_APPLICATION = "linli.asgi.application"
# Work the web, websocket and worker processes do at startup rather than on their first
# request (linli/warmup.py): the URLconf, and jieba's dictionary for the live dashboard's
# comment keywords and talking points (docs/live-dashboard.md, "The first request").
WARM_UP = [
    "linli.warmup.urlconf_load",
    "apps.campaigns.analytics.comments.tokenizer_load",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'linli.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# The embedded default: web, worker and beat share one SQLite file (and, without Redis, the
# channel layer's tables). WAL lets readers run beside the one writer. IMMEDIATE makes every
# `atomic` block take the write lock when it begins, waiting up to `timeout` seconds for the
# other writer: a DEFERRED transaction that has read and then writes gets "database is locked"
# at once, without waiting, whenever another process holds the lock or has committed since its
# read (channels-lite's group_add, the nightly run's chunks). So transactions must be short:
# long reads and computations run before the write transaction (docs/decisions.md).
SQLITE_OPTIONS = {
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL;",
    "transaction_mode": "IMMEDIATE",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
else:
    DATABASES["default"] = postgresql_connection_settings(DATABASES["default"], os.environ)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The throttle checks first and refuses a locked (username, address) before the password is
# tried; ModelBackend then authenticates. Axes needs the request: `authenticate(request, ...)`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["linli.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders in development and tests (no collectstatic needed there).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# The CJK font for posters and PDF reports (linli/fonts.py), from the system's package registry.
CJK_FONT_PATH = env.str("CJK_FONT_PATH", default="/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"

# --- Redis: channel layer and Celery broker -------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    # Parallel test workers (pytest-xdist) each get a Redis database of their own, as each gets
    # a test database of its own: channel groups and dashboard keys are named by row ids, which
    # the workers' databases repeat. Written back so the processes a test starts use it too.
    REDIS_URL = redis_url_for_worker(REDIS_URL, os.environ["PYTEST_XDIST_WORKER"])
    os.environ["REDIS_URL"] = REDIS_URL

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool refuses (rather than queues) a connection past its
                # maximum, 100 by default: one websocket server holds more sockets than that.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000),
                        # Above channels-redis's 5 s blocking pop: redis-py 8 reads time out at
                        # 5 s by default, which killed every socket idle for about 5 s.
                        "socket_timeout": env.float("CHANNELS_REDIS_SOCKET_TIMEOUT", default=15),
                    }
                ],
                "prefix": env.str("CHANNELS_PREFIX", "linli"),
            },
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # No Redis: the channel layer is kept in SQLite (channels-lite), so an event raised in the
    # Celery worker or beat reaches the websockets served by the web process on the same machine
    # (an in-memory layer lives inside one process). Each process polls for its sockets' messages
    # every CHANNELS_POLL_INTERVAL seconds. On the SQLite default the layer's two tables live in
    # the main database file; with PostgreSQL (but no Redis) in their own SQLite file, migrated
    # by `manage.py migrate --database channels` (bin/run does). docs/deployment.md, "Realtime".
    _on_sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    if not _on_sqlite and "pytest" in sys.modules:
        # Under pytest on PostgreSQL a second database alias is refused by every test that
        # declares only "default", so in-process tests get the one-process layer; the SQLite
        # layer is tested in processes of their own (tests/linli/test_realtime_layers.py,
        # tests/linli/test_browser_worker_to_page.py).
        CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        INSTALLED_APPS.append("channels_lite")
        if not _on_sqlite:
            DATABASES["channels"] = {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": env.str(
                    "CHANNELS_DATABASE_PATH", default=str(VAR_DIR / "channels.sqlite3")
                ),
                "OPTIONS": dict(SQLITE_OPTIONS),
            }
            DATABASE_ROUTERS = ["channels_lite.router.ChannelsRouter"]
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_lite.layers.core.SQLiteChannelLayer",
                "CONFIG": {
                    "database": "default" if _on_sqlite else "channels",
                    "polling_interval": env.float("CHANNELS_POLL_INTERVAL", default=0.1),
                },
            }
        }
    # A broker that needs no server: messages are files under var/celery/, shared by the
    # web process, the worker and beat on one machine.
    _broker_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    # The host is named though the transport ignores it (the folders below are the broker):
    # with none, kombu logs "No hostname was supplied. Reverting to default 'localhost'" at
    # every connection, i.e. at every task sent.
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Exactly one beat acts, whatever is started: the scheduler sends only while it holds a lock on
# the database (a PostgreSQL advisory lock, or a file lock next to the SQLite file); see
# linli/beat.py. A standby beat takes over within CELERY_BEAT_LOCK_TTL of the leader's death.
CELERY_BEAT_SCHEDULER = "linli.beat:LeaderDatabaseScheduler"
CELERY_BEAT_LOCK_TTL = env.int("CELERY_BEAT_LOCK_TTL", default=30)
CELERY_BEAT_LOCK_FILE = env.str("CELERY_BEAT_LOCK_FILE", default="")  # SQLite; "" = next to it
# A nightly decision run renews its lease after every chunk of stores; one silent for longer
# (a killed worker) is taken over by the next attempt, which resumes with the stores not done.
DECISION_RUN_LEASE_SECONDS = env.int("DECISION_RUN_LEASE_SECONDS", default=10 * 60)
# A co-purchase rule is shown to an owner only when at least this many distinct members
# carry it (bought A and B in one basket); docs/decisions.md.
RULES_MIN_MEMBERS = env.int("RULES_MIN_MEMBERS", default=5)
# ... and only when its lift is at least this: a lift near 1 says B sells as often with A as
# without it, which tells the owner nothing. A display filter only: the rules table keeps every
# rule the thresholds pass (and the rules behind member suggestions are not filtered by it).
RULES_MIN_LIFT_DISPLAY = env.float("RULES_MIN_LIFT_DISPLAY", default=1.2)
# The most units HQ may ask for on one purchase-order line when editing a draft's demand: a
# typing guard (the network's biggest line is a few thousand units); docs/purchasing.md.
PURCHASE_LINE_MAX_UNITS = env.int("PURCHASE_LINE_MAX_UNITS", default=100_000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Store inspections (docs/inspections.md) --------------------------------------------------
# The pass line on the 0–100 inspection score: a score at or above it passes (达标), one below
# fails. Portal and admin labels and the score chart's dashed line follow it.
try:
    INSPECTION_PASS_SCORE = Decimal(env.str("INSPECTION_PASS_SCORE", default="80"))
except InvalidOperation:
    INSPECTION_PASS_SCORE = Decimal("NaN")
if not (INSPECTION_PASS_SCORE.is_finite() and 0 <= INSPECTION_PASS_SCORE <= 100):
    raise ImproperlyConfigured("INSPECTION_PASS_SCORE must be a number from 0 to 100.")

# --- Member notifications (SMS / WeChat dispatcher, docs/notifications.md) --------------------
# Quiet hours in TIME_ZONE ("HH:MM-HH:MM", may wrap midnight; "" = none): nothing is sent then,
# rows due are deferred to the end. The rate limit is per channel per minute across all workers.
NOTIFY_QUIET_HOURS = env.str("NOTIFY_QUIET_HOURS", default="21:30-08:00")
NOTIFY_RATE_PER_MINUTE = env.int("NOTIFY_RATE_PER_MINUTE", default=60)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
NOTIFY_SMS_SENDER = env.str(
    "NOTIFY_SMS_SENDER", default="apps.campaigns.notifications.senders.LoggingSender"
)
NOTIFY_WECHAT_SENDER = env.str(
    "NOTIFY_WECHAT_SENDER", default="apps.campaigns.notifications.senders.LoggingSender"
)

# --- Live dashboard (docs/live-dashboard.md) -------------------------------------------------
# Updates to a broadcast's viewers are coalesced to at most one message per window.
LIVE_DASHBOARD_WINDOW_MS = env.int("LIVE_DASHBOARD_WINDOW_MS", default=300)
LIVE_DASHBOARD_PREFIX = env.str("LIVE_DASHBOARD_PREFIX", default="linli")
# A viewers count the platform last reported longer ago than this is shown as stale.
LIVE_VIEWERS_STALE_SECONDS = env.int("LIVE_VIEWERS_STALE_SECONDS", default=300)

# --- Supplier receipt disputes (docs/delivery-and-receiving.md, "Disputes") ----------------
# A supplier may dispute a store's receipt of a line for this many days after the receipt.
RECEIPT_DISPUTE_DAYS = env.int("RECEIPT_DISPUTE_DAYS", default=7)

# --- REST API -------------------------------------------------------------------------------
_RATE_PERIODS = ("s", "sec", "m", "min", "h", "hour", "d", "day")


def _api_rate(variable: str, default: str) -> str | None:
    """A DRF rate from the environment: `<requests>/<period>` (period s, min, hour or day) or
    `off` (not limited). A typo stops the start rather than lifting the limit."""
    value = env.str(variable, default=default).strip().lower()
    if value == "off":
        return None
    requests, _slash, period = value.partition("/")
    if (
        not (requests.isascii() and requests.isdigit())
        or int(requests) < 1
        or period not in _RATE_PERIODS
    ):
        raise ImproperlyConfigured(
            f"{variable}={value!r}: expected '<requests>/<period>' (period s, min, hour or day, "
            "e.g. '30/min') or 'off'."
        )
    return f"{int(requests)}/{period}"


REST_FRAMEWORK = {
    # Token first, so an unauthenticated call gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # DRF's, with its CSRF refusal in the request's language.
        "linli.api_auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies bounded in size (DATA_UPLOAD_MAX_MEMORY_SIZE) and depth: a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "linli.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        # DRF's, with an unreadable body refused in the request's language.
        "linli.parsers.MultiPartParser",
    ],
    # Numbers in a query string (filters, limit, offset): ASCII digits only (linli/api_query.py).
    "DEFAULT_FILTER_BACKENDS": ["linli.api_query.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "linli.api_query.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "linli.schema.AutoSchema",
    "EXCEPTION_HANDLER": "linli.errors.uniform_exception_handler",
    # Machines (devices, store terminals) are limited per token and per scope, the view's
    # `throttle_scope` (linli/throttle.py, docs/access.md "Rate limits"); people are not.
    "DEFAULT_THROTTLE_CLASSES": ["linli.throttle.MachineRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # A fridge posts a reading a minute; one back online posts its backlog in batches.
        "device": _api_rate("API_RATE_DEVICE", "30/min"),
        # A till posts one sale at a time, in bursts at rush hour or flushing an offline queue.
        "pos_orders": _api_rate("API_RATE_POS_ORDERS", "120/min"),
        # The streaming tool reports the viewer count every 10-30 s while a broadcast is live.
        "broadcast_viewers": _api_rate("API_RATE_BROADCAST_VIEWERS", "12/min"),
        # A mini-program or chat bot relays every join and comment of a live broadcast.
        "group_buys": _api_rate("API_RATE_GROUP_BUYS", "600/min"),
        # The mini-program backend relays every member order (and its status checks) of a
        # store: a busy evening's orders, and the order page polled while members wait.
        "mini_program_orders": _api_rate("API_RATE_MINI_PROGRAM_ORDERS", "300/min"),
        # Tracking events come in batches.
        "campaign_events": _api_rate("API_RATE_CAMPAIGN_EVENTS", "120/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Linli API",
    "DESCRIPTION": "Store devices, POS terminals, mini-program and chat bots.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- import-export --------------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"

# --- Caches ------------------------------------------------------------------------------------
# "default" stays in each process's memory (the decision engine's day-long aggregates).
# "portal" holds the store page's figures (apps/stores/page_cache.py), which the processes that
# change them (web, worker, daphne) must be able to drop: on Redis when REDIS_URL is set; in this
# process's memory on the embedded default and under pytest, where Redis keys named by row ids
# would outlive a test and meet the same ids in the next one. Sessions stay in the database only:
# a logout while Redis was down must not leave a live copy of the session in a cache.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "portal": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Named by the database, so two databases sharing a Redis db never share figures.
            "KEY_PREFIX": f"linli:{DATABASES['default']['NAME']}",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if REDIS_URL and "pytest" not in sys.modules
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}
    ),
    # The API rate limits' counts (linli/throttle.py): on Redis when REDIS_URL is set, so every
    # web process counts against the same limit (under pytest too: the rate-limit tests run on
    # it and empty their keys; every other test runs with the limits off, tests/conftest.py).
    # On the embedded default each process counts in its own memory: with WEB_WORKERS
    # processes a token may send up to that many times its rate.
    "throttle": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"linli:{DATABASES['default']['NAME']}",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"}
    ),
}

# --- Security (production values when DEBUG is off) ------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Load balancers probe over plain HTTP; an HTTPS redirect would read as "unhealthy".
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# --- Content-Security-Policy (django-csp) ----------------------------------------------------
# Scripts and styles come from our own static files only. An inline <script> needs
# `nonce="{{ request.csp_nonce }}"` (the nonce enters the header only on pages that use one);
# inline handlers (onclick=), javascript: URLs, <style> blocks and style="" attributes are refused,
# so templates use classes from static CSS and listeners in static JS (tests/linli/test_csp.py
# scans the templates). 'self' in connect-src also covers ws:/wss: on the same host (CSP Level 3).
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only, to try a
# change on a live site; CSP_REPORT_URI is where browsers POST violation reports (none if unset).
CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
if _csp_report_uri := env.str("CSP_REPORT_URI", default=""):
    CSP_DIRECTIVES["report-uri"] = [_csp_report_uri]
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Login throttling (django-axes): portal, supplier and admin logins -----------------------
# AXES_FAILURE_LIMIT wrong passwords in a row for one account from one address lock that
# account from that address (only) for AXES_COOLOFF_MINUTES; a success resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout are refused but not counted: the lock ends AXES_COOLOFF_MINUTES after
# the failure that set it, however often someone keeps trying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "linli.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "linli.client_ip.client_ip"
# How many reverse proxies in front of Django append to X-Forwarded-For. 0 (the default): the
# header is ignored and REMOTE_ADDR is the client; only set it when every request passes through
# that many proxies you run, or anyone could pick the address they are throttled under.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Audit trail (django-auditlog): models are registered by their own app's AppConfig.ready().
# The actor and address come from linli.audit.AuditActorMiddleware; phone fields are masked
# (138****8000) before they are written.
AUDITLOG_MASK_CALLABLE = "linli.audit.phone_mask_for_log"
AUDITLOG_DISABLE_ON_RAW_SAVE = True

# Largest request body read into memory: form posts, and JSON through linli.parsers (the
# biggest legitimate one, 5000 device readings, is under 1 MB). Uploaded files are not counted.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "forbidden_without_traceback": {"()": "linli.logfilters.ForbiddenWithoutTraceback"},
        "rate_limited_not_logged": {"()": "linli.logfilters.RateLimitedNotLogged"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "jieba": {"level": "WARNING"},
        # A 403 (PermissionDenied) is logged as one warning line, without the traceback; a 429
        # of the API rate limits is not logged here (linli.throttle logs one line per token
        # and scope per window).
        "django.request": {"filters": ["forbidden_without_traceback", "rate_limited_not_logged"]},
    },
}
