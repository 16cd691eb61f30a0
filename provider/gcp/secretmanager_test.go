package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

func fetch(g *secretstore.GCPSMProvider) { g.SecretVersionSelectionPolicy = gcp.LatestOrFetch }

func TestGetSecret(t *testing.T) {
	regional := "projects/" + project + "/locations/europe-west4/secrets/"
	tests := map[string]struct {
		seed     func(*gcpemu.Server)
		spec     func(*secretstore.GCPSMProvider)
		ref      provider.Ref
		prop     string
		want     string
		wantErr  string
		notFound bool
		// calls are the Secret Manager calls the read makes.
		calls map[string]int
	}{
		"the latest version by default": {
			seed:  func(e *gcpemu.Server) { e.PutSecret("db", "v1"); e.PutSecret("db", "v2") },
			ref:   provider.Ref{Key: "db"},
			want:  "v2",
			calls: map[string]int{"AccessSecretVersion": 1},
		},
		"a version number": {
			seed:  func(e *gcpemu.Server) { e.PutSecret("db", "v1"); e.PutSecret("db", "v2") },
			ref:   provider.Ref{Key: "db", Version: "1"},
			want:  "v1",
			calls: map[string]int{"AccessSecretVersion": 1},
		},
		"an alias": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.PutSecret("db", "v2")
				e.SetAlias("db", "stable", 1)
			},
			ref:  provider.Ref{Key: "db", Version: "stable"},
			want: "v1",
		},
		"a property of a JSON value": {
			seed: func(e *gcpemu.Server) { e.PutSecret("db", `{"user":"admin","password":"p1"}`) },
			ref:  provider.Ref{Key: "db"},
			prop: "password",
			want: "p1",
		},
		"a nested property": {
			seed: func(e *gcpemu.Server) { e.PutSecret("db", `{"primary":{"host":"10.0.0.1","port":5432}}`) },
			ref:  provider.Ref{Key: "db"},
			prop: "primary.port",
			want: "5432",
		},
		"binary data as it is": {
			seed: func(e *gcpemu.Server) { e.PutSecretBytes("cert", []byte{0, 1, 0xfe, 0xff}) },
			ref:  provider.Ref{Key: "cert"},
			want: "\x00\x01\xfe\xff",
		},
		"a missing secret is ErrNotFound": {
			ref:      provider.Ref{Key: "missing"},
			wantErr:  `secret "missing" in SecretStore/team-a/gcp: Secret Manager AccessSecretVersion: NotFound: Secret [projects/`,
			notFound: true,
		},
		"a secret without versions is ErrNotFound": {
			seed:     func(e *gcpemu.Server) { e.CreateSecret("empty") },
			ref:      provider.Ref{Key: "empty"},
			wantErr:  "not found or has no versions",
			notFound: true,
		},
		"a missing version is ErrNotFound": {
			seed:     func(e *gcpemu.Server) { e.PutSecret("db", "v1") },
			ref:      provider.Ref{Key: "db", Version: "7"},
			wantErr:  `secret "db" version "7" in SecretStore/team-a/gcp: Secret Manager AccessSecretVersion: NotFound`,
			notFound: true,
		},
		"a missing property is ErrNotFound": {
			seed:     func(e *gcpemu.Server) { e.PutSecret("db", `{"user":"admin"}`) },
			ref:      provider.Ref{Key: "db"},
			prop:     "password",
			wantErr:  `property "password": not found`,
			notFound: true,
		},
		"a disabled latest version fails, naming the key": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.SetVersionState("db", e.PutSecret("db", "v2"), gcpemu.Disabled)
			},
			ref:     provider.Ref{Key: "db"},
			wantErr: `secret "db" in SecretStore/team-a/gcp: Secret Manager AccessSecretVersion: FailedPrecondition: Secret Version [projects/100000000001/secrets/db/versions/2] is in DISABLED state. (enable the version`,
			calls:   map[string]int{"AccessSecretVersion": 1},
		},
		"a destroyed latest version fails": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.SetVersionState("db", e.PutSecret("db", "v2"), gcpemu.Destroyed)
			},
			ref:     provider.Ref{Key: "db"},
			wantErr: "is in DESTROYED state.",
		},
		"LatestOrFetch reads the newest enabled version": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.PutSecret("db", "v2")
				e.SetVersionState("db", e.PutSecret("db", "v3"), gcpemu.Disabled)
				e.SetVersionState("db", e.PutSecret("db", "v4"), gcpemu.Destroyed)
			},
			spec:  fetch,
			ref:   provider.Ref{Key: "db"},
			want:  "v2",
			calls: map[string]int{"AccessSecretVersion": 2, "ListSecretVersions": 1},
		},
		"LatestOrFetch reads an enabled latest version at once": {
			seed:  func(e *gcpemu.Server) { e.PutSecret("db", "v1") },
			spec:  fetch,
			ref:   provider.Ref{Key: "db"},
			want:  "v1",
			calls: map[string]int{"AccessSecretVersion": 1},
		},
		"LatestOrFetch leaves a version number alone": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "v1")
				e.SetVersionState("db", e.PutSecret("db", "v2"), gcpemu.Disabled)
			},
			spec:    fetch,
			ref:     provider.Ref{Key: "db", Version: "2"},
			wantErr: "is in DISABLED state.",
			calls:   map[string]int{"AccessSecretVersion": 1},
		},
		"LatestOrFetch without an enabled version fails, and is not ErrNotFound": {
			seed: func(e *gcpemu.Server) {
				e.SetVersionState("db", e.PutSecret("db", "v1"), gcpemu.Disabled)
			},
			spec:    fetch,
			ref:     provider.Ref{Key: "db"},
			wantErr: `secret "db" in SecretStore/team-a/gcp: the latest version is disabled or destroyed and no version is enabled`,
		},
		"a key that is not a secret ID is refused without a call": {
			ref:     provider.Ref{Key: "../other-project/secrets/db"},
			wantErr: "a key is a secret ID",
			calls:   map[string]int{},
		},
		"a version that is not one is refused without a call": {
			ref:     provider.Ref{Key: "db", Version: "1/../../x"},
			wantErr: `version "1/../../x" is not a version number`,
			calls:   map[string]int{},
		},
		"a regional secret, with the store's location": {
			seed: func(e *gcpemu.Server) {
				e.PutSecret("db", "global")
				e.PutSecret(regional+"db", "regional")
			},
			spec: func(g *secretstore.GCPSMProvider) { g.Location = "europe-west4" },
			ref:  provider.Ref{Key: "db"},
			want: "regional",
		},
		"a global secret is not in a location": {
			seed:     func(e *gcpemu.Server) { e.PutSecret("db", "global") },
			spec:     func(g *secretstore.GCPSMProvider) { g.Location = "europe-west4" },
			ref:      provider.Ref{Key: "db"},
			wantErr:  "Secret [projects/100000000001/locations/europe-west4/secrets/db] not found",
			notFound: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			c := h.client(tc.spec)
			got, err := read(c, tc.ref, tc.prop)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
			case tc.wantErr == "" && got != tc.want:
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if errors.Is(err, provider.ErrNotFound) != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v (err %v)", !tc.notFound, tc.notFound, err)
			}
			if tc.calls != nil {
				got := h.emu.CallCounts()
				delete(got, "oauth2.token")
				if diff := cmp.Diff(tc.calls, got); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The requests name the secret with the store's project, and a location
// when the store has one.
func TestResourceNames(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", "v")
	h.emu.PutSecret("projects/"+project+"/locations/us-east1/secrets/db", "v")
	for _, location := range []string{"", "us-east1"} {
		if _, err := read(h.client(func(g *secretstore.GCPSMProvider) { g.Location = location }), provider.Ref{Key: "db"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, r := range h.emu.Requests("AccessSecretVersion") {
		names = append(names, r.(*secretmanagerpb.AccessSecretVersionRequest).GetName())
	}
	want := []string{
		"projects/acme-prod/secrets/db/versions/latest",
		"projects/acme-prod/locations/us-east1/secrets/db/versions/latest",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// dataFrom.extract: the keys of a JSON object.
func TestExtract(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("app", `{"user":"admin","port":5432,"tls":{"on":true}}`)
	h.emu.PutSecret("text", "not json")
	c := h.client(nil)
	s, err := c.GetSecret(context.Background(), provider.Ref{Key: "app"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range m {
		got[k] = string(v)
	}
	if diff := cmp.Diff(map[string]string{"user": "admin", "port": "5432", "tls": `{"on":true}`}, got); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
	s, err = c.GetSecret(context.Background(), provider.Ref{Key: "text"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Map(); err == nil || err.Error() != "value is not JSON" {
		t.Errorf("Map of a text value: got %v", err)
	}
}

// metadataPolicy Fetch: labels and annotations, as the External Secrets
// Operator returns them.
func TestMetadata(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", canary)
	h.emu.SetLabels("db", map[string]string{"team": "payments", "env": "prod"})
	h.emu.SetAnnotations("db", map[string]string{"owner": "alice@example.com"})
	h.emu.PutSecret("bare", canary)
	c := h.client(nil)
	tests := map[string]struct {
		key, prop, want string
		wantErr         string
	}{
		"the whole object": {key: "db", want: `{"annotations":{"owner":"alice@example.com"},"labels":{"env":"prod","team":"payments"}}`},
		"one label":        {key: "db", prop: "labels.team", want: "payments"},
		"one annotation":   {key: "db", prop: "annotations.owner", want: "alice@example.com"},
		"all labels":       {key: "db", prop: "labels", want: `{"env":"prod","team":"payments"}`},
		"no labels":        {key: "bare", want: `{"annotations":{},"labels":{}}`},
		"a missing label":  {key: "db", prop: "labels.nope", wantErr: `property "labels.nope": not found`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(c, provider.Ref{Key: tc.key, Metadata: true}, tc.prop)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("want error %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if n := h.emu.Calls("AccessSecretVersion"); n != 0 {
		t.Errorf("metadata reads read %d versions, want none", n)
	}
}

func TestFind(t *testing.T) {
	seed := func(e *gcpemu.Server) {
		e.PutSecret("app-db", "db")
		e.PutSecret("app-api", "api")
		e.PutSecret("other-db", "other")
		e.PutSecret("zapp-x", "x")
		e.CreateSecret("app-empty") // no versions: left out
		e.SetLabels("app-db", map[string]string{"team": "payments", "env": "prod"})
		e.SetLabels("app-api", map[string]string{"team": "payments", "env": "dev"})
		e.SetLabels("other-db", map[string]string{"team": "search", "env": "prod"})
		e.PutSecret("projects/"+project+"/locations/us-east1/secrets/app-regional", "regional")
	}
	tests := map[string]struct {
		spec       func(*secretstore.GCPSMProvider)
		find       provider.Find
		want       map[string]string
		wantFilter string
		wantErr    string
		// lists is how many ListSecrets calls, with pages of 2; reads how
		// many AccessSecretVersion calls.
		lists, reads int
	}{
		"every secret": {
			find:  provider.Find{},
			want:  map[string]string{"app-db": "db", "app-api": "api", "other-db": "other", "zapp-x": "x"},
			lists: 3,
			reads: 5, // and app-empty, which has no version
		},
		"by name": {
			find:  provider.Find{Name: "-db$"},
			want:  map[string]string{"app-db": "db", "other-db": "other"},
			lists: 3,
			reads: 2,
		},
		"by path, a prefix of the ID": {
			find:       provider.Find{Path: "app"},
			want:       map[string]string{"app-db": "db", "app-api": "api"},
			wantFilter: "name:app",
			lists:      2, // zapp-x matches the filter, not the prefix
			reads:      3,
		},
		"by labels": {
			find:       provider.Find{Tags: map[string]string{"team": "payments", "env": "prod"}},
			want:       map[string]string{"app-db": "db"},
			wantFilter: "labels.env=prod AND labels.team=payments",
			lists:      1,
			reads:      1,
		},
		"by name and labels": {
			find:  provider.Find{Name: "^other", Tags: map[string]string{"env": "prod"}},
			want:  map[string]string{"other-db": "other"},
			lists: 1,
			reads: 1,
		},
		"a label no secret can carry lists nothing": {
			find: provider.Find{Tags: map[string]string{"Team": "payments"}},
			want: map[string]string{},
		},
		"a path no ID can start with lists nothing": {
			find: provider.Find{Path: "app/"},
			want: map[string]string{},
		},
		"in a location": {
			spec:  func(g *secretstore.GCPSMProvider) { g.Location = "us-east1" },
			find:  provider.Find{Path: "app"},
			want:  map[string]string{"app-regional": "regional"},
			lists: 1,
			reads: 1,
		},
		"a bad regexp": {
			find:    provider.Find{Name: "("},
			wantErr: "find: name regexp",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			seed(h.emu)
			h.emu.SetMaxPageSize(2)
			got, err := h.client(tc.spec).(provider.Finder).Find(context.Background(), tc.find)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("Find (-want +got):\n%s", diff)
			}
			if n := h.emu.Calls("ListSecrets"); n != tc.lists {
				t.Errorf("%d ListSecrets calls, want %d", n, tc.lists)
			}
			if reqs := h.emu.Requests("ListSecrets"); tc.wantFilter != "" {
				if f := reqs[0].(*secretmanagerpb.ListSecretsRequest).GetFilter(); f != tc.wantFilter {
					t.Errorf("filter %q, want %q", f, tc.wantFilter)
				}
			}
			if n := h.emu.Calls("AccessSecretVersion"); n != tc.reads {
				t.Errorf("%d AccessSecretVersion calls, want %d", n, tc.reads)
			}
		})
	}
}

// A find fails as a whole when a matching secret cannot be read, naming it.
func TestFindErrors(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 6; i++ {
		h.emu.PutSecret(fmt.Sprintf("s%d", i), "v")
	}
	h.emu.SetVersionState("s3", 1, gcpemu.Disabled)
	_, err := h.client(nil).(provider.Finder).Find(context.Background(), provider.Find{})
	if err == nil || !strings.Contains(err.Error(), `find in SecretStore/team-a/gcp: secret "s3": Secret Manager AccessSecretVersion: FailedPrecondition`) {
		t.Fatalf("got %v", err)
	}
	got, err := h.client(fetch).(provider.Finder).Find(context.Background(), provider.Find{Name: "s[0-2]"})
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d secrets, %v", len(got), err)
	}
	h.emu.Deny("ListSecrets")
	_, err = h.client(nil).(provider.Finder).Find(context.Background(), provider.Find{})
	want := "find in SecretStore/team-a/gcp: Secret Manager ListSecrets: PermissionDenied: Permission 'secretmanager.secrets.list' denied for resource 'projects/acme-prod' (or it may not exist). (grant the store's identity"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestServerErrors(t *testing.T) {
	tests := map[string]struct {
		fail    func(*gcpemu.Server)
		want    string
		wantErr string
		calls   int
	}{
		"permission denied names the key and the permission": {
			fail:    func(e *gcpemu.Server) { e.Deny("AccessSecretVersion") },
			wantErr: `secret "db" in SecretStore/team-a/gcp: Secret Manager AccessSecretVersion: PermissionDenied: Permission 'secretmanager.versions.access' denied for resource 'projects/acme-prod/secrets/db/versions/latest' (or it may not exist). (grant the store's identity the permission named, such as roles/secretmanager.secretAccessor for reads)`,
			calls:   1,
		},
		"unavailable is retried": {
			fail:  func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.Unavailable, 2) },
			want:  canary,
			calls: 3,
		},
		"retries are bounded": {
			fail:    func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.Unavailable, 10) },
			wantErr: "Secret Manager AccessSecretVersion: Unavailable: injected Unavailable for AccessSecretVersion",
			calls:   3,
		},
		"resource exhausted is retried": {
			fail:  func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.ResourceExhausted, 1) },
			want:  canary,
			calls: 2,
		},
		"internal errors are not retried": {
			fail:    func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.Internal, 1) },
			wantErr: "Secret Manager AccessSecretVersion: Internal: injected Internal",
			calls:   1,
		},
		"a corrupted payload is refused": {
			fail:    func(e *gcpemu.Server) { e.CorruptPayloads(true) },
			wantErr: "the data of projects/100000000001/secrets/db/versions/1 does not match its checksum",
			calls:   1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.emu.PutSecret("db", canary)
			tc.fail(h.emu)
			got, err := read(h.client(nil), provider.Ref{Key: "db"}, "")
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
			case tc.wantErr == "" && (err != nil || got != tc.want):
				t.Fatalf("got %q, %v", got, err)
			}
			if errors.Is(err, provider.ErrNotFound) {
				t.Errorf("%v must not be ErrNotFound", err)
			}
			if n := h.emu.Calls("AccessSecretVersion"); n != tc.calls {
				t.Errorf("%d AccessSecretVersion calls, want %d", n, tc.calls)
			}
		})
	}
}

