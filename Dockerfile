# idp-bridge: the bridge under gunicorn, as an unprivileged user. docker-compose.yml adds PostgreSQL
# and the TLS proxy; bin/entrypoint checks the settings and migrates at every start.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BRIDGE_STATE_DIR=/srv/idp-bridge/var \
    BIND=0.0.0.0:8000
WORKDIR /srv/idp-bridge
COPY pyproject.toml constraints.txt README.md ./
COPY idp_bridge idp_bridge
COPY accounts accounts
COPY oidc oidc
COPY audit audit
COPY templates templates
COPY locale locale
COPY bin bin
COPY manage.py ./
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --home-dir /srv/idp-bridge --no-create-home --uid 10001 --user-group bridge \
 && mkdir -p var tls \
 && chown bridge:bridge var tls \
 && chmod 0700 var tls
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
ENTRYPOINT ["bin/entrypoint"]
CMD ["serve"]
