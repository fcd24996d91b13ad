"""Settings come from the environment; see .env.example for every variable.

With nothing set, the app runs embedded: SQLite, Celery tasks run in-process, e-mail goes to the
console. DEBUG defaults to on only in that embedded mode's spirit; production sets DEBUG=0 and must
then give a SECRET_KEY and ALLOWED_HOSTS.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from coop.lib.env import env_bool, env_int, env_list, env_str, env_url
from coop.lib.urls import SITE_URL_DEFAULT

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-the-embedded-demo"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The site's address for links in e-mails, PDFs and letters (coop.lib.urls.site_url). Production
# must set it: `check --deploy` fails on the default or any localhost address (finance.E006).
SITE_URL = env_str("SITE_URL", SITE_URL_DEFAULT).rstrip("/") or SITE_URL_DEFAULT

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    # Bottom layer: accounts and the organisation itself, used by every app.
    "coop.accounts",
    "coop.core",
    # Domain apps.
    "members",
    "finance",
    # Top layer: pages that combine every domain.
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Before anything reads the body (sessions, CSRF): refuses one above COOP_MAX_REQUEST_BYTES.
    "coop.lib.request_limits.RequestSizeLimitMiddleware",
    # Everything after this runs inside the cooperative's scope (django-scopes).
    "coop.core.scoping.ScopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "coop.accounts.middleware.RequireMFAMiddleware",
]

ROOT_URLCONF = "coop.urls"
WSGI_APPLICATION = "coop.wsgi.application"

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
                "coop.accounts.context_processors.roles",
                "coop.core.context_processors.organisation",
                "reports.context_processors.outbox",
                "reports.context_processors.call_list",
            ],
        },
    },
]

# Database: PostgreSQL via DATABASE_URL, else an SQLite file for the embedded demo.
_database_url = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # JIT compiling costs about a second on the big dues and statement queries and saves
        # nothing; random_page_cost 1.1 tells the planner that index reads are cheap (SSDs), so
        # it looks up a postcode's members by key instead of scanning every member.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "options", "-c jit=off -c random_page_cost=1.1"
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA cache_size=-32000;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # ASVS level 2 (V2.1.1): at least 12 characters.
    {"NAME": "coop.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"

# django-allauth: e-mail login with verification, login by e-mailed code, TOTP with recovery codes.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SIGNUP_FORM_CLASS = "members.signup.MembershipSignupForm"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_ADAPTER = "coop.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "coop.accounts.forms.LoginForm"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("COOP_NAME", "Wijkcoop")
# Coordinators, treasurers and admins must use a second factor; the embedded demo may relax it.
COOP_REQUIRE_MFA = env_bool("COOP_REQUIRE_MFA", not DEBUG)

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Nederlands")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates day-first (31-12-2026), like the Dutch ones; see coop/formats/en/formats.py.
FORMAT_MODULE_PATH = ["coop.formats"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Request bodies. The largest upload is a bank statement (at most 25 MB); a larger body is refused
# unread (coop.lib.request_limits). Form fields stay small; an uploaded file above 2.5 MB is kept
# in a temporary file while it arrives, not in memory. The forms check their own file sizes.
COOP_MAX_REQUEST_BYTES = env_int("COOP_MAX_REQUEST_BYTES", 30 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 5

# Celery: a real worker on Redis when REDIS_URL is set, otherwise tasks run in-process.
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The cache holds allauth's login rate limits, so in production every process must share it:
# Redis, or a table in the database (`manage.py createcachetable` makes it). With DEBUG off a
# system check refuses a cache of one process (coop/accounts/checks.py).
CACHE_BACKEND = env_str("CACHE_BACKEND", "redis" if REDIS_URL else "local")
if CACHE_BACKEND == "redis":
    if not REDIS_URL:
        raise ImproperlyConfigured("CACHE_BACKEND=redis needs REDIS_URL.")
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
elif CACHE_BACKEND == "database":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "coop_cache",
        }
    }
elif CACHE_BACKEND == "local":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"CACHE_BACKEND must be redis, database or local, not {CACHE_BACKEND!r}."
    )

# E-mail: SMTP when EMAIL_HOST is set, otherwise printed to the console.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    # A hanging SMTP server must not hold a send past the outbox lease (below).
    EMAIL_TIMEOUT = 60
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    # Used by the file backend (django.core.mail.backends.filebased.EmailBackend): one file per e-mail.
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Wijkcoop <noreply@wijkcoop.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The outbox: a worker's claim on an e-mail lapses after this many seconds (a worker killed while
# sending), and the periodic requeue hands the e-mail to another worker.
OUTBOX_CLAIM_LEASE_SECONDS = env_int("OUTBOX_CLAIM_LEASE_SECONDS", 300)

# Production hardening; `manage.py check --deploy` passes with DEBUG=0.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "coop.core.views.csrf_failure"

# Content-Security-Policy: everything from our own origin, no inline script or style, never in a
# frame. form-action 'self' holds for redirects after a POST too (Chromium), so the one page that
# sends members on to the payment provider widens it for itself (finance.views.payments.invoice_pay).
_csp_report_uri = env_str("CSP_REPORT_URI")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the QR code allauth shows when a second factor is set up.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
        **({"report-uri": [_csp_report_uri]} if _csp_report_uri else {}),
    }
}
# Browser features the site never uses are switched off, for it and for anything it might embed.
PERMISSIONS_POLICY: dict[str, list[str]] = dict.fromkeys(
    [
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "gamepad",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "local-fonts",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-create",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ],
    [],
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# The demo payment provider and other offline stand-ins are allowed only in the demo.
COOP_DEMO = env_bool("COOP_DEMO", False)
COOP_MEMBER_LIST_PAGE_SIZE = env_int("COOP_MEMBER_LIST_PAGE_SIZE", 50)

# Finance: SEPA direct debit and online payments.
SEPA_CREDITOR_ID = env_str("SEPA_CREDITOR_ID", "NL79ZZZ999999990000")
SEPA_CREDITOR_NAME = env_str("SEPA_CREDITOR_NAME", "Wijkcoöperatie")
SEPA_CREDITOR_IBAN = env_str("SEPA_CREDITOR_IBAN", "NL91ABNA0417164300")
SEPA_CREDITOR_BIC = env_str("SEPA_CREDITOR_BIC", "ABNANL2A")
# pain.008.001.08 carries structured addresses (required since November 2026); .02 only lines.
SEPA_PAIN_VERSION = env_str("SEPA_PAIN_VERSION", "pain.008.001.08")
SEPA_PRENOTIFICATION_DAYS = env_int("SEPA_PRENOTIFICATION_DAYS", 14)
MOLLIE_API_KEY = env_str("MOLLIE_API_KEY")
# Without a Mollie key the demo provider takes payments; it refuses to run unless DEBUG or COOP_DEMO,
# and with DEBUG off `check --deploy` fails on it and on COOP_DEMO (finance/checks.py).
PAYMENT_PROVIDER = env_str("PAYMENT_PROVIDER", "mollie" if MOLLIE_API_KEY else "demo")
if PAYMENT_PROVIDER not in {"mollie", "demo"}:
    raise ImproperlyConfigured(
        f"PAYMENT_PROVIDER must be mollie or demo, not {PAYMENT_PROVIDER!r}."
    )
if PAYMENT_PROVIDER == "mollie" and not MOLLIE_API_KEY:
    raise ImproperlyConfigured("PAYMENT_PROVIDER=mollie needs MOLLIE_API_KEY.")
