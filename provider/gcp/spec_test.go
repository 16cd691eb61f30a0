package gcp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

func TestValidateStore(t *testing.T) {
	key := secretstore.SecretKeySelector{Name: "gcp", Key: "key.json"}
	withKey := func(g *secretstore.GCPSMProvider) {
		g.Auth.SecretRef = &secretstore.GCPSMAuthSecretRef{SecretAccessKey: key}
	}
	ns := func(s string) *string { return &s }
	tests := map[string]struct {
		cluster bool
		spec    func(*secretstore.GCPSMProvider)
		want    string // in the error; empty when valid
	}{
		"Application Default Credentials": {},
		"a service-account key":           {spec: withKey},
		"workload identity":               {spec: workloadIdentity("reader")},
		"workload identity, cluster bare": {spec: func(g *secretstore.GCPSMProvider) {
			workloadIdentity("reader")(g)
			g.Auth.WorkloadIdentity.ClusterName = ""
		}},
		"a regional store":               {spec: func(g *secretstore.GCPSMProvider) { g.Location = "europe-west4" }},
		"LatestOrFetch":                  {spec: fetch},
		"a legacy domain-scoped project": {spec: func(g *secretstore.GCPSMProvider) { g.ProjectID = "example.com:acme" }},
		"a project number":               {spec: func(g *secretstore.GCPSMProvider) { g.ProjectID = "123456789012" }},
		"a zonal cluster": {spec: func(g *secretstore.GCPSMProvider) {
			workloadIdentity("reader")(g)
			g.Auth.WorkloadIdentity.ClusterLocation = "us-central1-a"
		}},
		"a cluster store naming namespaces": {cluster: true, spec: func(g *secretstore.GCPSMProvider) {
			withKey(g)
			g.Auth.SecretRef.SecretAccessKey.Namespace = ns("infra")
		}},
		"no project": {
			spec: func(g *secretstore.GCPSMProvider) { g.ProjectID = "" },
			want: `spec.provider.gcpsm.projectID "" is not a project ID`,
		},
		"a project with a slash": {
			spec: func(g *secretstore.GCPSMProvider) { g.ProjectID = "acme/secrets/x" },
			want: `spec.provider.gcpsm.projectID "acme/secrets/x" is not a project ID`,
		},
		"a location that is not a region": {
			spec: func(g *secretstore.GCPSMProvider) { g.Location = "evil.example.com:443/" },
			want: `spec.provider.gcpsm.location "evil.example.com:443/" is not a region`,
		},
		"an unknown policy": {
			spec: func(g *secretstore.GCPSMProvider) { g.SecretVersionSelectionPolicy = "Newest" },
			want: `secretVersionSelectionPolicy must be LatestOrFail or LatestOrFetch, not "Newest"`,
		},
		"two kinds of auth": {
			spec: func(g *secretstore.GCPSMProvider) { workloadIdentity("reader")(g); withKey(g) },
			want: "set one of secretRef, workloadIdentity and workloadIdentityFederation",
		},
		"a key reference without a key": {
			spec: func(g *secretstore.GCPSMProvider) { withKey(g); g.Auth.SecretRef.SecretAccessKey.Key = "" },
			want: "secretAccessKeySecretRef needs name and key",
		},
		"a key in another namespace": {
			spec: func(g *secretstore.GCPSMProvider) {
				withKey(g)
				g.Auth.SecretRef.SecretAccessKey.Namespace = ns("infra")
			},
			want: `a credential reference may only name namespace "team-a", not "infra"`,
		},
		"a cluster store's key without a namespace": {
			cluster: true,
			spec:    withKey,
			want:    "ClusterSecretStore/gcp: a credential reference must set namespace",
		},
		"workload identity without a ServiceAccount": {
			spec: func(g *secretstore.GCPSMProvider) { workloadIdentity("")(g) },
			want: "serviceAccountRef.name is not set",
		},
		"a cluster name that is not one": {
			spec: func(g *secretstore.GCPSMProvider) {
				workloadIdentity("reader")(g)
				g.Auth.WorkloadIdentity.ClusterName = "prod/../x"
			},
			want: `workloadIdentity.clusterName "prod/../x" is not valid`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := &secretstore.GCPSMProvider{ProjectID: project}
			if tc.spec != nil {
				tc.spec(g)
			}
			spec := secretstore.Spec{Provider: &secretstore.Provider{GCPSM: g}}
			var store secretstore.GenericStore = &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "gcp", Namespace: namespace}, Spec: spec}
			if tc.cluster {
				store = &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "gcp"}, Spec: spec}
			}
			err := gcp.New().ValidateStore(store)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}

	other := &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "v", Namespace: namespace},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}}}
	if err := gcp.New().ValidateStore(other); err == nil || !strings.Contains(err.Error(), "spec.provider.gcpsm is not set") {
		t.Errorf("a store of another provider: %v", err)
	}
}

// Stores dial Secret Manager's global endpoint, or their location's
// regional one. A resolver sends both to the emulator, which records the
// endpoint each client dialled.
func TestEndpoints(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", "global")
	h.emu.PutSecret("projects/"+project+"/locations/europe-west4/secrets/db", "regional")
	for location, want := range map[string]string{
		"":             "secretmanager.googleapis.com:443",
		"europe-west4": "secretmanager.europe-west4.rep.googleapis.com:443",
	} {
		h.emu.ResetCalls()
		r := manual.NewBuilderWithScheme("dns")
		r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: h.emu.Addr}}})
		p := gcp.New(gcp.WithGRPCDialOptions(append(h.emu.DialOptions(), grpc.WithResolvers(r))...), gcp.WithTokenURL(h.emu.TokenURL()))
		c, err := p.NewClient(context.Background(), h.store(func(g *secretstore.GCPSMProvider) { g.Location = location }), h.creds)
		if err != nil {
			t.Fatal(err)
		}
		defer c.(provider.Closer).Close(context.Background())
		if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
			t.Fatalf("location %q: %v", location, err)
		}
		if diff := cmp.Diff([]string{want}, h.emu.Authorities()); diff != "" {
			t.Errorf("location %q: authorities (-want +got):\n%s", location, diff)
		}
	}
}
