"""WSGI entry point: `gunicorn mmooc.wsgi` in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmooc.settings")
application = get_wsgi_application()
