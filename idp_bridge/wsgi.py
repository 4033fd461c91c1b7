import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idp_bridge.settings")
django_application = get_wsgi_application()

from idp_bridge.fastpath import MetadataResponseCache  # noqa: E402  (needs the settings loaded)

# Discovery and JWKS from a copy of Django's own recent answer (idp_bridge/fastpath.py).
application = MetadataResponseCache(django_application)
