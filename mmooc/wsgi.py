"""WSGI entry point: `gunicorn mmooc.wsgi` in production.

The configuration checks run first, as they do before `mmooc serve`, `worker` and `lmtp`:
a web process refuses to start with a configuration that cannot work (PostgreSQL without
a shared SECRET_KEY, a provider without its key, …), naming each problem.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmooc.settings")
application = get_wsgi_application()


def _refuse_what_cannot_work() -> None:
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured

    errors = [m for m in checks.run_checks() if m.is_serious() and not m.is_silenced()]
    if errors:
        raise ImproperlyConfigured("the configuration cannot work:\n" + "\n".join(str(e) for e in errors))


_refuse_what_cannot_work()
