# trialmon in a container: `trialmon daemon` as a non-root user; config and database on the
# /data volume (/data/config/trialmon/config.toml, /data/trialmon/history.db).
#   docker build -t trialmon .
#   docker run --rm -v trialmon-data:/data trialmon init
#   docker run --rm -v trialmon-data:/data trialmon watch add NCT06009107
#   docker run -d --name trialmon -v trialmon-data:/data trialmon
# or with compose.yaml: see README.md, "In a container".

FROM python:3.13-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    XDG_CONFIG_HOME=/data/config \
    XDG_DATA_HOME=/data \
    PATH=/opt/trialmon/bin:$PATH
COPY --from=build /wheels /wheels
RUN python -m venv /opt/trialmon \
    && /opt/trialmon/bin/pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home trialmon \
    && mkdir -p /data && chown trialmon:trialmon /data && chmod 0700 /data
USER trialmon
WORKDIR /data
VOLUME ["/data"]
# Unhealthy when the daemon is not running or its last cycle could check nothing.
HEALTHCHECK --interval=5m --timeout=30s --start-period=1m --retries=2 \
    CMD ["trialmon", "status", "--check"]
ENTRYPOINT ["trialmon"]
CMD ["daemon"]
