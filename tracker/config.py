"""Settings, read from the environment (12-factor) into one plain dict.

Three modes, chosen by ``TRACKER_ENV``: ``development`` (the default; ``make run``), ``testing`` and
``production``. Production refuses to start without ``SECRET_KEY``, without ``TRACKER_BASE_URL`` (the public
address links in e-mails point at) and with per-process rate-limit counters it cannot trust; development
generates a secret key into the instance folder so sessions survive restarts. App settings carry a ``TRACKER_``
prefix.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODES = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """The environment does not describe a deployment we can run safely."""


def normalize_database_url(url: str) -> str:
    """Point plain ``postgres://`` URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(env: Mapping[str, str], mode: str, instance_path: Path) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        if mode == "production" and len(key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production.")
        return key
    if mode == "production":
        raise ConfigError("SECRET_KEY is not set; production refuses to start without it.")
    if mode == "testing":
        return secrets.token_hex(32)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}.") from exc


def _base_url(env: Mapping[str, str], mode: str) -> str:
    """The public address of the app (``scheme://host[:port][/prefix]``): every link that leaves it is built on it.

    ``TRACKER_PUBLIC_URL`` is the older name of the same setting. Development and tests default to the address
    ``make run`` serves (``http://127.0.0.1:$PORT``); production must say it, over https.
    """
    raw = (env.get("TRACKER_BASE_URL") or env.get("TRACKER_PUBLIC_URL") or "").strip()
    if not raw:
        if mode == "production":
            raise ConfigError("TRACKER_BASE_URL is not set; production refuses to start without the public address "
                              "that links in e-mails point at (e.g. https://tracker.clinic.example).")
        raw = f"http://127.0.0.1:{_int(env, 'PORT', 5000)}"
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ConfigError(f"TRACKER_BASE_URL has an invalid port: {raw!r}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ConfigError(f"TRACKER_BASE_URL must look like https://tracker.clinic.example[/prefix], got {raw!r}.")
    if mode == "production" and parts.scheme != "https":
        raise ConfigError("TRACKER_BASE_URL must use https in production: reset and invitation links carry secrets.")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _proxy_hops(env: Mapping[str, str]) -> int:
    hops = _int(env, "TRACKER_PROXY_HOPS", 0)
    if not 0 <= hops <= 5:
        raise ConfigError(f"TRACKER_PROXY_HOPS is the number of reverse proxies in front of the app (0-5), got {hops}.")
    return hops


def _list(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip().lower() for item in env.get(name, "").split(",") if item.strip()]


def _ratelimit_storage(env: Mapping[str, str], mode: str) -> str:
    """Where rate-limit and sign-in counters live. ``memory://`` counts per process: with several processes each
    keeps its own count, so production must name the store, and may name ``memory://`` only for one process."""
    uri = env.get("TRACKER_RATELIMIT_STORAGE_URI", "").strip()
    if mode != "production":
        return uri or "memory://"
    if not uri:
        raise ConfigError("TRACKER_RATELIMIT_STORAGE_URI is not set: in production name the store the sign-in and "
                          "rate-limit counters share (e.g. redis://127.0.0.1:6379/1), or memory:// when exactly one "
                          "process serves the app.")
    if uri.startswith("memory://"):
        workers = _int(env, "WEB_CONCURRENCY", 1)
        if workers > 1 or _gunicorn_workers(env.get("GUNICORN_CMD_ARGS", "")) > 1:
            raise ConfigError("TRACKER_RATELIMIT_STORAGE_URI=memory:// keeps counters per process, but this "
                              "deployment runs several (WEB_CONCURRENCY / GUNICORN_CMD_ARGS): each would allow the "
                              "full number of sign-in attempts. Use a shared store such as redis://.")
    return uri


def _gunicorn_workers(args: str) -> int:
    """The worker count in GUNICORN_CMD_ARGS (``-w 4``, ``--workers=4``), 1 when it names none."""
    words = args.replace("=", " ").split()
    for flag, value in zip(words, words[1:]):
        if flag in ("-w", "--workers") and value.isdigit():
            return int(value)
    for word in words:
        if word.startswith("-w") and word[2:].isdigit():
            return int(word[2:])
    return 1


def load_config(env: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """Translate the environment into Flask settings."""
    mode = env.get("TRACKER_ENV", "development")
    if mode not in MODES:
        raise ConfigError(f"TRACKER_ENV must be one of {', '.join(MODES)}, got {mode!r}.")
    production = mode == "production"
    default_db = f"sqlite:///{instance_path / 'tracker.db'}"
    max_upload_mb = _int(env, "TRACKER_MAX_UPLOAD_MB", 30)
    return {
        "TRACKER_ENV": mode,
        "TESTING": mode == "testing",
        "SECRET_KEY": _secret_key(env, mode, instance_path),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(env.get("DATABASE_URL") or default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TRACKER_UPLOAD_DIR": env.get("TRACKER_UPLOAD_DIR") or str(PROJECT_ROOT / "uploads"),
        "TRACKER_STORAGE": env.get("TRACKER_STORAGE", "local"),
        "TRACKER_S3_BUCKET": env.get("TRACKER_S3_BUCKET", ""),
        "TRACKER_S3_ENDPOINT_URL": env.get("TRACKER_S3_ENDPOINT_URL", ""),
        "TRACKER_S3_REGION": env.get("TRACKER_S3_REGION", "us-east-1"),
        "REDIS_URL": env.get("REDIS_URL", ""),
        "TRACKER_MAX_UPLOAD_MB": max_upload_mb,
        "TRACKER_MAX_PIXELS": _int(env, "TRACKER_MAX_PIXELS", 60_000_000),
        # Originals kept per patient record (ASVS 5.2.4); 0 turns the quota off.
        "TRACKER_PATIENT_QUOTA_BYTES": _int(env, "TRACKER_PATIENT_QUOTA_MB", 2048) * 1024 * 1024,
        # The request body may carry a multipart envelope around the largest allowed photo.
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024 + 64 * 1024,
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "TRACKER_MAIL_BACKEND": env.get("TRACKER_MAIL_BACKEND", "file"),
        "TRACKER_MAIL_FROM": env.get("TRACKER_MAIL_FROM", "no-reply@tracker.invalid"),
        "TRACKER_SMTP_HOST": env.get("TRACKER_SMTP_HOST", "localhost"),
        "TRACKER_SMTP_PORT": _int(env, "TRACKER_SMTP_PORT", 25),
        "TRACKER_BASE_URL": _base_url(env, mode),
        # Host names requests may carry besides the base URL's (comma-separated; see tracker/request_guard.py).
        "TRACKER_TRUSTED_HOSTS": _list(env, "TRACKER_TRUSTED_HOSTS"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Prefix are believed (0: none).
        "TRACKER_PROXY_HOPS": _proxy_hops(env),
        "TRACKER_INVITATION_DAYS": _int(env, "TRACKER_INVITATION_DAYS", 7),
        "TRACKER_RESET_MINUTES": _int(env, "TRACKER_RESET_MINUTES", 30),
        "TRACKER_API_TOKEN_HOURS": _int(env, "TRACKER_API_TOKEN_HOURS", 12),
        "TRACKER_PAGE_SIZE": _int(env, "TRACKER_PAGE_SIZE", 20),
        # Staff sessions end after idle and absolute limits (HIPAA automatic logoff).
        "TRACKER_IDLE_MINUTES": _int(env, "TRACKER_IDLE_MINUTES", 30),
        "TRACKER_ABSOLUTE_HOURS": _int(env, "TRACKER_ABSOLUTE_HOURS", 12),
        "TRACKER_REAUTH_MINUTES": _int(env, "TRACKER_REAUTH_MINUTES", 15),
        "TRACKER_PASSWORD_HASH": env.get("TRACKER_PASSWORD_HASH", "argon2id"),
        "RATELIMIT_STORAGE_URI": _ratelimit_storage(env, mode),
        "RATELIMIT_HEADERS_ENABLED": True,
        "TRACKER_LOGIN_LIMIT": env.get("TRACKER_LOGIN_LIMIT", "10 per minute;50 per hour"),
        "TRACKER_ACCOUNT_LIMIT": env.get("TRACKER_ACCOUNT_LIMIT", "5 per 5 minutes;20 per hour"),
        "TRACKER_UPLOAD_LIMIT": env.get("TRACKER_UPLOAD_LIMIT", "60 per minute;600 per hour"),
        "SESSION_COOKIE_NAME": "__Host-tracker" if production else "tracker",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_NAME": "__Host-tracker-remember" if production else "tracker-remember",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int(env, "TRACKER_ABSOLUTE_HOURS", 12)),
        "WTF_CSRF_TIME_LIMIT": 3600,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "TRACKER_HSTS": production,
        "TRACKER_DEMO_ALLOWED": not production,
    }
