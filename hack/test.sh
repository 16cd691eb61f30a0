#!/usr/bin/env bash
# The one test command: builds or reuses the local control plane and a
# Vault server, then runs vet, every test (the end-to-end ones on a real
# kube-apiserver, etcd and Vault), and each fuzz target for a short,
# bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

SECRETSYNC_CONTROLPLANE_DIR="$(hack/controlplane.sh)"
export SECRETSYNC_CONTROLPLANE_DIR
# A real Vault server for the Vault provider's tests (built once, cached).
SECRETSYNC_VAULT_BIN="$(hack/vault.sh)"
export SECRETSYNC_VAULT_BIN
# Helm, for the tests of the chart in deploy/helm (built once from its Go
# module, cached).
SECRETSYNC_HELM_BIN="$(hack/helm.sh)"
export SECRETSYNC_HELM_BIN
# PostgreSQL for the tests of Vault's database secrets engine
# (internal/pgtest; installed from Debian's packages when missing).
SECRETSYNC_POSTGRES_BIN_DIR="$(hack/postgres.sh)"
export SECRETSYNC_POSTGRES_BIN_DIR

echo "--- go vet" >&2
go vet ./...

echo "--- go test" >&2
go test -count=1 -timeout 30m ./...

# The SecretReference example is a module of its own, which keeps
# controller-runtime out of this one; its end-to-end test uses the same
# control plane and Vault. A change to the root go.mod may need a
# `go mod tidy` in the example too: it builds against this tree.
echo "--- examples/secretreference: go vet, go test" >&2
(
  cd examples/secretreference
  go vet ./...
  go test -count=1 -timeout 10m ./...
)

# The image tool is a module of its own, which keeps go-containerregistry
# out of this one. Its test builds the image for this machine's platform,
# unpacks it and runs the controller binary it holds.
echo "--- hack/image: go vet, go test" >&2
(
  cd hack/image
  go vet ./...
  go test -count=1 -timeout 15m ./...
)

# Four targets at 15 s each: about a minute in all. A new input is
# minimized for at most 5 s, so that minimizing does not take the run.
FUZZTIME="${FUZZTIME:-15s}"
for target in \
  ./internal/render:FuzzManifest \
  ./reconcile:FuzzReconcile \
  ./reconcile:FuzzRewrite \
  ./template:FuzzRender; do
  pkg="${target%%:*}" fn="${target##*:}"
  echo "--- fuzz $fn ($FUZZTIME)" >&2
  go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "$pkg"
done
