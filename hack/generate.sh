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
go generate ./...

# The SecretReference example is a module of its own, which keeps
# controller-runtime out of this one.
(
  cd examples/secretreference
  go run "$CONTROLLER_GEN" object paths=./api/...
  rm -f config/crd/*.yaml
  go run "$CONTROLLER_GEN" crd:crdVersions=v1 paths=./api/... output:crd:dir=config/crd
)
