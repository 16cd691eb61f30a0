#!/usr/bin/env bash
# bench.sh runs the scale benchmark of issue 9 against a real etcd and
# kube-apiserver, with the reference controller as a separate process:
#
#   hack/bench.sh -n 1000                     # both layouts: 1 and 100 namespaces
#   hack/bench.sh -n 10000 -unrelated 5000    # with 5,000 unrelated 100 KiB Secrets
#
# It builds (or reuses) the control plane with hack/controlplane.sh, builds
# the controller and hack/bench into the cache directory, and runs the
# bench, which prints markdown tables and writes bench/results/<date>-<N>.json.
# Arguments go to the bench; see `go run ./hack/bench -h`. Everything the
# bench starts is stopped when it ends, fails or is interrupted.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

bin_dir="$(hack/controlplane.sh)"
out="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/secretsync}/bench"
mkdir -p "${out}"
echo "==> building the controller and the bench into ${out}" >&2
go build -o "${out}/controller" ./examples/controller
go build -o "${out}/bench" ./hack/bench
echo "==> uptime: $(uptime)" >&2

# exec, so a Ctrl-C or SIGTERM reaches the bench itself, which stops the
# controller, kube-apiserver and etcd before it exits.
commit="$(git describe --always --dirty 2>/dev/null || echo unknown)"
exec "${out}/bench" -bin-dir "${bin_dir}" -controller "${out}/controller" -repo "${repo_root}" -commit "${commit}" "$@"
