#!/usr/bin/env bash
# controlplane.sh makes sure kube-apiserver and etcd binaries exist in a cache
# directory outside the repository and prints that directory on stdout.
# Everything else goes to stderr, so callers can write:
#
#   export SECRETSYNC_CONTROLPLANE_DIR="$(hack/controlplane.sh)"
#
# The binaries come from, in order:
#   1. the cache directory, when both binaries are there and run;
#   2. a prebuilt seed tarball (SECRETSYNC_CONTROLPLANE_SEED, by default
#      ../shared/controlplane/ beside the repository), checked against a pinned
#      sha256;
#   3. a build from source, using only the Go module proxy (10-25 minutes).
#
# Environment:
#   SECRETSYNC_CACHE              cache root (default $XDG_CACHE_HOME/secretsync)
#   SECRETSYNC_CONTROLPLANE_SEED  seed tarball path
#   SECRETSYNC_BUILD_KCM=1        also build kube-controller-manager (from source)
set -euo pipefail

readonly K8S_VERSION=v1.34.10
readonly ETCD_VERSION=v3.6.4
# The k8s.io/<staging> modules are released as v0.<minor>.<patch> of Kubernetes.
readonly STAGING_VERSION=v0.34.10
readonly SEED_SHA256=553f3c1c2b5a68fdf1b08fd4af5278da16658ef5c296f19434739d516de39118

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(git -C "${script_dir}" rev-parse --show-toplevel 2>/dev/null || (cd "${script_dir}/.." && pwd))"

cache_root="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/secretsync}"
bin_dir="${cache_root}/controlplane/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
seed="${SECRETSYNC_CONTROLPLANE_SEED:-${repo_root}/../shared/controlplane/kube-apiserver-${K8S_VERSION#v}-etcd-${ETCD_VERSION#v}-linux-amd64.tar.gz}"

log() {
  echo "controlplane: $*" >&2
}

# runs reports whether binary $1 exists, is executable and prints a version
# containing $2.
runs() {
  local out
  [[ -x "$1" ]] || return 1
  out="$("$1" --version 2>&1)" || return 1
  [[ "${out}" == *"$2"* ]]
}

have_core() {
  runs "${bin_dir}/kube-apiserver" "${K8S_VERSION}" && runs "${bin_dir}/etcd" "${ETCD_VERSION#v}"
}

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# install moves the named binaries from staging dir $1 into bin_dir. A rename
# within one file system is atomic, so a concurrent reader never sees half a
# binary.
install_from() {
  local from="$1" name
  shift
  for name in "$@"; do
    chmod 0755 "${from}/${name}" || return 1
    mv -f "${from}/${name}" "${bin_dir}/${name}" || return 1
  done
}

# from_seed unpacks the seed tarball, if it exists, matches the pinned sha256
# and suits this machine.
from_seed() {
  if [[ ! -f "${seed}" ]]; then
    log "no seed tarball at ${seed}"
    return 1
  fi
  if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
    log "seed tarball is linux-amd64; this machine is $(uname -s)/$(uname -m)"
    return 1
  fi
  local got
  got="$(sha256 "${seed}")"
  if [[ "${got}" != "${SEED_SHA256}" ]]; then
    log "seed tarball ${seed} has sha256 ${got}, want ${SEED_SHA256}; ignoring it"
    return 1
  fi
  log "unpacking ${seed}"
  # Called in a condition, so set -e does not apply here: check each step.
  local stage ok=0
  stage="$(mktemp -d "${bin_dir}/.seed.XXXXXX")" || return 1
  tar -xzf "${seed}" -C "${stage}" kube-apiserver etcd &&
    install_from "${stage}" kube-apiserver etcd || ok=1
  rm -rf "${stage}"
  return "${ok}"
}

# from_source builds the given targets (kube-apiserver, etcd,
# kube-controller-manager) in a scratch module that depends on
# k8s.io/kubernetes. That module's go.mod points its k8s.io/<staging> modules
# at ./staging/src, which only works inside the kubernetes repository; the
# scratch module replaces each of them with its published release instead.
from_source() {
  if ! command -v go >/dev/null; then
    log "building from source needs the go command, which is not on PATH"
    exit 1
  fi
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: work is local.
  trap "rm -rf '${work}'" EXIT
  log "building $* from source in ${work} (this takes 10-25 minutes)"

  (
    cd "${work}"
    export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

    go mod init secretsync.local/controlplane-build

    local k8s_gomod staging
    k8s_gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" |
      sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -f "${k8s_gomod}" ]] || { log "cannot find go.mod of k8s.io/kubernetes@${K8S_VERSION}"; exit 1; }
    staging="$(sed 's/^replace[[:space:]]*//' "${k8s_gomod}" |
      awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }')"
    [[ -n "${staging}" ]] || { log "no staging replacements in ${k8s_gomod}"; exit 1; }
    log "replacing $(wc -w <<<"${staging}") staging modules with ${STAGING_VERSION}"

    local m
    for m in ${staging}; do
      go mod edit -replace="${m}=${m}@${STAGING_VERSION}"
    done

    local -a pkgs=()
    local target
    for target in "$@"; do
      case "${target}" in
        etcd) pkgs+=("go.etcd.io/etcd/server/v3@${ETCD_VERSION}") ;;
        *) pkgs+=("k8s.io/kubernetes/cmd/${target}@${K8S_VERSION}") ;;
      esac
    done
    go get "${pkgs[@]}"

    local major minor ldflags="-s -w"
    IFS=. read -r major minor _ <<<"${K8S_VERSION#v}"
    ldflags+=" -X k8s.io/component-base/version.gitVersion=${K8S_VERSION}"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=${major}"
    ldflags+=" -X k8s.io/component-base/version.gitMinor=${minor}"
    ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

    mkdir -p out
    for target in "$@"; do
      local pkg="k8s.io/kubernetes/cmd/${target}"
      [[ "${target}" == etcd ]] && pkg=go.etcd.io/etcd/server/v3
      log "go build ${pkg}"
      go build -trimpath -ldflags "${ldflags}" -o "out/${target}" "${pkg}"
    done
  ) >&2 # stdout is reserved for the directory name
  # Stage next to bin_dir so the final mv is a rename.
  local stage
  stage="$(mktemp -d "${bin_dir}/.build.XXXXXX")"
  mv "${work}/out/"* "${stage}/"
  install_from "${stage}" "$@"
  rm -rf "${stage}" "${work}"
  trap - EXIT
}

main() {
  mkdir -p "${bin_dir}"

  # Serialise concurrent runs (parallel CI jobs sharing a cache) where flock exists.
  if command -v flock >/dev/null; then
    exec 9>"${bin_dir}/.lock"
    flock 9
  fi

  if have_core; then
    log "reusing ${bin_dir}"
  elif from_seed && have_core; then
    log "unpacked seed into ${bin_dir}"
  else
    from_source kube-apiserver etcd
    have_core || { log "built binaries in ${bin_dir} do not report ${K8S_VERSION}/${ETCD_VERSION}"; exit 1; }
  fi

  if [[ "${SECRETSYNC_BUILD_KCM:-}" == 1 ]] && ! runs "${bin_dir}/kube-controller-manager" "${K8S_VERSION}"; then
    from_source kube-controller-manager
  fi

  echo "${bin_dir}"
}

main "$@"
