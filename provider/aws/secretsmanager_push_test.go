package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	managedBy  = "managed-by"
	pushedTags = "secretsync.io/pushed-tags"
	// A policy document, as a ConfigMap would hold it.
	policyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
)

// metadata is a PushSecret entry's metadata with spec.
func metadata(spec string) json.RawMessage {
	return json.RawMessage(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
}

func pusher(t *testing.T, c provider.Client) provider.Pusher {
	t.Helper()
	p, ok := c.(provider.Pusher)
	if !ok {
		t.Fatalf("%T is not a provider.Pusher", c)
	}
	return p
}

// withoutRecord drops the tag that records a push's tag keys, checked
// apart.
func withoutRecord(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if k != pushedTags {
			out[k] = v
		}
	}
	return out
}

// checkNoCanary fails if err carries a pushed value.
func checkNoCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "CANARY-") {
		t.Errorf("the error carries a value: %v", err)
	}
}

// A step pushes value, or deletes when del is set.
type step struct {
	value string
	push  provider.Push
	del   bool
}

func push(key, value string) step {
	return step{value: value, push: provider.Push{RemoteKey: key}}
}

func pushProp(key, prop, value string) step {
	return step{value: value, push: provider.Push{RemoteKey: key, Property: prop}}
}

func pushMeta(key, value string, md json.RawMessage) step {
	return step{value: value, push: provider.Push{RemoteKey: key, Metadata: md}}
}

func del(key, prop string) step {
	return step{del: true, push: provider.Push{RemoteKey: key, Property: prop}}
}

