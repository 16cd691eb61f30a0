package azure_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/azure"
)

// Throttling is retried after the Retry-After Key Vault sends, a bounded
// number of times, and refusals are not retried at all. The harness's
// backoff without Retry-After is 10ms, so waits of seconds are Key
// Vault's. Each operation is observed once, with its attempts.
func TestThrottlingAndRefusals(t *testing.T) {
	tests := map[string]struct {
		arrange   func(h *harness)
		op        string // the operation whose calls are counted
		wantErr   string
		wantCalls int
		min, max  time.Duration
		observed  []azure.Call
	}{
		"Retry-After is honoured": {
			arrange:   func(h *harness) { h.emu.Throttle("secrets/get", 2, time.Second) },
			op:        "secrets/get",
			wantCalls: 3, min: 2 * time.Second, max: 5 * time.Second,
			observed: []azure.Call{token, {Service: "Key Vault", Operation: "GetSecret", Attempts: 3, Throttled: 2}},
		},
		"retries are bounded": {
			arrange: func(h *harness) { h.emu.Throttle("secrets/get", -1, time.Second) },
			op:      "secrets/get",
			wantErr: `secret "db" in SecretStore/team-a/azure: Key Vault GetSecret: 429 Throttled: Request was not processed because too many requests were received. Reason: A1 (gave up after 3 attempts; Key Vault asks to retry after 1s)`,
			// WithRetry(3, ...) in the harness.
			wantCalls: 3, min: 2 * time.Second, max: 5 * time.Second,
			observed: []azure.Call{token, {Service: "Key Vault", Operation: "GetSecret", Attempts: 3, Throttled: 3, Err: cmpopts.AnyError}},
		},
		"a Retry-After longer than the client waits ends the retries": {
			arrange:   func(h *harness) { h.emu.Throttle("secrets/get", -1, time.Minute) },
			op:        "secrets/get",
			wantErr:   "(gave up after 1 attempt; Key Vault asks to retry after 1m0s, longer than this client waits (5s))",
			wantCalls: 1, max: 2 * time.Second,
			observed: []azure.Call{token, {Service: "Key Vault", Operation: "GetSecret", Attempts: 1, Throttled: 1, Err: cmpopts.AnyError}},
		},
		"the token endpoint's throttling is retried too": {
			arrange:   func(h *harness) { h.emu.Throttle("token", 1, time.Second) },
			op:        "token",
			wantCalls: 2, min: time.Second, max: 5 * time.Second,
			observed: []azure.Call{{Service: "Entra ID", Operation: "Token", Attempts: 2, Throttled: 1}, getSecret},
		},
		"a refusal is not retried": {
			arrange:   func(h *harness) { h.emu.Deny(appID, "secrets/get") },
			op:        "secrets/get",
			wantErr:   `secret "db" in SecretStore/team-a/azure: Key Vault GetSecret: 403 Forbidden (AccessDenied): The user, group or application 'appid=` + appID,
			wantCalls: 1, max: 2 * time.Second,
			observed: []azure.Call{token, {Service: "Key Vault", Operation: "GetSecret", Attempts: 1, Err: cmpopts.AnyError}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.emu.SetSecret("db", "v")
			var log callLog
			c := h.client(nil, azure.WithCallObserver(log.observe))
			tc.arrange(h)
			start := time.Now()
			got, err := read(c, provider.Ref{Key: "db"}, "")
			elapsed := time.Since(start)
			checkErr(t, err, tc.wantErr, false)
			if tc.wantErr == "" && got != "v" {
				t.Errorf("got %q", got)
			}
			if n := h.emu.Calls(tc.op); n != tc.wantCalls {
				t.Errorf("%d calls of %s, want %d", n, tc.op, tc.wantCalls)
			}
			if diff := cmp.Diff(tc.observed, log.get(), cmpopts.EquateErrors()); diff != "" {
				t.Errorf("observed calls (-want +got):\n%s", diff)
			}
			if elapsed < tc.min || elapsed > tc.max {
				t.Errorf("took %v, want between %v and %v", elapsed, tc.min, tc.max)
			}
		})
	}
}
