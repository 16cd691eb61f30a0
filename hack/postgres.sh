#!/usr/bin/env bash
# postgres.sh makes sure PostgreSQL's server binaries (initdb, postgres) and
# psql are installed and prints the directory holding them on stdout, for
# internal/pgtest. Everything else goes to stderr, so callers can write:
#
#   export SECRETSYNC_POSTGRES_BIN_DIR="$(hack/postgres.sh)"
#
# It looks where internal/pgtest does: $SECRETSYNC_POSTGRES_BIN_DIR, then
# the initdb on PATH, then the newest /usr/lib/postgresql/*/bin. When none
# has them it installs Debian's postgresql package with apt-get, which
# needs root; the tests start servers of their own and never use the one
# the package may set up.
set -euo pipefail

log() {
  echo "postgres: $*" >&2
}

has() {
  [[ -x "$1/initdb" && -x "$1/postgres" ]]
}

find_dir() {
  if [[ -n "${SECRETSYNC_POSTGRES_BIN_DIR:-}" ]]; then
    has "${SECRETSYNC_POSTGRES_BIN_DIR}" && echo "${SECRETSYNC_POSTGRES_BIN_DIR}"
    return
  fi
  local p d
  if p="$(command -v initdb)"; then
    d="$(dirname "$(readlink -f "${p}")")"
    if has "${d}"; then
      echo "${d}"
      return
    fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    if has "${d}"; then
      echo "${d}"
      return
    fi
  done
}

dir="$(find_dir || true)"
if [[ -z "${dir}" ]]; then
  if [[ -n "${SECRETSYNC_POSTGRES_BIN_DIR:-}" ]]; then
    log "SECRETSYNC_POSTGRES_BIN_DIR=${SECRETSYNC_POSTGRES_BIN_DIR} holds no initdb and postgres"
    exit 1
  fi
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    log "initdb and postgres not found; install PostgreSQL (Debian: apt-get install postgresql) or set SECRETSYNC_POSTGRES_BIN_DIR"
    exit 1
  fi
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client >&2
  dir="$(find_dir || true)"
  if [[ -z "${dir}" ]]; then
    log "installed postgresql, but found no initdb and postgres"
    exit 1
  fi
fi
echo "${dir}"
