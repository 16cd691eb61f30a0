package main

import (
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/engine"
)

// crdClient is the tests' REST client for the external-secrets.io
// resources, with the engine's typed client beside it.
type crdClient struct {
	*engine.CRDClient
	rest rest.Interface
}

func newCRDClient(cfg *rest.Config) (*crdClient, error) {
	c, err := engine.NewCRDClient(cfg)
	if err != nil {
		return nil, err
	}
	return &crdClient{CRDClient: c, rest: c.REST()}, nil
}

// Resource names, short.
const (
	resExternalSecrets        = engine.ResourceExternalSecrets
	resSecretStores           = engine.ResourceSecretStores
	resClusterSecretStores    = engine.ResourceClusterSecretStores
	resClusterExternalSecrets = engine.ResourceClusterExternalSecrets
)
