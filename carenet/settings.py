"""The one settings file. Everything that differs between machines comes from the environment.

Demo mode (CARENET_DEMO=1) is the only place safe defaults exist: outside it a missing secret
stops the process at start-up instead of running with a guessable key.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("CARENET_VAR_DIR", PROJECT_DIR / "var"))


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0/true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def envsecret(name: str, demo_default: str | None) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if DEMO and demo_default is not None:
        return demo_default
    raise ImproperlyConfigured(f"{name} is not set; it is required outside demo mode (CARENET_DEMO=1)")


DEMO = envbool("CARENET_DEMO", False)
DEBUG = envbool("CARENET_DEBUG", False)

SECRET_KEY = envsecret("SECRET_KEY", "carenet-demo-only-secret-key-never-use-in-production-0123456789")
# The key that encrypts ID numbers and bank accounts. Deliberately separate from SECRET_KEY and never
# stored in the database; in demo mode it is generated once into var/field.key (see core.crypto).
FIELD_ENCRYPTION_KEY = os.environ.get("CARENET_FIELD_KEY", "")
FIELD_KEY_FILE = VAR_DIR / "field.key"
if not FIELD_ENCRYPTION_KEY and not DEMO:
    raise ImproperlyConfigured("CARENET_FIELD_KEY is not set; it is required outside demo mode")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
if DEMO or DEBUG:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Where screening runs execute: thread (in the web process; nothing else to run), worker (`carenet screen
# worker`), inline (in the caller: tests).
SCREENING_RUNNER = os.environ.get("CARENET_SCREENING_RUNNER", "thread")
# A saved linkage model for screening (`carenet link --save-model`); empty: one learnt from synthetic data.
LINKAGE_MODEL = os.environ.get("CARENET_LINKAGE_MODEL", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves its bundled Swagger UI for /api/v1/docs (no CDN)
    "carenet.core",
    "carenet.accounts",
    "carenet.registry",
    "carenet.audit",
    "carenet.visits",
    "carenet.problems",
    "carenet.benefits",
    "carenet.linkage",  # only for `carenet link`: the linkage modules do not import Django
    "carenet.screening",
    "carenet.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "carenet.core.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "carenet.urls"
WSGI_APPLICATION = "carenet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "carenet.web.context.carenet",
                "carenet.problems.context.unread_notifications",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'carenet.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while a long job writes; a busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests get a file too, not Django's shared-cache in-memory database: there, a second connection's write
    # fails at once ("table is locked") instead of waiting, so the tests of concurrent writers (threads,
    # each with its own connection) could not run on SQLite.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# The hot paths' hand-written statements (core.rawsql) are prepared once per PostgreSQL connection: planning
# them was a third of the database's work for each posted visit. Django's own queries are never prepared (they
# bind parameters client-side); behind PgBouncer in transaction pooling before 1.21 set
# CARENET_DB_PREPARED_STATEMENTS=0.
DB_PREPARED_STATEMENTS = envbool("CARENET_DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # psycopg prepares nothing on a connection whose threshold is None (Django's default), even when asked
    # to; a threshold no statement reaches lets rawsql prepare exactly the statements it asks for.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        2**31 - 1 if DB_PREPARED_STATEMENTS else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login lockout: per username, never per IP (directors share village Wi-Fi and mobile NAT).
LOGIN_MAX_FAILURES = envint("CARENET_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = envint("CARENET_LOGIN_LOCKOUT_MINUTES", 15)
# Inactivity timeout: the session expires this many minutes after the last request.
SESSION_COOKIE_AGE = envint("CARENET_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("CARENET_SECURE_COOKIES", not (DEMO or DEBUG))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
API_TOKEN_DAYS = envint("CARENET_API_TOKEN_DAYS", 30)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = Path(os.environ.get("CARENET_NODE_MODULES", PROJECT_DIR / "node_modules"))
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or DEMO
if WHITENOISE_USE_FINDERS:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
# Uploaded photos and documents are personal data: they live outside the static tree and are
# only ever served through a view that checks jurisdiction and writes an access record.
MEDIA_ROOT = Path(os.environ.get("CARENET_MEDIA_ROOT", VAR_DIR / "media"))
MAX_PHOTO_BYTES = envint("CARENET_MAX_PHOTO_KB", 2048) * 1024
MAX_DOCUMENT_BYTES = envint("CARENET_MAX_DOCUMENT_KB", 10240) * 1024
# Visit photos arrive base64-encoded in the visit's JSON (compressed on the phone first).
MAX_VISIT_PHOTO_BYTES = envint("CARENET_MAX_VISIT_PHOTO_KB", 600) * 1024
MAX_VISIT_PHOTOS = envint("CARENET_MAX_VISIT_PHOTOS", 4)
# How far back a visit may be dated (an offline phone may upload days later).
VISIT_MAX_AGE_DAYS = envint("CARENET_VISIT_MAX_AGE_DAYS", 90)
VISIT_DUE_SOON_DAYS = envint("CARENET_VISIT_DUE_SOON_DAYS", 7)
# Readers of the visit tally fold its appended changes in once this many have piled up (visits.tally).
VISIT_TALLY_COMPACT_ROWS = envint("CARENET_VISIT_TALLY_COMPACT_ROWS", 5000)
# Basic living allowance policy: paid through the month of the 18th birthday (1), or through the month
# before it (0).
PAY_THROUGH_18TH_BIRTHDAY_MONTH = envbool("CARENET_PAY_THROUGH_18TH_BIRTHDAY_MONTH", True)
# Days a problem's owner has to resolve it, by severity; past it the problem escalates one level up.
PROBLEM_DEADLINE_DAYS = {
    "critical": envint("CARENET_PROBLEM_DAYS_CRITICAL", 2),
    "serious": envint("CARENET_PROBLEM_DAYS_SERIOUS", 7),
    "general": envint("CARENET_PROBLEM_DAYS_GENERAL", 30),
}
# E-mail for urgent notifications: off unless CARENET_EMAIL_HOST is set (in-app notifications always work).
NOTIFY_EMAIL = {
    "backend": os.environ.get("CARENET_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
    "host": os.environ.get("CARENET_EMAIL_HOST", ""),
    "port": envint("CARENET_EMAIL_PORT", 25),
    "username": os.environ.get("CARENET_EMAIL_USER", ""),
    "password": os.environ.get("CARENET_EMAIL_PASSWORD", ""),
    "use_tls": envbool("CARENET_EMAIL_TLS", False),
    "from": os.environ.get("CARENET_EMAIL_FROM", "carenet@localhost"),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"


NINJA_PAGINATION_PER_PAGE = 20

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Never log request bodies or query strings: they can hold names and ID numbers.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CARENET_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}, "django.request": {"level": "ERROR"}},
}

SITE_NAME = _("carenet child care-and-protection network")
DEMO_PASSWORD = "carenet-demo"
