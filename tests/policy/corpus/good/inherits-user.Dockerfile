# The final stage builds on a stage that already switched to a non-root user.
FROM docker.io/library/python:3.12-slim@sha256:4f3c5d2a9b8e7f6a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b AS base
RUN useradd -u 10001 app
USER app

FROM base AS final
COPY app.py /srv/app.py
CMD ["python", "/srv/app.py"]
