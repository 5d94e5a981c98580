"""Settings for the test suite: the same as production shape, with fast hashing and eager tasks.

DATABASE_URL / REDIS_URL decide which real services the suite runs against (CI sets both); tests
that need an absent service skip with a reason (see tests/conftest.py).
"""

from xhs.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks inline; integration tests that need a real worker start one themselves.
CELERY_TASK_ALWAYS_EAGER = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# The suite clears the cache between tests; a shared Redis would lose other users' keys (and queued
# tasks on the same database), so tests cache in-process. tests/test_services.py covers the Redis cache.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Live-server request threads would otherwise keep their persistent connections open past the
# session and block dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The read replica's alias as Django's test mirror of the primary (same test database, its own connection), so
# tests/test_db_router.py can turn on the router and its middleware; off here, every other test reads "default".
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
    DATABASE_ROUTERS = []
    MIDDLEWARE = [name for name in MIDDLEWARE if name != "xhs.db_router.PublicReadsMiddleware"]  # noqa: F405
