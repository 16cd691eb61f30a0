package aws_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/secretstore"
)

type callLog struct {
	mu    sync.Mutex
	calls []aws.Call
}

func (l *callLog) observe(c aws.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Err = nil // compared by presence below
	l.calls = append(l.calls, c)
}

func TestThrottling(t *testing.T) {
	const backoff = 50 * time.Millisecond
	tests := map[string]struct {
		svc       secretstore.AWSServiceType
		action    string
		throttles int
		fails     bool
		want      []aws.Call
	}{
		"backs off and succeeds": {
			svc: sm, action: "secretsmanager:GetSecretValue", throttles: 2,
			want: []aws.Call{{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 3, Throttled: 2}},
		},
		"gives up after four attempts": {
			svc: sm, action: "secretsmanager:GetSecretValue", throttles: 10, fails: true,
			want: []aws.Call{{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 4, Throttled: 4}},
		},
		"Parameter Store too": {
			svc: ps, action: "ssm:GetParameter", throttles: 1,
			want: []aws.Call{{Service: "SSM", Operation: "GetParameter", Attempts: 2, Throttled: 1}},
		},
		"STS too": {
			svc: sm, action: "sts:AssumeRole", throttles: 3,
			want: []aws.Call{
				{Service: "STS", Operation: "AssumeRole", Attempts: 4, Throttled: 3},
				{Service: "Secrets Manager", Operation: "GetSecretValue", Attempts: 1},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			h.emu.PutSecret("db", "v")
			h.emu.PutParameter("db", awsemu.String, "v")
			h.emu.AddRole(awsemu.Role{ARN: roleARN("r"), TrustedPrincipals: []string{awsemu.UserARN}})
			var log callLog
			c := h.client(tc.svc, func(a *secretstore.AWSProvider) {
				if strings.HasPrefix(tc.action, "sts:") {
					a.Role = roleARN("r")
				}
			}, aws.WithRetry(4, backoff), aws.WithCallObserver(log.observe))
			h.emu.Throttle(tc.action, tc.throttles)

			start := time.Now()
			got, err := read(c, provider.Ref{Key: "db"}, "")
			elapsed := time.Since(start)
			if tc.fails {
				if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "gave up after 4 attempts") || !strings.Contains(err.Error(), "ThrottlingException") {
					t.Fatalf("want a throttling error, got %q, %v", got, err)
				}
			} else if err != nil || got != "v" {
				t.Fatalf("got %q, %v", got, err)
			}
			if diff := cmp.Diff(tc.want, log.calls, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("observed calls (-want +got):\n%s", diff)
			}
			attempts := min(tc.throttles+1, 4)
			if n := h.emu.Calls(tc.action); n != attempts {
				t.Errorf("%d requests reached %s, want %d", n, tc.action, attempts)
			}
			// Below 2s the SDK waits exactly the maximum backoff between
			// attempts; above, a random part of 2^attempt seconds.
			if min, max := time.Duration(attempts-1)*backoff, time.Duration(attempts)*backoff+time.Second; elapsed < min || elapsed > max {
				t.Errorf("took %v, want between %v and %v", elapsed, min, max)
			}
		})
	}
}
