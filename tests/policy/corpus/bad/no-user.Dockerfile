# expect: SC-IMG-002@4 SC-IMG-003@4 DF-001@4 DF-006@5 DF-003@7
# No USER at all, `latest` pinned by digest is fine, but a separate FROM :latest is not.
FROM alpine:latest@sha256:4f3c5d2a9b8e7f6a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b AS tools
FROM alpine:latest AS final
RUN sh -c "$(curl -fsSL https://example.com/setup.sh)"
# legacy ENV form with a password
ENV MYSQL_ROOT_PASSWORD s3cr3t-Passw0rd
