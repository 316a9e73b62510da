"""Settings come from environment variables with safe defaults for one machine (the embedded mode)."""

import ipaddress
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("TOUCHPOINT_VAR", Path.cwd() / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # Embedded mode: a random key made once per install and kept under var/, never in the repo.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _bool("DEBUG", False)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "ninja",  # serves the API docs' assets locally instead of from a CDN
    "django_tasks",
    "django_tasks_db",
    "axes",
    "touchpoint.core",
    "touchpoint.accounts",
    "touchpoint.customers",
    "touchpoint.conversations",
    "touchpoint.channels",
    "touchpoint.channels.email",
    "touchpoint.channels.webchat",
    "touchpoint.routing",
    "touchpoint.automation",
    "touchpoint.bot",
    "touchpoint.knowledge",
    "touchpoint.commerce",
    "touchpoint.realtime",
    "touchpoint.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "touchpoint.web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "touchpoint.urls"
ASGI_APPLICATION = "touchpoint.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# ---- database: SQLite (WAL) by default, PostgreSQL through DATABASE_URL ----
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    # Test databases are named per process, so two test runs against one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "touchpoint.sqlite3",
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock up
                # front so two writers queue instead of failing on a lock upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Kept open, as for PostgreSQL: the sockets' database calls would otherwise open a new
            # connection (and rerun the PRAGMAs) for every message.
            "CONN_MAX_AGE": 60,
            # Tests use a file, not the shared-cache in-memory database: shared cache locks whole
            # tables without waiting, so a live server's threads failed with "table is locked".
            "TEST": {"NAME": str(VAR_DIR / f"test_{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---- real time and caching: in-process by default, Redis through REDIS_URL ----
REDIS_URL = os.environ.get("REDIS_URL", "")
# A socket's queue holds this many events before the layer drops new ones (Channels' default, 100, is
# one busy second for an agent socket under a burst of widget messages).
CHANNEL_CAPACITY = int(os.environ.get("CHANNEL_CAPACITY", 2000))
# Connections each process may open to Redis for the channel layer. redis-py's default, 100, failed a
# burst of a thousand chats opening at once (each joins its group) instead of waiting for a connection.
REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", 1000))
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [{"address": REDIS_URL, "max_connections": REDIS_MAX_CONNECTIONS}],
                                             "capacity": CHANNEL_CAPACITY}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "touchpoint.realtime.layers.InMemoryChannelLayer",
                                  "CONFIG": {"capacity": CHANNEL_CAPACITY}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ---- background work: durable in the database ----
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# ---- sessions, login, security ----
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 8 * 3600))  # a working day
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _bool("SECURE_COOKIES", False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sign-in limits (touchpoint.accounts.login_limits): failures per account-and-address pair, per
# address, and the window they count in (a lock lasts that long).
LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", 5))
LOGIN_LOCKOUT_ADDRESS_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_ADDRESS_FAILURES", 20))
LOGIN_LOCKOUT_WINDOW_S = int(os.environ.get("LOGIN_LOCKOUT_WINDOW_S", 15 * 60))
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "touchpoint.accounts.login_limits.LoginLimits"
AXES_LOCKOUT_PARAMETERS = "touchpoint.accounts.login_limits.lockout_parameters"
AXES_FAILURE_LIMIT = "touchpoint.accounts.login_limits.failure_limit"
AXES_COOLOFF_TIME = "touchpoint.accounts.login_limits.window"
AXES_CLIENT_IP_CALLABLE = "touchpoint.accounts.login_limits.client_address"
AXES_RESET_ON_SUCCESS = True  # for the pair only: see LoginLimits.reset_user_attempts
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a lock ends one window after it began
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# The login view turns a lock into its own page (429), so Axes' middleware, which would, is not used.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# How long the link in an invitation works; a Resend mails a new link and starts the time again.
INVITATION_TTL_S = int(os.environ.get("INVITATION_TTL_S", 7 * 24 * 3600))

# ---- conversations ----
REOPEN_WINDOW_S = int(os.environ.get("REOPEN_WINDOW_S", 3 * 24 * 3600))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024))
ATTACHMENT_CONTENT_TYPES = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv",
    "application/zip", "application/msword", "audio/mpeg", "audio/wav", "video/mp4",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# ---- wallboard: T of the service level ("answered within T"), per kind of work ----
SERVICE_LEVEL_TARGET_S = {
    "voice": int(os.environ.get("SERVICE_LEVEL_VOICE_S", 20)),
    "chat": int(os.environ.get("SERVICE_LEVEL_CHAT_S", 20)),
    "message": int(os.environ.get("SERVICE_LEVEL_MESSAGE_S", 4 * 3600)),
}

