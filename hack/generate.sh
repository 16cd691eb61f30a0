#!/usr/bin/env bash
# Regenerates everything generated in the repository: deepcopy functions,
# CRDs and mocks. CI runs it and fails when the result differs from what is
# committed.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTROLLER_GEN=sigs.k8s.io/controller-tools/cmd/controller-gen@v0.16.5

go run "$CONTROLLER_GEN" object paths=./externalsecret/... paths=./secretstore/... paths=./pushsecret/... paths=./generators/...
rm -f config/crd/bases/*.yaml
go run "$CONTROLLER_GEN" crd:crdVersions=v1 \
  paths=./externalsecret/... paths=./secretstore/... paths=./pushsecret/... paths=./generators/... \
  output:crd:dir=config/crd/bases
go run ./hack/crdversions config/crd/bases/*.yaml
# The Helm chart ships the same CRDs and takes its RBAC rules from the same
# files, so `kubectl apply -k config/default` and `helm install` grant and
# define the same things.
chart=deploy/helm/secretsync
rm -f "$chart"/crds/*.yaml "$chart"/files/rbac/*.yaml
mkdir -p "$chart"/crds "$chart"/files/rbac
cp config/crd/bases/*.yaml "$chart"/crds/
cp config/rbac/role.yaml config/rbac/leader_election_role.yaml "$chart"/files/rbac/
go generate ./...

# The SecretReference example is a module of its own, which keeps
# controller-runtime out of this one.
(
  cd examples/secretreference
  go run "$CONTROLLER_GEN" object paths=./api/...
  rm -f config/crd/*.yaml
  go run "$CONTROLLER_GEN" crd:crdVersions=v1 paths=./api/... output:crd:dir=config/crd
)
