FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BRIDGE_STATE_DIR=/srv/idp-bridge/var
WORKDIR /srv/idp-bridge
COPY pyproject.toml constraints.txt README.md ./
COPY idp_bridge idp_bridge
COPY accounts accounts
COPY oidc oidc
COPY audit audit
COPY templates templates
COPY bin bin
COPY manage.py ./
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --home /srv/idp-bridge --uid 10001 bridge \
 && mkdir -p var && chown bridge var
USER bridge
EXPOSE 8000
ENTRYPOINT ["bin/entrypoint"]
