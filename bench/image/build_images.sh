#!/usr/bin/env bash
# Build the two benchmark images (cached under bench/out/, gitignored), as OCI layout and
# docker-archive each. Needs root, mmdebstrap (apt-get install mmdebstrap), host pip and npm.
#
#   bash bench/image/build_images.sh [small|large|all]
#
# small: Debian bookworm essential + python3 (~70 dpkg packages) + 5 pip packages, 2 layers.
# large: bookworm minbase + php-cli, composer, python3-venv, nodejs, npm, nginx, git ... (600+ dpkg
#        packages), a Composer vendor/ tree (installed.json generated from a real composer.lock,
#        since packagist is not reachable here), a Python venv (~40 dists, pip on the host),
#        a node_modules tree (npm on the host), and a top layer that purges nginx and deletes
#        PyYAML from the venv and one npm package. Deleted packages are listed in deleted.tsv.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="${BENCH_OUT:-$REPO/bench/out}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
MK="$PY $HERE/mkimage.py"
WHICH="${1:-all}"
export SOURCE_DATE_EPOCH=1700000000
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
EXTERNAL="${SUPPLYCHAIN_EXTERNAL:-$REPO/../shared/external}"
mkdir -p "$OUT"
if ! command -v mmdebstrap >/dev/null && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian mmdebstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing: apt-get install mmdebstrap (as root)" >&2; exit 2; }

pip_into() {  # pip_into TARGET_SITE_PACKAGES pkgs...
  local target="$1"; shift
  "$PY" -m pip install -q --no-compile --target "$target" --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --python-version 3.11 \
    --implementation cp --abi cp311 "$@"
}

debootstrap_dir() {  # debootstrap_dir DIR VARIANT INCLUDE
  rm -rf "$1"; mkdir -p "$1"
  mmdebstrap --mode=root --variant="$2" ${3:+--include="$3"} \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
    bookworm "$1" "$MIRROR" >"$1.log" 2>&1 || { tail -30 "$1.log" >&2; exit 1; }
}

build_small() {
  local W="$OUT/small.work" ROOT="$OUT/small.work/root"
  [ -f "$OUT/small.docker.tar" ] && [ -d "$OUT/small.oci" ] && { echo "small: cached"; return; }
  mkdir -p "$W"
  debootstrap_dir "$ROOT" essential "python3"
  tar -C "$ROOT" --sort=name --numeric-owner -cf "$W/layer1.tar" .
  $MK snapshot "$ROOT" "$W/snap1.json"
  pip_into "$ROOT/usr/local/lib/python3.11/dist-packages" requests==2.32.3 urllib3==2.2.3 idna==3.10 \
    certifi==2024.8.30 charset-normalizer==3.4.0
  $MK layer "$ROOT" "$W/snap1.json" "$W/layer2.tar"
  $MK dpkg-list "$ROOT" "$OUT/small.dpkg.tsv"
  : > "$OUT/small.deleted.tsv"
  rm -rf "$OUT/small.oci"
  $MK assemble --name bench/small --tag v1 --oci "$OUT/small.oci" --docker-archive "$OUT/small.docker.tar" \
    "$W/layer1.tar" "$W/layer2.tar"
  rm -rf "$W"
  echo "small: done"
}

build_large() {
  local W="$OUT/large.work" ROOT="$OUT/large.work/root"
  [ -f "$OUT/large.docker.tar" ] && [ -d "$OUT/large.oci" ] && { echo "large: cached"; return; }
  mkdir -p "$W"
  debootstrap_dir "$ROOT" minbase \
    "php-cli,composer,php-mbstring,php-xml,php-curl,php-intl,php-gd,php-sqlite3,php-zip,python3,python3-venv,python3-dev,python3-yaml,nodejs,npm,nginx,git,curl,ca-certificates,openssh-client,less,vim-tiny,procps,imagemagick,build-essential,default-jre-headless"
  tar -C "$ROOT" --sort=name --numeric-owner -cf "$W/layer1.tar" .
  $MK snapshot "$ROOT" "$W/snap1.json"
  # application layer: Python venv, node_modules, PHP vendor/
  chroot "$ROOT" python3 -m venv --without-pip /opt/venv
  pip_into "$ROOT/opt/venv/lib/python3.11/site-packages" flask==3.0.3 requests==2.32.3 PyYAML==6.0.2 \
    jinja2==3.1.4 sqlalchemy==2.0.36 pydantic==2.9.2 boto3==1.35.50 numpy==2.1.2 rich==13.9.3 \
    click==8.1.7 httpx==0.27.2 attrs==24.2.0 packaging==24.1 python-dateutil==2.9.0.post0
  mkdir -p "$ROOT/app"
  ( cd "$ROOT/app" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts -q \
      express@4.21.1 lodash@4.17.21 axios@1.7.7 react@18.3.1 react-dom@18.3.1 webpack@5.95.0 \
      left-pad@1.3.0 chalk@4.1.2 >/dev/null )
  $MK installed-json "$EXTERNAL/composer/real-world/bookstack/composer.lock" "$ROOT/app/vendor"
  $MK layer "$ROOT" "$W/snap1.json" "$W/layer2.tar"
  $MK dpkg-list "$ROOT" "$W/before.tsv"
  $MK snapshot "$ROOT" "$W/snap2.json"
  # top layer: delete packages
  chroot "$ROOT" dpkg --purge nginx nginx-common >/dev/null 2>&1 || chroot "$ROOT" dpkg --purge --force-depends nginx nginx-common
  rm -rf "$ROOT"/opt/venv/lib/python3.11/site-packages/yaml "$ROOT"/opt/venv/lib/python3.11/site-packages/_yaml \
    "$ROOT"/opt/venv/lib/python3.11/site-packages/PyYAML-*.dist-info
  rm -rf "$ROOT/app/node_modules/left-pad"
  $MK layer "$ROOT" "$W/snap2.json" "$W/layer3.tar"
  $MK dpkg-list "$ROOT" "$OUT/large.dpkg.tsv"
  {
    comm -23 "$W/before.tsv" "$OUT/large.dpkg.tsv" | sed 's/^/deb\t/'
    printf 'pypi\tPyYAML\t6.0.2\nnpm\tleft-pad\t1.3.0\n'
  } > "$OUT/large.deleted.tsv"
  rm -rf "$OUT/large.oci"
  $MK assemble --name bench/large --tag v1 --oci "$OUT/large.oci" --docker-archive "$OUT/large.docker.tar" \
    "$W/layer1.tar" "$W/layer2.tar" "$W/layer3.tar"
  rm -rf "$W"
  echo "large: done"
}

case "$WHICH" in
  small) build_small ;;
  large) build_large ;;
  all) build_small; build_large ;;
  *) echo "usage: $0 [small|large|all]" >&2; exit 2 ;;
esac
du -sh "$OUT"/*.oci "$OUT"/*.docker.tar 2>/dev/null || true
