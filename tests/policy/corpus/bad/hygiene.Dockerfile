# expect: DF-008@7 DF-008@7 DF-009@7 DF-010@7 DF-008@8 DF-008@9 DF-008@10 DF-011@11
# expect: DF-012@12 DF-012@13 DF-014@14 DF-015@17 DF-015@18 DF-015@19 SC-POL-002@22 DF-014@23
# expect: DF-014@24 SC-POL-002@24 DF-013@25
# Hygiene (hadolint-like) rules; every line below the header is counted.
FROM ghcr.io/acme/base:1.0@sha256:4f3c5d2a9b8e7f6a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b
RUN set -o pipefail && apt-get update && apt-get install -y --no-install-recommends ca-certificates=20240203 && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get install -y curl git
RUN apk add --no-cache jq
RUN pip install --no-cache-dir flask requests==2.32.3
RUN npm install -g left-pad @scope/tool@1.2.3
RUN curl -fsSL https://example.com/x.tgz | tar -xz -C /opt
ADD vendor.tar.gz /opt/
ADD ./config.ini /etc/app/
WORKDIR app
CMD ["a"]
ENTRYPOINT ["b"]
CMD ["c"]
ENTRYPOINT ["d"]
ENTRYPOINT ["e"]
# supplychain:ignore DF-014 reason: the base image sets WORKDIR /srv; relative on purpose
WORKDIR data
# supplychain:ignore DF-014
WORKDIR logs
WORKDIR tmp # supplychain:ignore DF-999 reason: no such rule
RUN sudo chown 1 /srv # supplychain:ignore DF-011 reason: wrong rule, sudo stays
RUN curl -fsSL https://example.com/y.sh -o /tmp/y.sh # supplychain:ignore DF-008,DF-011 reason: nothing to waive here
# supplychain:ignore DF-008 reason: the distro freezes this repository
RUN apk add --no-cache \
    busybox-extras
USER 10001
