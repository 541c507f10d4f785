FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handoff ./handoff
RUN pip install --no-cache-dir .
COPY flows ./flows
COPY locales ./locales
RUN useradd --system --uid 10001 --home-dir /data helpline && mkdir -p /data && chown helpline /data
ENV HELPLINE_HOST=0.0.0.0 HELPLINE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER helpline
CMD ["helpline", "run"]