# ---- web chat widget: limits per visitor, per client address and per widget, per minute (counted in the
# cache, so shared by every process with Redis). A visitor id is the visitor's own choice: the address
# and widget limits are the ones a script cannot sidestep.
WIDGET_MESSAGES_PER_MINUTE = int(os.environ.get("WIDGET_MESSAGES_PER_MINUTE", 20))
WIDGET_MAX_MESSAGE_CHARS = int(os.environ.get("WIDGET_MAX_MESSAGE_CHARS", 5000))
WIDGET_UPLOADS_PER_MINUTE = int(os.environ.get("WIDGET_UPLOADS_PER_MINUTE", 10))
WIDGET_UPLOAD_MAX_BYTES = min(ATTACHMENT_MAX_BYTES, int(os.environ.get("WIDGET_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)))
WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS = int(os.environ.get("WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS", 120))
WIDGET_MESSAGES_PER_MINUTE_PER_WIDGET = int(os.environ.get("WIDGET_MESSAGES_PER_MINUTE_PER_WIDGET", 12000))
WIDGET_UPLOADS_PER_MINUTE_PER_ADDRESS = int(os.environ.get("WIDGET_UPLOADS_PER_MINUTE_PER_ADDRESS", 30))
WIDGET_UPLOADS_PER_MINUTE_PER_WIDGET = int(os.environ.get("WIDGET_UPLOADS_PER_MINUTE_PER_WIDGET", 1200))
# Sockets opened (each `hello`) and customer records made for new visitors (first message, away form, sign-in).
WIDGET_SESSIONS_PER_MINUTE_PER_ADDRESS = int(os.environ.get("WIDGET_SESSIONS_PER_MINUTE_PER_ADDRESS", 60))
WIDGET_SESSIONS_PER_MINUTE_PER_WIDGET = int(os.environ.get("WIDGET_SESSIONS_PER_MINUTE_PER_WIDGET", 12000))
WIDGET_NEW_VISITORS_PER_MINUTE_PER_ADDRESS = int(os.environ.get("WIDGET_NEW_VISITORS_PER_MINUTE_PER_ADDRESS", 20))
WIDGET_NEW_VISITORS_PER_MINUTE_PER_WIDGET = int(os.environ.get("WIDGET_NEW_VISITORS_PER_MINUTE_PER_WIDGET", 3000))
# The reverse proxies in front of Touchpoint (addresses or networks, comma-separated): only from these is
# X-Forwarded-For believed about who the client is. Empty: every peer is the client itself.
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()]
for _proxy in TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo stops the start, not the first forwarded request

# ---- email: outgoing through SMTP, incoming through `touchpoint smtpd`, IMAP polling or a webhook ----
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 30))  # Django's default waits forever on a stuck relay
# The sender of the desk's own mail (invitations) in a workspace without an email account of its own.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Touchpoint <touchpoint@localhost>")
# A whole incoming mail, as sent (base64 makes a 25 MB attachment about 34 MB); larger is refused (552).
EMAIL_MAX_MESSAGE_BYTES = int(os.environ.get("EMAIL_MAX_MESSAGE_BYTES", 50 * 1024 * 1024))
EMAIL_MAX_PARTS = int(os.environ.get("EMAIL_MAX_PARTS", 100))
# How long an incoming mail may wait for a database lock before the sender is told to retry (451).
EMAIL_INGEST_LOCK_TIMEOUT_S = float(os.environ.get("EMAIL_INGEST_LOCK_TIMEOUT_S", 20))
SMTPD_HOST = os.environ.get("SMTPD_HOST", "127.0.0.1")
SMTPD_PORT = int(os.environ.get("SMTPD_PORT", 2525))
SMTPD_TLS_CERT = os.environ.get("SMTPD_TLS_CERT", "")  # both set: the SMTP server offers STARTTLS
SMTPD_TLS_KEY = os.environ.get("SMTPD_TLS_KEY", "")

# ---- channels: phone numbers ----
# The address providers reach this desk at (e.g. https://desk.example.com). Twilio signs the exact
# URL it calls, so behind a proxy this must be the public one; it also builds the status-callback
# URL sent with each SMS. Empty: each webhook's own request address is used, and no callback is sent.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
TWILIO_TIMEOUT_S = float(os.environ.get("TWILIO_TIMEOUT_S", 15))

# ---- static and media ----
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders; it only warns when this is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
