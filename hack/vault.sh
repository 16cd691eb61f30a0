#!/usr/bin/env bash
# vault.sh makes sure a HashiCorp Vault server binary exists in a cache
# directory outside the repository and prints its path on stdout. Everything
# else goes to stderr, so callers can write:
#
#   export SECRETSYNC_VAULT_BIN="$(hack/vault.sh)"
#
# The binary is reused when the cache has one that reports the pinned
# version; otherwise it is built from source with the tools module in
# hack/tools/vault, whose committed go.mod and go.sum pin every dependency.
# A cold build downloads about 3 GB of modules and compiles for 20-30
# minutes on two cores, with about 7 GB of disk in all; later runs take well
# under a second.
#
# Vault is licensed BUSL-1.1: tests run it, the repository never holds or
# ships it.
#
# Environment:
#   SECRETSYNC_CACHE  cache root (default $XDG_CACHE_HOME/secretsync)
set -euo pipefail

# v1.21.0 is the newest release whose dependency graph resolves through the
# module proxy: later ones bundle an sdk that matches no published version.
readonly VAULT_VERSION=v1.21.0

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="${script_dir}/tools/vault"
cache_root="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/secretsync}"
bin_dir="${cache_root}/vault/${VAULT_VERSION}"
bin="${bin_dir}/vault"

log() {
  echo "vault: $*" >&2
}

# runs reports whether the cached binary exists and reports the pinned
# version, so a truncated or foreign file is rebuilt rather than trusted.
runs() {
  local out
  [[ -x "${bin}" ]] || return 1
  out="$("${bin}" version 2>&1)" || return 1
  [[ "${out}" == "Vault ${VAULT_VERSION}"* ]]
}

build() {
  if ! command -v go >/dev/null; then
    log "building Vault needs the go command, which is not on PATH"
    exit 1
  fi
  local want
  want="$(sed -n 's/^require github.com\/hashicorp\/vault \(v[^ ]*\)$/\1/p' "${tools_dir}/go.mod")"
  if [[ "${want}" != "${VAULT_VERSION}" ]]; then
    log "${tools_dir}/go.mod requires Vault '${want}', this script pins ${VAULT_VERSION}"
    exit 1
  fi

  # Stage next to the final path so the last step is a rename on one file
  # system: a concurrent reader never sees half a binary.
  local stage
  stage="$(mktemp -d "${bin_dir}/.build.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: stage is local.
  trap "rm -rf '${stage}'" EXIT

  log "building Vault ${VAULT_VERSION} from source (20-30 minutes cold)"
  local start=${SECONDS}
  (
    cd "${tools_dir}"
    # -mod=readonly: a go.sum that does not cover the build is an error,
    # never a silent re-resolution.
    export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
    go build -trimpath -ldflags "-s -w" -o "${stage}/vault" github.com/hashicorp/vault
  ) >&2
  chmod 0755 "${stage}/vault"
  mv -f "${stage}/vault" "${bin}"
  rm -rf "${stage}"
  trap - EXIT
  log "built ${bin} in $((SECONDS - start))s"
}

main() {
  mkdir -p "${bin_dir}"

  # Serialise concurrent runs (parallel CI jobs sharing a cache): the second
  # waits for the first build and then reuses its binary.
  if command -v flock >/dev/null; then
    exec 9>"${bin_dir}/.lock"
    flock 9
  fi

  if runs; then
    log "reusing ${bin}"
  else
    build
    runs || { log "built ${bin} does not report Vault ${VAULT_VERSION}"; exit 1; }
  fi
  echo "${bin}"
}

main "$@"
