package gcp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

var managedBy = map[string]string{"managed-by": "external-secrets"}

// writeCalls are the calls of the Secret Manager methods that write, with
// those never called left out.
func writeCalls(e *gcpemu.Server) map[string]int {
	out := map[string]int{}
	for _, m := range []string{"CreateSecret", "UpdateSecret", "AddSecretVersion", "DeleteSecret", "DisableSecretVersion", "DestroySecretVersion"} {
		if n := e.Calls(m); n > 0 {
			out[m] = n
		}
	}
	return out
}

func pusher(t *testing.T, c provider.Client) provider.Pusher {
	t.Helper()
	p, ok := c.(provider.Pusher)
	if !ok {
		t.Fatalf("%T is not a provider.Pusher", c)
	}
	return p
}

// seedManaged puts value in the secret id, labelled as PushSecret's.
func seedManaged(id, value string) func(*gcpemu.Server) {
	return func(e *gcpemu.Server) {
		e.PutSecret(id, value)
		e.SetLabels(id, managedBy)
	}
}

func metadata(spec string) []byte {
	return []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
}

func automatic(cmek string) *secretmanagerpb.Replication {
	a := &secretmanagerpb.Replication_Automatic{}
	if cmek != "" {
		a.CustomerManagedEncryption = &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: cmek}
	}
	return &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: a}}
}

const cmekKey = "projects/acme-prod/locations/us-east1/keyRings/eso/cryptoKeys/push"

