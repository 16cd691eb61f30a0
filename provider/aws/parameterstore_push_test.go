package aws_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
)

func TestParameterStorePushSecret(t *testing.T) {
	v1, v2 := "v1-"+canary, "v2-"+canary
	managed := func(typ, value string) func(*awsemu.Server) {
		return func(emu *awsemu.Server) {
			emu.PutParameter("/app/db", typ, value)
			emu.TagParameter("/app/db", map[string]string{managedBy: "external-secrets"})
		}
	}
	tests := map[string]struct {
		seed    func(*awsemu.Server)
		setup   []step
		then    func(*awsemu.Server)
		steps   []step
		wantErr string
		reads   map[string]string
		check   func(*testing.T, awsemu.ParameterState)
		calls   map[string]int
	}{
		"a new parameter": {
			steps: []step{push("/app/db", v1)},
			reads: map[string]string{"": v1},
			check: func(t *testing.T, p awsemu.ParameterState) {
				want := awsemu.ParameterState{
					Type: awsemu.String, Value: v1, Version: 1, Tier: awsemu.TierStandard,
					Description: "secret 'managed-by:external-secrets'",
					Tags:        map[string]string{managedBy: "external-secrets"},
				}
				if diff := cmp.Diff(want, p); diff != "" {
					t.Errorf("parameter (-want +got):\n%s", diff)
				}
			},
			calls: map[string]int{"ListTagsForResource": 1, "PutParameter": 1, "GetParameter": 0, "AddTagsToResource": 0},
		},
		"an updated value": {
			setup: []step{push("/app/db", v1)},
			steps: []step{push("/app/db", v2)},
			reads: map[string]string{"": v2},
			check: func(t *testing.T, p awsemu.ParameterState) {
				if p.Version != 2 {
					t.Errorf("version %d, want 2", p.Version)
				}
			},
			calls: map[string]int{"PutParameter": 1, "GetParameter": 0, "AddTagsToResource": 0, "RemoveTagsFromResource": 0},
		},
		"a property into an existing JSON parameter": {
			seed:  managed(awsemu.SecureString, `{"user":"admin","password":"old"}`),
			steps: []step{pushProp("/app/db", "password", v1)},
			reads: map[string]string{"password": v1, "user": "admin"},
			calls: map[string]int{"GetParameter": 1, "PutParameter": 1},
		},
		"a property into a new parameter, then another": {
			setup: []step{pushProp("/app/db", "user", "admin")},
			steps: []step{pushProp("/app/db", "password", v1)},
			reads: map[string]string{"": `{"password":"` + v1 + `","user":"admin"}`},
		},
		"metadata: type, key, tier, policies, description and tags": {
			steps: []step{pushMeta("/app/db", v1, metadata(`{"secretType":"SecureString","kmsKeyID":"alias/team","description":"the db",
				"tier":{"type":"Advanced","policies":[{"type":"Expiration","version":"1.0","attributes":{"timestamp":"2030-01-01T00:00:00.000Z"}}]},
				"tags":{"team":"a"}}`))},
			reads: map[string]string{"": v1},
			check: func(t *testing.T, p awsemu.ParameterState) {
				want := awsemu.ParameterState{
					Type: awsemu.SecureString, Value: v1, Version: 1, Tier: awsemu.TierAdvanced,
					KeyID: "alias/team", Description: "the db",
					Policies: `[{"type":"Expiration","version":"1.0","attributes":{"timestamp":"2030-01-01T00:00:00.000Z"}}]`,
					Tags:     map[string]string{"team": "a", managedBy: "external-secrets"},
				}
				p.Tags = withoutRecord(p.Tags)
				if diff := cmp.Diff(want, p); diff != "" {
					t.Errorf("parameter (-want +got):\n%s", diff)
				}
			},
		},
		"a SecureString without a key gets SSM's": {
			steps: []step{pushMeta("/app/db", v1, metadata(`{"secretType":"SecureString"}`))},
			reads: map[string]string{"": v1},
			check: func(t *testing.T, p awsemu.ParameterState) {
				if p.KeyID != "alias/aws/ssm" {
					t.Errorf("key %q", p.KeyID)
				}
			},
		},
		"an advanced parameter stays advanced": {
			setup: []step{pushMeta("/app/db", v1, metadata(`{"tier":{"type":"Advanced"}}`))},
			steps: []step{push("/app/db", v2)},
			check: func(t *testing.T, p awsemu.ParameterState) {
				if p.Tier != awsemu.TierAdvanced {
					t.Errorf("tier %q", p.Tier)
				}
			},
		},
		"changed tags: dropped ones go, others' stay": {
			setup: []step{pushMeta("/app/db", v1, metadata(`{"tags":{"team":"a","env":"prod"}}`))},
			then:  func(emu *awsemu.Server) { emu.TagParameter("/app/db", map[string]string{"owner": "ops"}) },
			steps: []step{pushMeta("/app/db", v2, metadata(`{"tags":{"team":"b"}}`))},
			check: func(t *testing.T, p awsemu.ParameterState) {
				want := map[string]string{"team": "b", "owner": "ops", managedBy: "external-secrets"}
				if diff := cmp.Diff(want, withoutRecord(p.Tags)); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
			},
			calls: map[string]int{"RemoveTagsFromResource": 1, "AddTagsToResource": 1},
		},
		"tags no longer set are removed with their record": {
			setup: []step{pushMeta("/app/db", v1, metadata(`{"tags":{"team":"a"}}`))},
			steps: []step{push("/app/db", v2)},
			check: func(t *testing.T, p awsemu.ParameterState) {
				if diff := cmp.Diff(map[string]string{managedBy: "external-secrets"}, p.Tags); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
			},
		},
		"a parameter PushSecret did not create is left alone": {
			seed:    func(emu *awsemu.Server) { emu.PutParameter("/app/db", awsemu.String, "theirs") },
			steps:   []step{push("/app/db", v1)},
			wantErr: `push parameter "/app/db" in SecretStore/team-a/aws: it exists without the tag managed-by: external-secrets`,
			reads:   map[string]string{"": "theirs"},
			calls:   map[string]int{"PutParameter": 0, "AddTagsToResource": 0},
		},
		"a property into a value that is not JSON": {
			seed:    managed(awsemu.SecureString, "plain "+canary),
			steps:   []step{pushProp("/app/db", "password", v1)},
			wantErr: "the remote secret is not a JSON object",
			calls:   map[string]int{"PutParameter": 0},
		},
		"an unknown metadata field": {
			steps:   []step{pushMeta("/app/db", v1, metadata(`{"parameterType":"SecureString"}`))},
			wantErr: `metadata.spec: unknown field "parameterType"`,
			calls:   map[string]int{"ListTagsForResource": 0},
		},
		"an unknown secretType": {
			steps:   []step{pushMeta("/app/db", v1, metadata(`{"secretType":"Secret"}`))},
			wantErr: `secretType must be String, StringList or SecureString, not "Secret"`,
		},
		"policies on a standard parameter": {
			steps:   []step{pushMeta("/app/db", v1, metadata(`{"tier":{"policies":[]}}`))},
			wantErr: "tier.policies need tier.type Advanced",
		},
		"encodeAsDecoded": {
			steps:   []step{pushMeta("/app/db", v1, metadata(`{"encodeAsDecoded":true}`))},
			wantErr: "encodeAsDecoded is not supported",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			p := pusher(t, h.client(ps, nil))
			if len(tc.setup) > 0 {
				if err := run(t, p, tc.setup); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			if tc.then != nil {
				tc.then(h.emu)
			}
			h.emu.ResetCalls()
			err := run(t, p, tc.steps)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
			case err != nil && errors.Is(err, provider.ErrNotFound):
				t.Errorf("a push error must not read as a missing parameter: %v", err)
			}
			for op, want := range tc.calls {
				if got := h.emu.Calls("ssm:" + op); got != want {
					t.Errorf("%d %s calls, want %d", got, op, want)
				}
			}
			c := h.client(ps, nil)
			for prop, want := range tc.reads {
				if got, err := read(c, provider.Ref{Key: "/app/db"}, prop); err != nil || got != want {
					t.Errorf("read %q: got %q, %v; want %q", prop, got, err, want)
				}
			}
			if tc.check != nil {
				st, ok := h.emu.Parameter("/app/db")
				if !ok {
					t.Fatal("no parameter")
				}
				tc.check(t, st)
			}
		})
	}
}

