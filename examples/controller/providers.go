package main

import (
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/provider/doppler"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/gcp"
	kubeprovider "github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/provider/onepassword"
	"github.com/secretsync/secretsync/provider/vault"
)

// registry returns the providers this controller serves. An embedding
// operator lists only the providers it needs, and links only those.
//
// kube configures the kubernetes provider: run gives it the local
// cluster, for stores without a server.url; render, which talks to no
// cluster, gives nothing.
func registry(m *metrics, kube ...kubeprovider.Option) (*provider.Registry, error) {
	return provider.NewRegistry(
		fake.New(),
		vault.New(),
		kubeprovider.New(kube...),
		aws.New(aws.WithCallObserver(func(c aws.Call) {
			// Each AWS request, retries included, so throttling shows.
			m.awsCall(c)
		})),
		azure.New(),
		gcp.New(),
		onepassword.New(),
		doppler.New(),
	)
}