// run applies the steps, failing on any error but the last step's, which
// it returns.
func run(t *testing.T, p provider.Pusher, steps []step) error {
	t.Helper()
	var err error
	for i, s := range steps {
		if s.del {
			err = p.DeleteSecret(context.Background(), s.push)
		} else {
			err = p.PushSecret(context.Background(), []byte(s.value), s.push)
		}
		checkNoCanary(t, err)
		if err != nil && i < len(steps)-1 {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return err
}

func TestSecretsManagerPushSecret(t *testing.T) {
	v1, v2 := "v1-"+canary, "v2-"+canary
	tests := map[string]struct {
		seed func(*awsemu.Server)
		// setup steps run before the steps under test, and then before
		// the calls are counted, then changes the state as someone
		// else would.
		setup []step
		then  func(*awsemu.Server)
		steps []step
		// wantErr is in the last step's error; empty for success.
		wantErr string
		// reads are property (or "" for the value) to value, read back
		// through GetSecret of "app/db".
		reads map[string]string
		// check inspects the emulator afterwards.
		check func(*testing.T, *awsemu.Server)
		// calls are counts of operations the steps made.
		calls map[string]int
	}{
		"a new secret": {
			steps: []step{push("app/db", v1)},
			reads: map[string]string{"": v1},
			check: func(t *testing.T, emu *awsemu.Server) {
				s, _ := emu.Secret("app/db")
				if diff := cmp.Diff(map[string]string{managedBy: "external-secrets"}, s.Tags); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
				if s.String != nil || string(s.Binary) != v1 {
					t.Errorf("want SecretBinary, the default format; got SecretString %v", s.String != nil)
				}
				if s.Description != "secret 'managed-by:external-secrets'" || s.KMSKeyID != "alias/aws/secretsmanager" {
					t.Errorf("got description %q, key %q", s.Description, s.KMSKeyID)
				}
			},
			calls: map[string]int{"CreateSecret": 1, "PutSecretValue": 0, "TagResource": 0, "GetResourcePolicy": 0, "DeleteResourcePolicy": 0},
		},
		"an updated value": {
			setup: []step{push("app/db", v1)},
			steps: []step{push("app/db", v2)},
			reads: map[string]string{"": v2},
			check: func(t *testing.T, emu *awsemu.Server) {
				if s, _ := emu.Secret("app/db"); s.Versions != 2 {
					t.Errorf("%d versions, want 2", s.Versions)
				}
			},
			calls: map[string]int{"DescribeSecret": 1, "PutSecretValue": 1, "CreateSecret": 0, "GetSecretValue": 0, "TagResource": 0, "UntagResource": 0, "UpdateSecret": 0, "GetResourcePolicy": 0, "DeleteResourcePolicy": 0},
		},
		"a property into an existing JSON secret": {
			seed: func(emu *awsemu.Server) {
				emu.PutSecret("app/db", `{"user":"admin","password":"old"}`)
				emu.TagSecret("app/db", map[string]string{managedBy: "external-secrets"})
			},
			steps: []step{pushProp("app/db", "password", v1)},
			reads: map[string]string{"password": v1, "user": "admin"},
			calls: map[string]int{"GetSecretValue": 1, "PutSecretValue": 1},
		},
		"a property into a new secret, then another": {
			setup: []step{pushProp("app/db", "user", "admin")},
			steps: []step{pushProp("app/db", "password", v1)},
			reads: map[string]string{"": `{"password":"` + v1 + `","user":"admin"}`, "user": "admin"},
		},
		"a JSON object as a property stays JSON": {
			steps: []step{pushProp("app/db", "conf", `{"port":5432}`), pushProp("app/db", "conf.port", "x")},
			reads: map[string]string{"conf": `{"port":5432}`, "conf\\.port": "x"},
		},
		"metadata: format, key, description and tags": {
			steps: []step{pushMeta("app/db", v1, metadata(`{"secretPushFormat":"string","kmsKeyID":"alias/team","description":"the db","tags":{"team":"a","env":"prod"}}`))},
			reads: map[string]string{"": v1},
			check: func(t *testing.T, emu *awsemu.Server) {
				s, _ := emu.Secret("app/db")
				if s.String == nil || *s.String != v1 || s.Binary != nil {
					t.Errorf("want SecretString")
				}
				if s.Description != "the db" || s.KMSKeyID != "alias/team" {
					t.Errorf("got description %q, key %q", s.Description, s.KMSKeyID)
				}
				want := map[string]string{"team": "a", "env": "prod", managedBy: "external-secrets"}
				if diff := cmp.Diff(want, withoutRecord(s.Tags)); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
				if s.Tags[pushedTags] == "" {
					t.Errorf("no %s tag", pushedTags)
				}
			},
		},
		"the keyID spelling of ESO's code": {
			steps: []step{pushMeta("app/db", v1, metadata(`{"kmsKeyId":"alias/team"}`))},
			check: func(t *testing.T, emu *awsemu.Server) {
				if s, _ := emu.Secret("app/db"); s.KMSKeyID != "alias/team" {
					t.Errorf("got key %q", s.KMSKeyID)
				}
			},
		},
		"changed tags: dropped ones go, others' stay": {
			setup: []step{pushMeta("app/db", v1, metadata(`{"tags":{"team":"a","env":"prod"}}`))},
			then:  func(emu *awsemu.Server) { emu.TagSecret("app/db", map[string]string{"owner": "ops"}) },
			steps: []step{pushMeta("app/db", v2, metadata(`{"tags":{"team":"b"},"description":"now described"}`))},
			reads: map[string]string{"": v2},
			check: func(t *testing.T, emu *awsemu.Server) {
				s, _ := emu.Secret("app/db")
				want := map[string]string{"team": "b", "owner": "ops", managedBy: "external-secrets"}
				if diff := cmp.Diff(want, withoutRecord(s.Tags)); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
				if s.Description != "now described" {
					t.Errorf("description %q", s.Description)
				}
			},
			calls: map[string]int{"UntagResource": 1, "TagResource": 1, "UpdateSecret": 1},
		},
		"tags no longer set are removed with their record": {
			setup: []step{pushMeta("app/db", v1, metadata(`{"tags":{"team":"a"}}`))},
			steps: []step{push("app/db", v2)},
			check: func(t *testing.T, emu *awsemu.Server) {
				s, _ := emu.Secret("app/db")
				if diff := cmp.Diff(map[string]string{managedBy: "external-secrets"}, s.Tags); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
			},
			calls: map[string]int{"UntagResource": 1, "TagResource": 0},
		},
		"a secret PushSecret did not create is left alone": {
			seed:    func(emu *awsemu.Server) { emu.PutSecret("app/db", "theirs") },
			steps:   []step{push("app/db", v1)},
			wantErr: "without the tag managed-by: external-secrets",
			reads:   map[string]string{"": "theirs"},
			calls:   map[string]int{"PutSecretValue": 0, "CreateSecret": 0, "TagResource": 0},
		},
		"a secret scheduled for deletion is restored": {
			setup: []step{push("app/db", v1), del("app/db", "")},
			steps: []step{push("app/db", v2)},
			reads: map[string]string{"": v2},
			calls: map[string]int{"RestoreSecret": 1, "CreateSecret": 0, "PutSecretValue": 1},
		},
		"a resource policy from a ConfigMap, written once": {
			setup: []step{pushMeta("app/db", v1, metadata(`{"resourcePolicy":{"blockPublicPolicy":true,"policySourceRef":{"kind":"ConfigMap","name":"policies","key":"db"}}}`))},
			steps: []step{pushMeta("app/db", v2, metadata(`{"resourcePolicy":{"policySourceRef":{"kind":"ConfigMap","name":"policies","key":"db"}}}`))},
			check: func(t *testing.T, emu *awsemu.Server) {
				if s, _ := emu.Secret("app/db"); s.ResourcePolicy != policyDoc {
					t.Errorf("policy %q", s.ResourcePolicy)
				}
			},
			calls: map[string]int{"PutResourcePolicy": 0, "GetResourcePolicy": 1, "DeleteResourcePolicy": 0},
		},
		"a resource policy from a Secret": {
			steps: []step{pushMeta("app/db", v1, metadata(`{"resourcePolicy":{"policySourceRef":{"kind":"Secret","name":"policies","key":"db"}}}`))},
			check: func(t *testing.T, emu *awsemu.Server) {
				if s, _ := emu.Secret("app/db"); s.ResourcePolicy != policyDoc {
					t.Errorf("policy %q", s.ResourcePolicy)
				}
			},
		},
		"without resourcePolicy, a policy set by others is not touched": {
			seed: func(emu *awsemu.Server) {
				emu.PutSecret("app/db", "old")
				emu.TagSecret("app/db", map[string]string{managedBy: "external-secrets"})
				emu.SetResourcePolicy("app/db", policyDoc)
			},
			steps: []step{push("app/db", v1)},
			check: func(t *testing.T, emu *awsemu.Server) {
				if s, _ := emu.Secret("app/db"); s.ResourcePolicy != policyDoc {
					t.Errorf("policy %q", s.ResourcePolicy)
				}
			},
			calls: map[string]int{"GetResourcePolicy": 0, "PutResourcePolicy": 0, "DeleteResourcePolicy": 0},
		},
		"resourcePolicy without a source removes the policy, once": {
			seed: func(emu *awsemu.Server) {
				emu.PutSecret("app/db", "old")
				emu.TagSecret("app/db", map[string]string{managedBy: "external-secrets"})
				emu.SetResourcePolicy("app/db", policyDoc)
			},
			steps: []step{
				pushMeta("app/db", v1, metadata(`{"resourcePolicy":{}}`)),
				pushMeta("app/db", v2, metadata(`{"resourcePolicy":{}}`)),
			},
			check: func(t *testing.T, emu *awsemu.Server) {
				if s, _ := emu.Secret("app/db"); s.ResourcePolicy != "" {
					t.Errorf("policy %q", s.ResourcePolicy)
				}
			},
			calls: map[string]int{"GetResourcePolicy": 2, "DeleteResourcePolicy": 1},
		},
		"a policy source that does not exist writes nothing": {
			steps:   []step{pushMeta("app/db", v1, metadata(`{"resourcePolicy":{"policySourceRef":{"kind":"ConfigMap","name":"absent","key":"db"}}}`))},
			wantErr: `read the resource policy from key "db" of ConfigMap team-a/absent`,
			calls:   map[string]int{"CreateSecret": 0, "DescribeSecret": 0},
		},
		"a property into a value that is not JSON": {
			seed: func(emu *awsemu.Server) {
				emu.PutSecret("app/db", "plain "+canary)
				emu.TagSecret("app/db", map[string]string{managedBy: "external-secrets"})
			},
			steps:   []step{pushProp("app/db", "password", v1)},
			wantErr: `push property "password" of secret "app/db" in SecretStore/team-a/aws: the remote secret is not a JSON object`,
			calls:   map[string]int{"PutSecretValue": 0},
		},
		"an unknown metadata field": {
			steps:   []step{pushMeta("app/db", v1, metadata(`{"tags":{"a":"b"},"colour":"red"}`))},
			wantErr: `metadata.spec: unknown field "colour"`,
			calls:   map[string]int{"DescribeSecret": 0},
		},
		"an unknown metadata field outside spec": {
			steps:   []step{pushMeta("app/db", v1, json.RawMessage(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spek":{}}`))},
			wantErr: `metadata: unknown field "spek"`,
		},
		"metadata of another kind": {
			steps:   []step{pushMeta("app/db", v1, json.RawMessage(`{"apiVersion":"v1","kind":"ConfigMap"}`))},
			wantErr: "want apiVersion kubernetes.external-secrets.io/v1alpha1 and kind PushSecretMetadata",
		},
		"an unknown secretPushFormat": {
			steps:   []step{pushMeta("app/db", v1, metadata(`{"secretPushFormat":"base64"}`))},
			wantErr: `secretPushFormat must be binary or string, not "base64"`,
		},
		"a managed-by tag in metadata": {
			steps:   []step{pushMeta("app/db", v1, metadata(`{"tags":{"managed-by":"me"}}`))},
			wantErr: "managed-by is set by PushSecret itself",
		},
		"an aws: tag in metadata": {
			steps:   []step{pushMeta("app/db", v1, metadata(`{"tags":{"aws:owner":"me"}}`))},
			wantErr: "the aws: prefix is reserved",
		},
		"replicationLocations": {
			steps:   []step{pushMeta("app/db", v1, metadata(`{"replicationLocations":["us-east-1"]}`))},
			wantErr: "replicationLocations is not supported",
		},
		"a string format for a value that is not UTF-8": {
			steps:   []step{pushMeta("app/db", "\xff"+canary, metadata(`{"secretPushFormat":"string"}`))},
			wantErr: "needs a UTF-8 value",
			calls:   map[string]int{"CreateSecret": 0},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			h.creds.SetConfigMap(namespace, "policies", "db", policyDoc)
			h.creds.SetSecret(namespace, "policies", "db", policyDoc)
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			p := pusher(t, h.client(sm, nil))
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
				t.Errorf("a push error must not read as a missing secret: %v", err)
			}
			for op, want := range tc.calls {
				if got := h.emu.Calls("secretsmanager:" + op); got != want {
					t.Errorf("%d %s calls, want %d", got, op, want)
				}
			}
			c := h.client(sm, nil)
			for prop, want := range tc.reads {
				if got, err := read(c, provider.Ref{Key: "app/db"}, prop); err != nil || got != want {
					t.Errorf("read %q: got %q, %v; want %q", prop, got, err, want)
				}
			}
			if tc.check != nil {
				tc.check(t, h.emu)
			}
		})
	}
}

func TestSecretsManagerPushSecretNotManaged(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("app/db", "theirs")
	err := pusher(t, h.client(sm, nil)).PushSecret(context.Background(), []byte(canary), provider.Push{RemoteKey: "app/db"})
	if !errors.Is(err, aws.ErrNotManaged) {
		t.Fatalf("want ErrNotManaged, got %v", err)
	}
}

func TestSecretsManagerPushPolicyOnClusterStore(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	store := &secretstore.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "aws"},
		Spec:       h.store(sm, nil).Spec,
	}
	ns := namespace
	store.Spec.Provider.AWS.Auth.SecretRef.AccessKeyID.Namespace = &ns
	store.Spec.Provider.AWS.Auth.SecretRef.SecretAccessKey.Namespace = &ns
	c, err := h.newClient(store)
	if err != nil {
		t.Fatal(err)
	}
	err = pusher(t, c).PushSecret(context.Background(), []byte(canary), provider.Push{
		RemoteKey: "app/db",
		Metadata:  metadata(`{"resourcePolicy":{"policySourceRef":{"kind":"ConfigMap","name":"policies","key":"db"}}}`),
	})
	if err == nil || !strings.Contains(err.Error(), "cannot be read through a ClusterSecretStore") {
		t.Fatalf("got %v", err)
	}
	if _, ok := h.emu.Secret("app/db"); ok {
		t.Error("the secret was created")
	}
}

func TestSecretsManagerDeleteSecret(t *testing.T) {
	managed := func(value string) func(*awsemu.Server) {
		return func(emu *awsemu.Server) {
			emu.PutSecret("app/db", value)
			emu.TagSecret("app/db", map[string]string{managedBy: "external-secrets"})
		}
	}
	tests := map[string]struct {
		store   func(*secretstore.AWSProvider)
		seed    func(*awsemu.Server)
		steps   []step
		wantErr string
		// exists and window say whether the secret is still there, and
		// its recovery window when it is scheduled for deletion.
		exists bool
		window int
		reads  map[string]string
		calls  map[string]int
	}{
		"a whole secret, with AWS's default window": {
			seed:   managed(canary),
			steps:  []step{del("app/db", "")},
			exists: true, window: 30,
			calls: map[string]int{"DeleteSecret": 1},
		},
		"a whole secret, with the store's recovery window": {
			store: func(a *secretstore.AWSProvider) {
				a.SecretsManager = &secretstore.AWSSecretsManager{RecoveryWindowInDays: 7}
			},
			seed:   managed(canary),
			steps:  []step{del("app/db", "")},
			exists: true, window: 7,
		},
		"a whole secret, forced": {
			store: func(a *secretstore.AWSProvider) {
				a.SecretsManager = &secretstore.AWSSecretsManager{ForceDeleteWithoutRecovery: true}
			},
			seed:  managed(canary),
			steps: []step{del("app/db", "")},
		},
		"a property, others kept": {
			seed:   managed(`{"user":"admin","password":"` + canary + `"}`),
			steps:  []step{del("app/db", "password")},
			exists: true,
			reads:  map[string]string{"": `{"user":"admin"}`},
			calls:  map[string]int{"PutSecretValue": 1, "DeleteSecret": 0},
		},
		"the last property deletes the secret": {
			seed:   managed(`{"password":"` + canary + `"}`),
			steps:  []step{del("app/db", "password")},
			exists: true, window: 30,
			calls: map[string]int{"PutSecretValue": 0, "DeleteSecret": 1},
		},
		"a property that is not there writes nothing": {
			seed:   managed(`{"user":"admin"}`),
			steps:  []step{del("app/db", "password")},
			exists: true,
			reads:  map[string]string{"user": "admin"},
			calls:  map[string]int{"PutSecretValue": 0, "DeleteSecret": 0},
		},
		"a secret that does not exist": {
			steps: []step{del("app/db", ""), del("app/db", "password")},
			calls: map[string]int{"DeleteSecret": 0},
		},
		"a secret already scheduled for deletion": {
			seed:   func(emu *awsemu.Server) { managed(canary)(emu); emu.DeleteSecret("app/db") },
			steps:  []step{del("app/db", ""), del("app/db", "password")},
			exists: true, window: 30,
			calls: map[string]int{"DeleteSecret": 0},
		},
		"a secret PushSecret did not create": {
			seed:    func(emu *awsemu.Server) { emu.PutSecret("app/db", canary) },
			steps:   []step{del("app/db", "")},
			wantErr: `delete secret "app/db" in SecretStore/team-a/aws: it exists without the tag managed-by: external-secrets`,
			exists:  true,
			calls:   map[string]int{"DeleteSecret": 0},
		},
		"a property of a secret PushSecret did not create": {
			seed:    func(emu *awsemu.Server) { emu.PutSecret("app/db", `{"password":"`+canary+`"}`) },
			steps:   []step{del("app/db", "password")},
			wantErr: "without the tag managed-by",
			exists:  true,
			calls:   map[string]int{"PutSecretValue": 0, "DeleteSecret": 0},
		},
		"a property of a value that is not JSON": {
			seed:    managed("plain " + canary),
			steps:   []step{del("app/db", "password")},
			wantErr: "the remote secret is not a JSON object",
			exists:  true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			p := pusher(t, h.client(sm, tc.store))
			h.emu.ResetCalls()
			err := run(t, p, tc.steps)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
			}
			s, exists := h.emu.Secret("app/db")
			if exists != tc.exists || s.RecoveryWindowInDays != tc.window {
				t.Errorf("exists %v with recovery window %d, want %v and %d", exists, s.RecoveryWindowInDays, tc.exists, tc.window)
			}
			for op, want := range tc.calls {
				if got := h.emu.Calls("secretsmanager:" + op); got != want {
					t.Errorf("%d %s calls, want %d", got, op, want)
				}
			}
			c := h.client(sm, nil)
			for prop, want := range tc.reads {
				if got, err := read(c, provider.Ref{Key: "app/db"}, prop); err != nil || got != want {
					t.Errorf("read %q: got %q, %v; want %q", prop, got, err, want)
				}
			}
			if tc.window > 0 {
				if _, err := read(c, provider.Ref{Key: "app/db"}, ""); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("a deleted secret reads %v, want ErrNotFound", err)
				}
			}
		})
	}
}

