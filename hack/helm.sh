#!/usr/bin/env bash
# helm.sh makes sure a Helm binary exists in a cache directory outside the
# repository and prints its path on stdout. Everything else goes to stderr,
# so callers can write:
#
#   export SECRETSYNC_HELM_BIN="$(hack/helm.sh)"
#
# The chart's tests (deploy/helm, examples/controller/chart_e2e_test.go) run
# it. The binary is reused when the cache has one that reports the pinned
# version; otherwise it is built from Helm's Go module with `go install`,
# which takes the module's own go.mod and checks every download against the
# checksum database. A build took 106 s on two cores with the Kubernetes
# modules already downloaded (longer with a cold module cache); later runs
# take well under a second.
#
# Environment:
#   SECRETSYNC_CACHE  cache root (default $XDG_CACHE_HOME/secretsync)
set -euo pipefail

# v3.20.2 asks for Go 1.25, as Vault (hack/vault.sh) already does; the
# releases after it ask for Go 1.26. Its client-go, v0.35, is within one
# minor version of the control plane's v1.34.
readonly HELM_VERSION=v3.20.2
# What Helm's own Makefile derives from its k8s.io/client-go (v0.35.1): the
# Kubernetes version `helm template` and `helm lint` assume without a
# cluster. A `go install` without them would assume v1.20.
readonly K8S_MAJOR=1 K8S_MINOR=35

cache_root="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/secretsync}"
bin_dir="${cache_root}/helm/${HELM_VERSION}"
bin="${bin_dir}/helm"

log() {
  echo "helm: $*" >&2
}

# runs reports whether the cached binary exists and reports the pinned
# version, so a truncated or foreign file is rebuilt rather than trusted.
runs() {
  local out
  [[ -x "${bin}" ]] || return 1
  out="$("${bin}" version --template '{{.Version}}' 2>&1)" || return 1
  [[ "${out}" == "${HELM_VERSION}" ]]
}

build() {
  if ! command -v go >/dev/null; then
    log "building Helm needs the go command, which is not on PATH"
    exit 1
  fi
  # Stage next to the final path so the last step is a rename on one file
  # system: a concurrent reader never sees half a binary.
  local stage
  stage="$(mktemp -d "${bin_dir}/.build.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: stage is local.
  trap "rm -rf '${stage}'" EXIT

  log "building Helm ${HELM_VERSION} from its Go module (a few minutes)"
  local start=${SECONDS}
  local ldflags="-s -w"
  ldflags+=" -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/${pkg}.k8sVersionMajor=${K8S_MAJOR}"
    ldflags+=" -X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${K8S_MINOR}"
  done
  (
    # Outside any module and workspace, so nothing of this repository's
    # go.mod reaches the build.
    cd "${stage}"
    export GOWORK=off GOFLAGS="-buildvcs=false" CGO_ENABLED=0 GOBIN="${stage}"
    go install -trimpath -ldflags "${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
  ) >&2
  mv -f "${stage}/helm" "${bin}"
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
    runs || { log "built ${bin} does not report Helm ${HELM_VERSION}"; exit 1; }
  fi
  echo "${bin}"
}

main "$@"
