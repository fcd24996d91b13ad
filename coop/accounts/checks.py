"""System checks for logging in: allauth counts failed logins in the cache."""

from django.conf import settings
from django.core.checks import Error, Tags, register

# The caches settings.py offers that every gunicorn worker and Celery process reads alike, so a
# login limit counts them all. Not the file cache: each container has its own files, and it
# counts without a lock.
SHARED_CACHES = frozenset(
    {
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.db.DatabaseCache",
    }
)


@register(Tags.caches, Tags.security)
def check_cache_is_shared(app_configs=None, **kwargs):
    """With DEBUG off the cache must be shared: a cache per process lets an attacker try as
    many passwords as allauth's limit allows, times the number of workers."""
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in SHARED_CACHES:
        return []
    return [
        Error(
            f"The default cache ({backend or 'none'}) is not shared between processes, so the "
            "login rate limits count per process.",
            hint="Set REDIS_URL (the cache then uses Redis), or set CACHE_BACKEND=database and "
            "run `manage.py createcachetable` once.",
            id="accounts.E001",
        )
    ]
