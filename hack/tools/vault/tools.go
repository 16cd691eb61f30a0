//go:build tools

// Package tools pins the HashiCorp Vault server that hack/vault.sh builds for
// the integration tests. It lives in its own module so that Vault's thousand
// dependencies never reach the secretsync module graph, and the build tag keeps
// it out of every ordinary build.
//
// Vault is licensed BUSL-1.1: the binary is built into a cache outside the
// repository, run by tests, and never committed or shipped.
package tools

import _ "github.com/hashicorp/vault"
