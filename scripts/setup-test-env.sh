#!/usr/bin/env bash
# Installs what the integration tests need beyond Python packages:
#  - Debian's docker-registry (distribution 2.8), a real OCI registry the tests start on 127.0.0.1
#  - Debian's skopeo, an independent OCI implementation for interop tests
#  - npm test helpers under tests/js (@sigstore/mock for a local Sigstore, @sigstore/verify as an
#    independent verifier)
# Run as root it installs with apt-get; otherwise it says what is missing and the tests that need
# it skip with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
# independent version-ordering references for tests/vuln: dpkg (always there), python3-apt,
# python3-rpm (rpm.labelCompare), PHP with Composer's own composer/semver
/usr/bin/python3 -c "import apt_pkg" >/dev/null 2>&1 || missing+=(python3-apt)
/usr/bin/python3 -c "import rpm" >/dev/null 2>&1 || missing+=(python3-rpm)
command -v php >/dev/null 2>&1 || missing+=(php-cli)
[ -f /usr/share/php/Composer/Semver/autoload.php ] || missing+=(php-composer-semver)
# real binaries and archives for the binary / Go / Java / Ruby catalogers (tests/image_sbom/realfiles.py)
for pkg in nginx-light redis-server busybox apache2-bin postgresql-client binutils libcommons-lang3-java \
           libcommons-cli-java libcommons-io-java ruby-rack ruby-rack-test; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: ${missing[*]} missing and not root: tests that need them will be skipped" >&2
    fi
fi

if [ -f tests/js/package.json ]; then
    if command -v npm >/dev/null 2>&1; then
        if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; then
            echo "setup: installing npm test helpers"
            (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
        fi
    else
        echo "setup: npm missing: interop tests will be skipped" >&2
    fi
fi
