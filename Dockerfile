# The image `docker compose up` builds: the wheel of this project (the same one
# tests/helpline/test_package.py builds and starts), with flows/ and locales/
# beside it in /app, the working directory. Update the pinned base deliberately.
FROM python:3.12.12-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handoff ./handoff
COPY helpline ./helpline
# A non-editable install, then the sources go: the app runs from site-packages only.
RUN pip install --no-cache-dir . && rm -rf bot handoff helpline build
COPY flows ./flows
COPY locales ./locales
RUN useradd --system --uid 10001 --home-dir /data helpline \
    && mkdir -p /data && chown helpline /data && chmod 0700 /data
ENV HELPLINE_HOST=0.0.0.0 HELPLINE_DATA_DIR=/data PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080
USER helpline
# `helpline run` stops cleanly on SIGTERM; compose gives it stop_grace_period.
STOPSIGNAL SIGTERM
CMD ["helpline", "run"]
