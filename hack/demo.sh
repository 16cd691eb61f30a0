#!/usr/bin/env bash
# demo.sh shows secretsync syncing a store into Kubernetes Secrets on a
# throwaway local control plane, with nothing to install but Go:
#
#   hack/demo.sh [-timeout 30s] [-keep]
#
# It builds (or reuses) kube-apiserver and etcd with hack/controlplane.sh,
# builds the controller and hack/demo, and runs the demo, which starts the
# control plane, runs the controller as its ServiceAccount, applies
# examples/demo/, waits for the Secrets, rotates a value and times the
# Secrets following it. Everything it starts is stopped and every temporary
# file removed when it ends, fails or is interrupted. Arguments are passed to
# the demo; -keep leaves it all running until Ctrl-C.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

log() {
  echo "==> $*"
}

# now prints the time in milliseconds where bash can tell (5.0 and later),
# else in whole seconds scaled to milliseconds.
now() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    local t="${EPOCHREALTIME/[.,]/}"
    echo $((10#${t} / 1000))
  else
    echo $((SECONDS * 1000))
  fi
}

took() {
  local ms=$(($(now) - $1))
  printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10))
}

if ! command -v go >/dev/null; then
  echo "demo.sh: the demo needs Go (https://go.dev/dl/); go is not on PATH" >&2
  exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/secretsync-demo-bin.XXXXXX")"
demo_pid=""
cleanup() {
  if [[ -n "${demo_pid}" ]] && kill -0 "${demo_pid}" 2>/dev/null; then
    kill -TERM "${demo_pid}" 2>/dev/null || true
    wait "${demo_pid}" 2>/dev/null || true
  fi
  rm -rf "${tmp}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start="$(now)"
bin_dir="$(hack/controlplane.sh)" || {
  echo "demo.sh: hack/controlplane.sh could not provide kube-apiserver and etcd" >&2
  exit 1
}
log "Control plane binaries in ${bin_dir} ($(took "${start}"))"

start="$(now)"
# Built rather than started with go run: go run dies of SIGTERM without
# passing it on, which would leave the demo running with no one to stop it.
go build -o "${tmp}/" ./examples/controller ./hack/demo || {
  echo "demo.sh: go build failed" >&2
  exit 1
}
log "Built the controller and the demo ($(took "${start}"))"

# The demo runs in the background so that a signal to this script reaches
# it at once: bash runs traps only between commands, and would otherwise
# wait for the demo to finish on its own. The demo catches SIGINT and
# SIGTERM, stops what it started and exits.
"${tmp}/demo" -bin-dir "${bin_dir}" -controller "${tmp}/controller" "$@" &
demo_pid=$!
interrupted=0
trap 'interrupted=1; kill -TERM "${demo_pid}" 2>/dev/null || true' INT TERM
# wait returns early, with 128+signal, when a trapped signal arrives; then
# wait again for the demo's own status. A wait for a demo already waited for
# returns 127, and the status from before stands.
status=0
while :; do
  interrupted=0
  s=0
  wait "${demo_pid}" 2>/dev/null || s=$?
  ((s == 127)) && break
  status=${s}
  ((interrupted)) || break
done
demo_pid=""
exit "${status}"