func TestPushSecret(t *testing.T) {
	tests := map[string]struct {
		seed    func(*gcpemu.Server)
		spec    func(*secretstore.GCPSMProvider)
		value   string
		push    provider.Push
		wantErr string
		// read is what GetSecret of the key returns after the push: the
		// value, or with the push's property each property in read.
		want  string
		props map[string]string
		// secret is the remote secret's metadata after the push.
		secret *secretmanagerpb.Secret
		writes map[string]int
	}{
		"a new secret is created, labelled, with automatic replication": {
			value:  "v1",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v1",
			secret: &secretmanagerpb.Secret{Labels: managedBy, Replication: automatic("")},
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"a new value adds a version": {
			seed:   seedManaged("db", "v1"),
			value:  "v2",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v2",
			secret: &secretmanagerpb.Secret{Labels: managedBy, Replication: automatic("")},
			writes: map[string]int{"AddSecretVersion": 1},
		},
		"the value the latest version holds adds none": {
			seed:   seedManaged("db", "v1"),
			value:  "v1",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v1",
			writes: map[string]int{},
		},
		"a JSON object as the whole value": {
			value:  `{"user":"admin","password":"p1"}`,
			push:   provider.Push{RemoteKey: "db"},
			want:   `{"user":"admin","password":"p1"}`,
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"a property of an existing JSON secret, the others kept": {
			seed:   seedManaged("db", `{"user":"admin","password":"old"}`),
			value:  "new",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "new", "user": "admin"},
			writes: map[string]int{"AddSecretVersion": 1},
		},
		"a property that already holds the value adds no version": {
			seed:   seedManaged("db", `{ "password": "same",  "user": "admin" }`),
			value:  "same",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "same", "user": "admin"},
			writes: map[string]int{},
		},
		"a property of a missing secret creates it": {
			value:  "p1",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			want:   `{"password":"p1"}`,
			props:  map[string]string{"password": "p1"},
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"a property of a secret without the label labels it, its labels kept": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", `{"user":"admin"}`)
				e.SetLabels("db", map[string]string{"team": "payments"})
				e.SetAnnotations("db", map[string]string{"owner": "alice"})
			},
			value:  "p1",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "p1", "user": "admin"},
			secret: &secretmanagerpb.Secret{Labels: map[string]string{"team": "payments", "managed-by": "external-secrets"}, Annotations: map[string]string{"owner": "alice"}, Replication: automatic("")},
			writes: map[string]int{"UpdateSecret": 1, "AddSecretVersion": 1},
		},
		"a property of a secret that is not a JSON object fails": {
			seed:    seedManaged("db", "plain text"),
			value:   "p1",
			push:    provider.Push{RemoteKey: "db", Property: "password"},
			wantErr: `push to secret "db" property "password" in SecretStore/team-a/gcp: the remote secret is not a JSON object, so property password cannot be set in it`,
			writes:  map[string]int{},
		},
		"metadata at creation: labels, annotations, topics, replicas and CMEK": {
			value: "v1",
			push: provider.Push{RemoteKey: "db", Metadata: metadata(`{
				"labels": {"team": "payments"}, "annotations": {"owner": "alice@example.com"},
				"topics": ["projects/acme-prod/topics/rotations"],
				"replicationLocations": ["us-east1", "us-west1"], "cmekKeyName": "` + cmekKey + `"}`)},
			want: "v1",
			secret: &secretmanagerpb.Secret{
				Labels:      map[string]string{"team": "payments", "managed-by": "external-secrets"},
				Annotations: map[string]string{"owner": "alice@example.com"},
				Topics:      []*secretmanagerpb.Topic{{Name: "projects/acme-prod/topics/rotations"}},
				Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_UserManaged_{UserManaged: &secretmanagerpb.Replication_UserManaged{
					Replicas: []*secretmanagerpb.Replication_UserManaged_Replica{
						{Location: "us-east1", CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: cmekKey}},
						{Location: "us-west1", CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: cmekKey}},
					},
				}}},
			},
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"the deprecated replicationLocation": {
			value: "v1",
			push:  provider.Push{RemoteKey: "db", Metadata: metadata(`{"replicationLocation": "europe-west4"}`)},
			want:  "v1",
			secret: &secretmanagerpb.Secret{Labels: managedBy, Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_UserManaged_{UserManaged: &secretmanagerpb.Replication_UserManaged{
				Replicas: []*secretmanagerpb.Replication_UserManaged_Replica{{Location: "europe-west4"}},
			}}}},
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"CMEK alone keeps replication automatic": {
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"cmekKeyName": "` + cmekKey + `"}`)},
			want:   "v1",
			secret: &secretmanagerpb.Secret{Labels: managedBy, Replication: automatic(cmekKey)},
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"changed labels alone are updated, with no new version": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.SetLabels("db", map[string]string{"managed-by": "external-secrets", "env": "dev"})
			},
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"labels": {"env": "prod"}, "annotations": {"owner": "bob"}}`)},
			want:   "v1",
			secret: &secretmanagerpb.Secret{Labels: map[string]string{"managed-by": "external-secrets", "env": "prod"}, Annotations: map[string]string{"owner": "bob"}, Replication: automatic("")},
			writes: map[string]int{"UpdateSecret": 1},
		},
		"Replace, the default, drops labels and annotations the metadata leaves out": {
			seed: func(e *gcpemu.Server) {
				seedManaged("db", "v1")(e)
				e.SetLabels("db", map[string]string{"managed-by": "external-secrets", "kcc": "yes"})
				e.SetAnnotations("db", map[string]string{"note": "x"})
			},
			value:  "v2",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v2",
			secret: &secretmanagerpb.Secret{Labels: managedBy, Replication: automatic("")},
			writes: map[string]int{"UpdateSecret": 1, "AddSecretVersion": 1},
		},
		"Merge keeps the secret's labels and annotations, the metadata's winning": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.SetLabels("db", map[string]string{"managed-by": "external-secrets", "kcc": "yes", "env": "dev"})
				e.SetAnnotations("db", map[string]string{"note": "x"})
			},
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"mergePolicy": "Merge", "labels": {"env": "prod"}, "annotations": {"owner": "bob"}}`)},
			want:   "v1",
			secret: &secretmanagerpb.Secret{Labels: map[string]string{"managed-by": "external-secrets", "kcc": "yes", "env": "prod"}, Annotations: map[string]string{"note": "x", "owner": "bob"}, Replication: automatic("")},
			writes: map[string]int{"UpdateSecret": 1},
		},
		"topics of an existing secret are replaced when the metadata lists some": {
			seed:   seedManaged("db", "v1"),
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"topics": ["projects/acme-prod/topics/a"]}`)},
			want:   "v1",
			secret: &secretmanagerpb.Secret{Labels: managedBy, Topics: []*secretmanagerpb.Topic{{Name: "projects/acme-prod/topics/a"}}, Replication: automatic("")},
			writes: map[string]int{"UpdateSecret": 1},
		},
		"a regional secret takes the CMEK key and no replication": {
			spec:  func(g *secretstore.GCPSMProvider) { g.Location = "us-east1" },
			value: "v1",
			push:  provider.Push{RemoteKey: "db", Metadata: metadata(`{"cmekKeyName": "` + cmekKey + `"}`)},
			want:  "v1",
			secret: &secretmanagerpb.Secret{
				Labels:                    managedBy,
				CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: cmekKey},
			},
			writes: map[string]int{"CreateSecret": 1, "AddSecretVersion": 1},
		},
		"a regional store refuses replication locations": {
			spec:    func(g *secretstore.GCPSMProvider) { g.Location = "us-east1" },
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"replicationLocation": "us-west1"}`)},
			wantErr: "regional secrets have no replication",
			writes:  map[string]int{},
		},
		"a disabled latest version is replaced by a whole value": {
			seed: func(e *gcpemu.Server) {
				seedManaged("db", "v1")(e)
				e.SetVersionState("db", e.PutSecret("db", "v2"), gcpemu.Disabled)
			},
			value:  "v3",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v3",
			writes: map[string]int{"AddSecretVersion": 1},
		},
		"a secret without the label is not overwritten": {
			seed:    func(e *gcpemu.Server) { e.PutSecret("db", "theirs") },
			value:   "ours",
			push:    provider.Push{RemoteKey: "db"},
			wantErr: `push to secret "db" in SecretStore/team-a/gcp: the secret exists and is not managed by external-secrets: label it managed-by=external-secrets to let PushSecret write it`,
			want:    "theirs",
			writes:  map[string]int{},
		},
		"an unknown metadata field is named": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"lables": {"team": "a"}}`)},
			wantErr: `push to secret "db" in SecretStore/team-a/gcp: metadata: json: unknown field "lables"`,
			writes:  map[string]int{},
		},
		"metadata of another kind is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: []byte(`{"apiVersion":"v1","kind":"ConfigMap","spec":{}}`)},
			wantErr: `metadata: apiVersion "v1" and kind "ConfigMap" must be kubernetes.external-secrets.io/v1alpha1 and PushSecretMetadata`,
			writes:  map[string]int{},
		},
		"an unknown merge policy is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"mergePolicy": "Union"}`)},
			wantErr: `metadata: spec.mergePolicy must be Replace or Merge, not "Union"`,
			writes:  map[string]int{},
		},
		"a label GCP would refuse is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"labels": {"Team": "a"}}`)},
			wantErr: `metadata: spec.labels: "Team"`,
			writes:  map[string]int{},
		},
		"metadata with a property is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Property: "p", Metadata: metadata(`{"labels": {"team": "a"}}`)},
			wantErr: "metadata cannot be set with a property",
			writes:  map[string]int{},
		},
		"a key that is not a secret ID is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "a/b"},
			wantErr: `push to secret "a/b" in SecretStore/team-a/gcp: a key is a secret ID`,
			writes:  map[string]int{},
		},
		"a denied write names the permission": {
			seed:    func(e *gcpemu.Server) { e.Deny("CreateSecret") },
			value:   "v1",
			push:    provider.Push{RemoteKey: "db"},
			wantErr: `push to secret "db" in SecretStore/team-a/gcp: Secret Manager CreateSecret: PermissionDenied: Permission 'secretmanager.secrets.create' denied for resource 'projects/acme-prod' (or it may not exist). (grant the store's identity the permission named, such as roles/secretmanager.admin for PushSecret)`,
			writes:  map[string]int{"CreateSecret": 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			c := h.client(tc.spec)
			h.emu.ResetCalls()
			err := pusher(t, c).PushSecret(context.Background(), []byte(tc.value), tc.push)
			if diff := cmp.Diff(tc.writes, writeCalls(h.emu)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			key := tc.push.RemoteKey
			if tc.spec != nil {
				key = "projects/" + project + "/locations/us-east1/secrets/" + key
			}
			if tc.want != "" {
				if got, err := read(c, provider.Ref{Key: tc.push.RemoteKey}, ""); err != nil || got != tc.want {
					t.Errorf("read back %q, %v; want %q", got, err, tc.want)
				}
			}
			for prop, want := range tc.props {
				if got, err := read(c, provider.Ref{Key: tc.push.RemoteKey}, prop); err != nil || got != want {
					t.Errorf("read back property %s: %q, %v; want %q", prop, got, err, want)
				}
			}
			if tc.secret != nil {
				got := h.emu.Secret(key)
				if diff := cmp.Diff(tc.secret, got, protocmp.Transform(),
					protocmp.IgnoreFields(&secretmanagerpb.Secret{}, "name", "create_time", "etag", "version_aliases")); diff != "" {
					t.Errorf("remote secret (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDeleteSecret(t *testing.T) {
	tests := map[string]struct {
		seed func(*gcpemu.Server)
		push provider.Push
		// gone is whether the secret no longer exists; props are the
		// properties left, and missing those deleted.
		gone    bool
		props   map[string]string
		missing []string
		writes  map[string]int
	}{
		"a whole secret": {
			seed:   seedManaged("db", "v1"),
			push:   provider.Push{RemoteKey: "db"},
			gone:   true,
			writes: map[string]int{"DeleteSecret": 1},
		},
		"a property, the others kept": {
			seed:    seedManaged("db", `{"user":"admin","password":"p1"}`),
			push:    provider.Push{RemoteKey: "db", Property: "password"},
			props:   map[string]string{"user": "admin"},
			missing: []string{"password"},
			writes:  map[string]int{"AddSecretVersion": 1},
		},
		"the last property deletes the secret": {
			seed:   seedManaged("db", `{"password":"p1"}`),
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			gone:   true,
			writes: map[string]int{"DeleteSecret": 1},
		},
		"a missing secret": {
			push:   provider.Push{RemoteKey: "db"},
			gone:   true,
			writes: map[string]int{},
		},
		"a property of a missing secret": {
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			gone:   true,
			writes: map[string]int{},
		},
		"a missing property": {
			seed:   seedManaged("db", `{"user":"admin"}`),
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"user": "admin"},
			writes: map[string]int{},
		},
		"a property of a secret without versions": {
			seed:   func(e *gcpemu.Server) { e.CreateSecret("db"); e.SetLabels("db", managedBy) },
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			writes: map[string]int{},
		},
		"a secret without the label is left alone": {
			seed:   func(e *gcpemu.Server) { e.PutSecret("db", `{"password":"p1"}`) },
			push:   provider.Push{RemoteKey: "db"},
			props:  map[string]string{"password": "p1"},
			writes: map[string]int{},
		},
		"a property of a secret without the label is left alone": {
			seed:   func(e *gcpemu.Server) { e.PutSecret("db", `{"password":"p1"}`) },
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "p1"},
			writes: map[string]int{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			c := h.client(nil)
			h.emu.ResetCalls()
			if err := pusher(t, c).DeleteSecret(context.Background(), tc.push); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.writes, writeCalls(h.emu)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if gone := h.emu.Secret("db") == nil; gone != tc.gone {
				t.Errorf("secret gone: %v, want %v", gone, tc.gone)
			}
			for prop, want := range tc.props {
				if got, err := read(c, provider.Ref{Key: "db"}, prop); err != nil || got != want {
					t.Errorf("property %s: %q, %v; want %q", prop, got, err, want)
				}
			}
			for _, prop := range tc.missing {
				if _, err := read(c, provider.Ref{Key: "db"}, prop); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("property %s: want ErrNotFound, got %v", prop, err)
				}
			}
		})
	}
}

// DeleteSecret sends the etag read with GetSecret, so that a secret
// changed in between is not deleted; the FAILED_PRECONDITION a stale etag
// gets is explained, and nothing is deleted.
func TestDeleteSecretEtag(t *testing.T) {
	h := newHarness(t)
	seedManaged("db", "v1")(h.emu)
	h.emu.SetAnnotations("db", map[string]string{"bump": "etag"})
	etag := h.emu.Secret("db").GetEtag()
	c := h.client(nil)
	h.emu.FailNext("DeleteSecret", codes.FailedPrecondition, 1)
	err := pusher(t, c).DeleteSecret(context.Background(), provider.Push{RemoteKey: "db"})
	if err == nil || !strings.Contains(err.Error(), "the secret changed since it was read") {
		t.Fatalf("want a stale etag error, got %v", err)
	}
	if h.emu.Secret("db") == nil {
		t.Error("the secret was deleted")
	}
	if err := pusher(t, c).DeleteSecret(context.Background(), provider.Push{RemoteKey: "db"}); err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, r := range h.emu.Requests("DeleteSecret") {
		sent = append(sent, r.(*secretmanagerpb.DeleteSecretRequest).GetEtag())
	}
	if diff := cmp.Diff([]string{etag, etag}, sent); diff != "" {
		t.Errorf("etags sent (-want +got):\n%s", diff)
	}
}

// No error of a push or a delete carries the value, whatever fails.
func TestPushErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("theirs", canary)
	seedManaged("text", "not json "+canary)(h.emu)
	seedManaged("mine", `{"a":"`+canary+`","c":"x"}`)(h.emu)
	c := pusher(t, h.client(nil))
	ctx := context.Background()
	var errs []error
	collect := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: expected an error", what)
			return
		}
		errs = append(errs, err)
	}
	value := []byte(canary)
	collect("not managed", c.PushSecret(ctx, value, provider.Push{RemoteKey: "theirs"}))
	collect("not an object", c.PushSecret(ctx, value, provider.Push{RemoteKey: "text", Property: "p"}))
	collect("delete from not an object", c.DeleteSecret(ctx, provider.Push{RemoteKey: "text", Property: "p"}))
	collect("bad metadata", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Metadata: metadata(`{"labels": {"x": 1}}`)}))
	h.emu.FailNext("AddSecretVersion", codes.InvalidArgument, 2)
	collect("add refused", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Property: "b"}))
	collect("add refused on delete", c.DeleteSecret(ctx, provider.Push{RemoteKey: "mine", Property: "a"}))
	h.emu.Deny("AccessSecretVersion")
	collect("read denied", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Property: "b"}))
	h.emu.Allow("AccessSecretVersion")
	h.emu.CorruptPayloads(true)
	collect("corrupt", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Property: "b"}))
	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	if len(errs) < 8 {
		t.Errorf("checked only %d errors", len(errs))
	}
}
