package main

import (
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/vault"
)

// registry returns the providers this controller serves. An embedding
// operator lists only the providers it needs, and links only those.
func registry(m *metrics) (*provider.Registry, error) {
	return provider.NewRegistry(
		fake.New(),
		vault.New(),
		aws.New(aws.WithCallObserver(func(c aws.Call) {
			// Each AWS request, retries included, so throttling shows.
			m.awsCall(c)
		})),
	)
}