// No push or delete error carries the value pushed or the value stored,
// whatever fails: AWS refusing or throttling the write, a secret
// PushSecret did not create, a value that is not JSON.
func TestPushErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("theirs", canary)
	h.emu.PutParameter("/theirs", awsemu.SecureString, canary)
	h.emu.PutSecret("text", "not json "+canary)
	h.emu.TagSecret("text", map[string]string{managedBy: "external-secrets"})
	h.emu.PutParameter("/text", awsemu.SecureString, "not json "+canary)
	h.emu.TagParameter("/text", map[string]string{managedBy: "external-secrets"})
	ctx := context.Background()
	value := []byte(`{"password":"` + canary + `"}`)

	var errs []error
	collect := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: expected an error", what)
			return
		}
		errs = append(errs, err)
	}
	smp, psp := pusher(t, h.client(sm, nil)), pusher(t, h.client(ps, nil))
	for _, p := range []struct {
		pusher provider.Pusher
		prefix string
	}{{smp, ""}, {psp, "/"}} {
		collect("not managed", p.pusher.PushSecret(ctx, value, provider.Push{RemoteKey: p.prefix + "theirs"}))
		collect("not managed", p.pusher.DeleteSecret(ctx, provider.Push{RemoteKey: p.prefix + "theirs", Property: "password"}))
		collect("not JSON", p.pusher.PushSecret(ctx, value, provider.Push{RemoteKey: p.prefix + "text", Property: "password"}))
		collect("not JSON", p.pusher.DeleteSecret(ctx, provider.Push{RemoteKey: p.prefix + "text", Property: "password"}))
	}
	collect("not UTF-8", smp.PushSecret(ctx, append([]byte{0xff}, value...), provider.Push{RemoteKey: "new", Metadata: metadata(`{"secretPushFormat":"string"}`)}))

	for _, action := range []string{"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "ssm:PutParameter"} {
		h.emu.Deny("*", action)
	}
	collect("denied create", smp.PushSecret(ctx, value, provider.Push{RemoteKey: "new"}))
	collect("denied put", smp.PushSecret(ctx, value, provider.Push{RemoteKey: "text"}))
	collect("denied put", psp.PushSecret(ctx, value, provider.Push{RemoteKey: "/text"}))
	h.emu.Allow("*", "secretsmanager:CreateSecret")
	h.emu.Throttle("secretsmanager:CreateSecret", 100)
	collect("throttled", smp.PushSecret(ctx, value, provider.Push{RemoteKey: "new"}))

	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
		if errors.Is(err, provider.ErrNotFound) {
			t.Errorf("a push error reads as a missing secret: %v", err)
		}
	}
	if len(errs) < 12 {
		t.Fatalf("checked only %d errors", len(errs))
	}
}

// Concurrent pushes of the properties of one secret keep every property:
// each reads and rewrites the whole value, so the client serializes them.
func TestPushPropertiesConcurrently(t *testing.T) {
	for _, svc := range []secretstore.AWSServiceType{sm, ps} {
		t.Run(string(svc), func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			c := h.client(svc, nil)
			p := pusher(t, c)
			var wg sync.WaitGroup
			want := map[string]string{}
			for i := 0; i < 8; i++ {
				prop := fmt.Sprintf("p%d", i)
				value := "value-" + prop
				want[prop] = value
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := p.PushSecret(context.Background(), []byte(value), provider.Push{RemoteKey: "/app/db", Property: prop}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			s, err := c.GetSecret(context.Background(), provider.Ref{Key: "/app/db"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Map()
			if err != nil {
				t.Fatal(err)
			}
			gotStrings := map[string]string{}
			for k, v := range got {
				gotStrings[k] = string(v)
			}
			if diff := cmp.Diff(want, gotStrings); diff != "" {
				t.Errorf("properties (-want +got):\n%s", diff)
			}
		})
	}
}
