"""Settings for Little Red Heart, read from the environment.

With nothing set the app runs on SQLite with Celery tasks executed eagerly, so a fresh clone works
with one command. Production sets DEBUG=0, SECRET_KEY, DATABASE_URL and REDIS_URL (see .env.example).
"""

import warnings
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from xhs.cache_url import cache_redis_url
from xhs.client_address import trusted_networks
from xhs.env import env_bool, env_int, env_list, env_optional, env_str
from xhs.production_checks import refuse_unsafe_settings

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghijkl"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
# Placeholder, short or low-entropy keys, '*' hosts, DEBUG on a public host: refused at start.
refuse_unsafe_settings(debug=DEBUG, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env_str("SITE_URL", default="http://127.0.0.1:8000")
# The reverse proxies in front of the app (addresses or CIDR networks). X-Forwarded-For is believed only
# as far as these wrote it; empty, the peer's own address is the client's (xhs/client_address.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", default=[])
trusted_networks(TRUSTED_PROXIES)  # a malformed entry stops the start

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_celery_beat",
    "ninja",  # the API's docs page (Swagger UI) from our static files, not a CDN
    "accounts",
    "catalog",
    "ratings",
    "moderation",
    "seeding",
    "api",
]

MIDDLEWARE = [
    "xhs.client_address.UntrustedForwardingMiddleware",  # X-Forwarded-Proto only from TRUSTED_PROXIES
    "xhs.access_log.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "xhs.csp.ContentSecurityPolicyMiddleware",
    "xhs.permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "xhs.query_hygiene.QueryHygieneMiddleware",  # 400 for control characters in query strings
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "xhs.urls"
WSGI_APPLICATION = "xhs.wsgi.application"

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
                "accounts.context_processors.header",
            ],
        },
    },
]


# --- Database: PostgreSQL from DATABASE_URL, SQLite otherwise ---------------------------------
def _database(variable: str, url: str) -> dict[str, Any]:
    try:
        database: dict[str, Any] = {
            **dj_database_url.parse(url, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True)
        }
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} is not a valid database URL: {exc}") from exc
    # libpq waits for ever on a database host that does not answer: a request (and /readyz/) gives up
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
    return database


_database_url = env_optional("DATABASE_URL")
if _database_url:
    DATABASES = {"default": _database("DATABASE_URL", _database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / "db.sqlite3"),
        }
    }
# A streaming replica of DATABASE_URL: anonymous reads of the public pages go there (xhs/db_router.py).
_replica_url = env_optional("DATABASE_REPLICA_URL")
if _replica_url:
    if not _database_url:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL is a replica of DATABASE_URL: set DATABASE_URL too.")
    DATABASES["replica"] = _database("DATABASE_REPLICA_URL", _replica_url)
    DATABASE_ROUTERS = ["xhs.db_router.ReplicaRouter"]
    # after authentication: whether the visitor is signed in decides
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "xhs.db_router.PublicReadsMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery: Redis from REDIS_URL, in-process otherwise -----------------------------
REDIS_URL = env_optional("REDIS_URL")
# The cache never shares a database with the broker: it may be evicted, queued tasks may not (xhs/cache_url.py).
CACHE_REDIS_URL = cache_redis_url(REDIS_URL, env_optional("CACHE_REDIS_URL"))
if CACHE_REDIS_URL:
    # Shared by every web process, so allauth's rate limits hold across processes. Fail-soft: with Redis
    # down, reads miss and pages come from the database (xhs/cache.py); short timeouts bound the wait.
    CACHES = {
        "default": {
            "BACKEND": "xhs.cache.FailSoftRedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
# A task that dies with its worker goes back to the queue (see shared/RELIABILITY.md).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task whose whole worker died comes back after the broker's visibility timeout: minutes, not hours.
# Time limits stay below it, so no task is delivered twice while running; every job is chunked into
# tasks far shorter than the limits (the longest, a full-scale invitation step, ~3 min; README, Celery).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 8 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 9 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 10 * 60),
    # kombu waits on the broker without limit by default: a Redis that stops answering with its connections
    # still open (hung, failing over, a dropped NAT flow) held every enqueue after a vote, and the readiness
    # probe, until gunicorn killed the worker. Above the worker's 1 s BRPOP, so an idle worker never times out.
    "socket_timeout": 3,
    "socket_connect_timeout": 3,
}
if not CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]:
    raise ImproperlyConfigured(
        "Set CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT: a task that outlives "
        "the visibility timeout is delivered again while it still runs."
    )