func TestParameterStoreDeleteSecret(t *testing.T) {
	managed := func(value string) func(*awsemu.Server) {
		return func(emu *awsemu.Server) {
			emu.PutParameter("/app/db", awsemu.SecureString, value)
			emu.TagParameter("/app/db", map[string]string{managedBy: "external-secrets"})
		}
	}
	tests := map[string]struct {
		seed    func(*awsemu.Server)
		steps   []step
		wantErr string
		exists  bool
		reads   map[string]string
		calls   map[string]int
	}{
		"a whole parameter": {
			seed:  managed(canary),
			steps: []step{del("/app/db", "")},
			calls: map[string]int{"DeleteParameter": 1},
		},
		"a property, others kept": {
			seed:   managed(`{"user":"admin","password":"` + canary + `"}`),
			steps:  []step{{del: true, push: provider.Push{RemoteKey: "/app/db", Property: "password", Metadata: metadata(`{"secretType":"SecureString"}`)}}},
			exists: true,
			reads:  map[string]string{"": `{"user":"admin"}`},
			calls:  map[string]int{"PutParameter": 1, "DeleteParameter": 0},
		},
		"the last property deletes the parameter": {
			seed:  managed(`{"password":"` + canary + `"}`),
			steps: []step{del("/app/db", "password")},
			calls: map[string]int{"PutParameter": 0, "DeleteParameter": 1},
		},
		"a property that is not there writes nothing": {
			seed:   managed(`{"user":"admin"}`),
			steps:  []step{del("/app/db", "password")},
			exists: true,
			calls:  map[string]int{"PutParameter": 0, "DeleteParameter": 0},
		},
		"a parameter that does not exist": {
			steps: []step{del("/app/db", ""), del("/app/db", "password")},
			calls: map[string]int{"DeleteParameter": 0},
		},
		"a parameter PushSecret did not create": {
			seed:    func(emu *awsemu.Server) { emu.PutParameter("/app/db", awsemu.String, canary) },
			steps:   []step{del("/app/db", "")},
			wantErr: `delete parameter "/app/db" in SecretStore/team-a/aws: it exists without the tag managed-by`,
			exists:  true,
			calls:   map[string]int{"DeleteParameter": 0},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			p := pusher(t, h.client(ps, nil))
			h.emu.ResetCalls()
			err := run(t, p, tc.steps)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
			case tc.wantErr != "" && !errors.Is(err, aws.ErrNotManaged):
				t.Errorf("want ErrNotManaged, got %v", err)
			}
			for op, want := range tc.calls {
				if got := h.emu.Calls("ssm:" + op); got != want {
					t.Errorf("%d %s calls, want %d", got, op, want)
				}
			}
			if _, exists := h.emu.Parameter("/app/db"); exists != tc.exists {
				t.Errorf("exists %v, want %v", exists, tc.exists)
			}
			c := h.client(ps, nil)
			for prop, want := range tc.reads {
				if got, err := read(c, provider.Ref{Key: "/app/db"}, prop); err != nil || got != want {
					t.Errorf("read %q: got %q, %v; want %q", prop, got, err, want)
				}
			}
			if !tc.exists {
				if _, err := read(c, provider.Ref{Key: "/app/db"}, ""); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("a deleted parameter reads %v, want ErrNotFound", err)
				}
			}
		})
	}
}
