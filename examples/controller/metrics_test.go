package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/provider/aws"
)

// Throttled AWS requests are counted as such, so a throttling store shows
// in secretsync_provider_calls_total.
func TestAWSCallsCountThrottling(t *testing.T) {
	m := newMetrics(nil)
	m.awsCall(aws.Call{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 3, Throttled: 2})
	m.awsCall(aws.Call{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 1, Err: errors.New("AccessDeniedException")})
	body := httptestGet(t, m.handler(), "/metrics")
	for _, want := range []string{
		`secretsync_provider_calls_total{operation="Secrets Manager GetSecretValue",provider="aws",result="throttled"} 2`,
		`secretsync_provider_calls_total{operation="Secrets Manager GetSecretValue",provider="aws",result="success"} 1`,
		`secretsync_provider_calls_total{operation="Secrets Manager GetSecretValue",provider="aws",result="error"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
