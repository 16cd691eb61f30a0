package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/provider"
)

// Throttled and retried cloud requests are counted as such, so a
// throttling store shows in secretsync_provider_calls_total.
func TestCloudCallsCountThrottling(t *testing.T) {
	m := newMetrics(nil)
	m.cloudCall("aws")(provider.Call{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 3, Throttled: 2})
	m.cloudCall("aws")(provider.Call{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 1, Err: errors.New("AccessDeniedException")})
	m.cloudCall("gcp")(provider.Call{Service: "Secret Manager", Operation: "AccessSecretVersion", Attempts: 3, Throttled: 1})
	m.cloudCall("azure")(provider.Call{Service: "Key Vault", Operation: "GetSecret", Attempts: 2, Throttled: 1, Err: errors.New("503")})
	// No token, so no request reached Key Vault.
	m.cloudCall("azure")(provider.Call{Service: "Key Vault", Operation: "GetKey", Attempts: 0, Err: errors.New("no token")})
	body := httptestGet(t, m.handler(), "/metrics")
	for _, want := range []string{
		`secretsync_provider_calls_total{operation="Secrets Manager GetSecretValue",provider="aws",result="throttled"} 2`,
		`secretsync_provider_calls_total{operation="Secrets Manager GetSecretValue",provider="aws",result="success"} 1`,
		`secretsync_provider_calls_total{operation="Secrets Manager GetSecretValue",provider="aws",result="error"} 1`,
		`secretsync_provider_calls_total{operation="Secret Manager AccessSecretVersion",provider="gcp",result="throttled"} 1`,
		`secretsync_provider_calls_total{operation="Secret Manager AccessSecretVersion",provider="gcp",result="retried"} 1`,
		`secretsync_provider_calls_total{operation="Secret Manager AccessSecretVersion",provider="gcp",result="success"} 1`,
		`secretsync_provider_calls_total{operation="Key Vault GetSecret",provider="azure",result="throttled"} 1`,
		`secretsync_provider_calls_total{operation="Key Vault GetSecret",provider="azure",result="error"} 1`,
		`secretsync_provider_calls_total{operation="Key Vault GetKey",provider="azure",result="error"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
