#!/usr/bin/env bash
# Build the bbolt CLI (go.etcd.io/bbolt/cmd/bbolt) at a pinned version, for the opt-in tests
# that compare `wal-inspect db pages` / `db stats` with `bbolt pages` / `bbolt stats`.
#
#   scripts/install-bbolt.sh          build it (once) and print its path
#   scripts/install-bbolt.sh --print  print where it goes, build nothing
#
# Into ${WAL_INSPECT_BBOLT_CACHE:-$HOME/.cache/wal-inspect/bbolt}/<version>/bbolt, from a
# throwaway module that only requires go.etcd.io/bbolt (as scripts/install-etcd.sh builds
# etcd); needs go >= 1.26 and the Go module proxy. Nothing of bbolt's source enters the repo.
set -euo pipefail
VERSION=v1.4.3
cache=${WAL_INSPECT_BBOLT_CACHE:-$HOME/.cache/wal-inspect/bbolt}
dest=$cache/${VERSION#v}
if [ "${1:-}" = "--print" ]; then
  echo "$dest/bbolt"
  exit 0
fi
if [ -x "$dest/bbolt" ]; then
  echo "$dest/bbolt"
  exit 0
fi
command -v go >/dev/null || { echo "install-bbolt: go not found (Go >= 1.26 needed)" >&2; exit 1; }
build=$cache/.build/${VERSION#v}
rm -rf "$build"
mkdir -p "$build"
cd "$build"
cat > go.mod <<MOD
module wal-inspect-bbolt-cli

go 1.26

require go.etcd.io/bbolt $VERSION
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/bbolt/cmd/bbolt"
GO
go mod tidy >&2
CGO_ENABLED=0 go build -trimpath -o bbolt.tmp go.etcd.io/bbolt/cmd/bbolt >&2
./bbolt.tmp version | grep -q "Version: ${VERSION#v}" || { echo "install-bbolt: built binary is not $VERSION" >&2; exit 1; }
mkdir -p "$dest"
mv bbolt.tmp "$dest/bbolt"
echo "$dest/bbolt"
