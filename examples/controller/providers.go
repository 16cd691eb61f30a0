package main

import (
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generator/builtin"
	"github.com/secretsync/secretsync/generator/webhook"
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
		// Each cloud request, retries included, so throttling shows.
		aws.New(aws.WithCallObserver(m.cloudCall("aws"))),
		azure.New(azure.WithCallObserver(m.cloudCall("azure"))),
		gcp.New(gcp.WithCallObserver(m.cloudCall("gcp"))),
		onepassword.New(),
		doppler.New(),
	)
}

// generatorRegistry returns the generators this controller serves.
func generatorRegistry(m *metrics) (*generator.Registry, error) {
	return generator.NewRegistry(
		builtin.Password(), builtin.UUID(), builtin.Fake(),
		vault.NewGenerator(),
		webhook.New(), webhook.GitHub(),
		aws.NewECRGenerator(aws.WithCallObserver(m.cloudCall("aws"))),
		aws.NewSTSGenerator(aws.WithCallObserver(m.cloudCall("aws"))),
	)
}