// One client serves every read with one connection and one token, and
// closing it ends them.
func TestClientReuse(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 10; i++ {
		h.emu.PutSecret(fmt.Sprintf("s%d", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	c, err := h.newClient(h.store(nil))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		go func() {
			got, err := read(c, provider.Ref{Key: fmt.Sprintf("s%d", i%10)}, "n")
			if err == nil && got != fmt.Sprint(i%10) {
				err = fmt.Errorf("s%d: got %q", i%10, got)
			}
			errs <- err
		}()
	}
	for i := 0; i < 50; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := h.emu.Calls("oauth2.token"); n != 1 {
		t.Errorf("%d token requests for 50 reads, want 1", n)
	}
	if err := c.(provider.Closer).Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := read(c, provider.Ref{Key: "s1"}, ""); err == nil {
		t.Error("a closed client still reads")
	}
}

func TestValidate(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.client(nil).(provider.Validator).Validate(ctx); err != nil {
		t.Fatalf("Validate with a good key: %v", err)
	}
	if got := h.emu.CallCounts(); !cmp.Equal(got, map[string]int{"oauth2.token": 1}) {
		t.Errorf("Validate made calls %v, want one token request and no Secret Manager call", got)
	}

	anonymous := h.client(func(g *secretstore.GCPSMProvider) { g.Auth = secretstore.GCPSMAuth{} }, gcp.WithoutAuthentication())
	if err := anonymous.(provider.Validator).Validate(ctx); err != nil {
		t.Errorf("Validate without authentication: %v", err)
	}
	_, err := read(anonymous, provider.Ref{Key: "db"}, "")
	if want := "Unauthenticated: Request had invalid authentication credentials"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("an unauthenticated read: want %q, got %v", want, err)
	}

	h.emu.DeleteServiceAccountKey(h.key)
	err = h.client(nil).(provider.Validator).Validate(ctx)
	want := "SecretStore/team-a/gcp: check credentials: get an access token: token endpoint answered 400 Bad Request: invalid_grant: Invalid JWT Signature."
	if err == nil || err.Error() != want {
		t.Errorf("Validate with a deleted key:\n got %v\nwant %s", err, want)
	}

	cancelled, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-cancelled.Done()
	if err := h.client(nil).(provider.Validator).Validate(cancelled); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Validate with an expired context: %v", err)
	}
}
