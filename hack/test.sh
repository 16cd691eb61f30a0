#!/usr/bin/env bash
# The one test command: builds or reuses the local control plane, then runs
# vet, every test (the end-to-end ones on a real kube-apiserver and etcd),
# and each fuzz target for a short, bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

SECRETSYNC_CONTROLPLANE_DIR="$(hack/controlplane.sh)"
export SECRETSYNC_CONTROLPLANE_DIR

echo "--- go vet" >&2
go vet ./...

echo "--- go test" >&2
go test -count=1 -timeout 20m ./...

FUZZTIME="${FUZZTIME:-15s}"
for target in \
  ./reconcile:FuzzReconcile \
  ./template:FuzzRender; do
  pkg="${target%%:*}" fn="${target##*:}"
  echo "--- fuzz $fn ($FUZZTIME)" >&2
  go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg"
done