# A full run with no progress for this long is stalled: the sweep sends its unfinished categories again
# (ratings.tasks.sweep_stalled_runs). Longer than a redelivery plus a task's run, so the broker goes first.
_redelivered_and_run = CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + CELERY_TASK_TIME_LIMIT
JOB_STALLED_AFTER_SECONDS = env_int("JOB_STALLED_AFTER_SECONDS", _redelivered_and_run + 5 * 60)
if _redelivered_and_run >= JOB_STALLED_AFTER_SECONDS:
    raise ImproperlyConfigured(
        "Set JOB_STALLED_AFTER_SECONDS above CELERY_VISIBILITY_TIMEOUT + CELERY_TASK_TIME_LIMIT: a run is stalled "
        "only once a dead worker's task could have come back and finished."
    )
# The nightly jobs run on their own queue, "batch", so that an hour of re-screening never delays a vote's own
# screening or re-score (default queue, "celery"). Their follow-up tasks stay on the queue they came from
# (ratings.tasks._same_queue). Every worker consumes both queues, or a second worker takes "batch" (docker-compose.yml).
CELERY_TASK_ROUTES = {
    name: {"queue": "batch"}
    for name in (
        "ratings.tasks.run_eligibility",
        "ratings.tasks.run_category",
        "ratings.tasks.invite_run",
        "ratings.tasks.notify_invitations",
        "ratings.tasks.run_scoring",
        "ratings.tasks.score_category",
        "moderation.tasks.retrain_screener",
        "moderation.tasks.screen_all_votes",
        "moderation.tasks.screen_category",
    )
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat reads its schedule from the database, where staff edit it in the admin without a deploy; the
# initial schedule is declared once, in ratings/migrations/0006_periodic_tasks.py.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# There is no result backend, so nothing to clean up (beat would otherwise add a cleanup job of its own).
CELERY_RESULT_EXPIRES = None

# --- Accounts ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, reading the signed-in account from the cache (accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# Confirming the address from the browser that signed up signs the person in: no second form to fill.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
# allauth's rate limits stay at their defaults (login_failed "10/m/ip,5/5m/key", ...).

# --- Open data: the monthly release of counted votes (ratings/open_data.py) --------------------------
# A product is released for a month only when at least this many people rated it that month (smaller
# cells are left out so that no rater can be singled out).
OPEN_DATA_MIN_RATERS = env_int("OPEN_DATA_MIN_RATERS", 5)
if OPEN_DATA_MIN_RATERS < 2:
    raise ImproperlyConfigured("OPEN_DATA_MIN_RATERS must be at least 2.")

# --- Public API (api/): caching and the per-client rate limit ----------------------------------------
# Seconds a client or a shared cache may reuse an API answer without asking again (ETags make asking cheap).
API_CACHE_SECONDS = env_int("API_CACHE_SECONDS", 60)
# Requests one client address may make per window of API_RATE_LIMIT_SECONDS; beyond, 429 with Retry-After.
API_RATE_LIMIT_REQUESTS = env_int("API_RATE_LIMIT_REQUESTS", 120)
API_RATE_LIMIT_SECONDS = env_int("API_RATE_LIMIT_SECONDS", 60)
if API_RATE_LIMIT_REQUESTS < 1 or API_RATE_LIMIT_SECONDS < 1 or API_CACHE_SECONDS < 0:
    raise ImproperlyConfigured(
        "API_RATE_LIMIT_REQUESTS and API_RATE_LIMIT_SECONDS must be at least 1, API_CACHE_SECONDS at least 0."
    )

# --- Email: console in development, SMTP from the environment in production ---------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="Little Red Heart <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_host = env_optional("EMAIL_HOST")
if _email_host:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email_host
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Languages: Chinese first, English second ----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- Static files: served from static/, never from a CDN -----------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# In development static files come from static/ through the finders; STATIC_ROOT exists only after
# collectstatic, which whitenoise would otherwise warn about on every start.
warnings.filterwarnings("ignore", message="No directory at")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Media: files the app writes for download (open-data releases) -------------------------------
# Written by the worker, served by the web process through a view (ratings.views.open_data_download): in
# docker-compose both mount the "media" volume here.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# --- Security: production passes `manage.py check --deploy` with no warnings -----------------------
# Every cookie: HTTPS only in production, and not sent on cross-site subrequests or posts (SameSite=Lax,
# Django's default, said here so no one loosens it unawares). The session and the messages (which follow
# the session's flags) are HttpOnly; the CSRF and language cookies stay readable by the pages' scripts.
SESSION_COOKIE_SECURE = not DEBUG
# Sessions live in PostgreSQL and are read from the cache (xhs/sessions.py): no query a signed-in page.
SESSION_ENGINE = "xhs.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# believed only from TRUSTED_PROXIES: xhs.client_address.UntrustedForwardingMiddleware drops it otherwise
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes (xhs/health.py) may ask over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Features the site never uses, denied to every page and anything it embeds.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
