# syntax=docker/dockerfile:1
# Core Group Bot as a container: `docker compose up` (compose.yaml) runs it with PostgreSQL 16.
# Secrets come from the environment at run time (an env file), never from this image.

# --- build: a virtual environment with the bot and its PostgreSQL driver -----------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/coregroup
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY commands ./commands
COPY storage ./storage
# Every dependency ships wheels (psycopg[binary] included), so no compiler is needed here either.
# The exact versions CI tested (constraints.txt, frozen on the same Python minor as the base).
RUN /opt/coregroup/bin/pip install --no-compile -c constraints.txt '.[postgres]'

# --- run: the slim base, the virtual environment, a user without privileges --------------------
FROM python:3.11-slim-bookworm AS run
ENV PATH=/opt/coregroup/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/coregroup \
    PORT=3000
RUN groupadd --system --gid 10001 coregroup \
    && useradd --system --uid 10001 --gid coregroup --create-home --home-dir /home/coregroup coregroup
COPY --from=build /opt/coregroup /opt/coregroup
USER 10001:10001
WORKDIR /home/coregroup
# Slack's HTTP mode listens on PORT (3000), Teams on TEAMS_PORT (3978).
EXPOSE 3000 3978
# Liveness: GET /healthz on whichever port the configured platform serves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
# SIGTERM (docker stop) shuts the bot down gracefully: see docs/operations.md.
STOPSIGNAL SIGTERM
ENTRYPOINT ["coregroup"]
CMD ["run"]
