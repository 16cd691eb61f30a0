package gcp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

// hits counts the requests an HTTP server gets; a provider must not call it.
func hits(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "nothing here", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestServiceAccountKeyErrors(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", "v")
	elsewhere, elsewhereHits := hits(t)

	external, _ := json.Marshal(map[string]any{
		"type":               "external_account",
		"audience":           "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/p",
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          elsewhere.URL,
		"credential_source":  map[string]any{"url": elsewhere.URL, "file": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
	})
	h.creds.SetSecret(namespace, "external", "key.json", string(external))
	h.creds.SetSecret(namespace, "text", "key.json", "not json "+canary)
	h.creds.SetSecret(namespace, "nokey", "key.json", `{"type":"service_account","client_email":"x@y.iam.gserviceaccount.com","private_key":"`+canary+`"}`)
	var other map[string]string
	json.Unmarshal(h.key, &other)
	other["token_uri"] = elsewhere.URL
	otherURI, _ := json.Marshal(other)
	h.creds.SetSecret(namespace, "other-uri", "key.json", string(otherURI))

	keyIn := func(name string) func(*secretstore.GCPSMProvider) {
		return func(g *secretstore.GCPSMProvider) { g.Auth.SecretRef.SecretAccessKey.Name = name }
	}
	tests := map[string]struct {
		spec func(*secretstore.GCPSMProvider)
		// newErr is NewClient's error, readErr the read's; both empty
		// for success.
		newErr, readErr string
	}{
		"a missing Secret": {
			spec:   keyIn("missing"),
			newErr: `SecretStore/team-a/gcp: service-account key: read key "key.json" of Secret team-a/missing: Secret team-a/missing key key.json: not found`,
		},
		"a key that is not JSON": {
			spec:   keyIn("text"),
			newErr: `SecretStore/team-a/gcp: the service-account key in key "key.json" of Secret text is not JSON`,
		},
		"a credential file that is not a service-account key": {
			spec:   keyIn("external"),
			newErr: `SecretStore/team-a/gcp: the credentials in key "key.json" of Secret external are of type "external_account"; only a service-account key (type service_account) is accepted`,
		},
		"a key without a private key": {
			spec:   keyIn("nokey"),
			newErr: `SecretStore/team-a/gcp: the service-account key in key "key.json" of Secret nokey needs client_email and a PEM private_key`,
		},
		"a key naming another token_uri is exchanged at Google's": {
			spec: keyIn("other-uri"),
		},
		"a Secret in another namespace": {
			spec: func(g *secretstore.GCPSMProvider) {
				other := "team-b"
				g.Auth.SecretRef.SecretAccessKey.Namespace = &other
			},
			newErr: `SecretStore/team-a/gcp: a credential reference may only name namespace "team-a", not "team-b"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := h.newClient(h.store(tc.spec))
			if tc.newErr != "" {
				if err == nil || err.Error() != tc.newErr {
					t.Fatalf("NewClient:\n got %v\nwant %s", err, tc.newErr)
				}
				if errors.Is(err, provider.ErrNotFound) {
					t.Errorf("a credential error must not be ErrNotFound: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := elsewhereHits.Load(); n != 0 {
		t.Errorf("the provider sent %d requests to URLs a credential named", n)
	}
}

func TestAccessTokensAreRefreshed(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", "v")
	// oauth2 refreshes tokens 10 seconds before they expire.
	h.emu.SetTokenLifetime(5 * time.Second)
	c := h.client(nil)
	for i := 0; i < 3; i++ {
		if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.emu.Calls("oauth2.token"); n != 3 {
		t.Errorf("%d token requests for 3 reads with tokens about to expire, want 3", n)
	}
}

// Without auth, the store reads with Application Default Credentials: here
// a key file named by GOOGLE_APPLICATION_CREDENTIALS.
func TestApplicationDefaultCredentials(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", "v")
	noAuth := func(g *secretstore.GCPSMProvider) { g.Auth = secretstore.GCPSMAuth{} }

	file := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(file, h.key, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
	if got, err := read(h.client(noAuth), provider.Ref{Key: "db"}, ""); err != nil || got != "v" {
		t.Fatalf("got %q, %v", got, err)
	}
	if diff := cmp.Diff([]string{"serviceAccount:" + reader}, h.emu.Callers("AccessSecretVersion")); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	_, err := h.newClient(h.store(noAuth))
	want := "SecretStore/team-a/gcp: no auth is set and Application Default Credentials are not available"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

const (
	clusterURL = "https://container.googleapis.com/v1/projects/acme-prod/locations/europe-west4/clusters/prod-1"
	pool       = "acme-prod.svc.id.goog"
	gsa        = "secrets@acme-prod.iam.gserviceaccount.com"
)

func workloadIdentity(sa string) func(*secretstore.GCPSMProvider) {
	return func(g *secretstore.GCPSMProvider) {
		g.Auth = secretstore.GCPSMAuth{WorkloadIdentity: &secretstore.GCPWorkloadIdentity{
			ServiceAccountRef: secretstore.ServiceAccountSelector{Name: sa},
			ClusterProjectID:  "acme-prod",
			ClusterLocation:   "europe-west4",
			ClusterName:       "prod-1",
		}}
	}
}

// newWorkloadIdentityHarness is a harness for workload identity with
// tokens from a stand-in signer the emulator trusts for the pool. The
// ServiceAccounts impersonator and pretender name gsa, which only
// impersonator may impersonate; odd names a malformed service account.
func newWorkloadIdentityHarness(t *testing.T) *harness {
	t.Helper()
	const issuer = "https://kubernetes.default.svc"
	h := newHarness(t)
	s := newSigner(t, issuer)
	h.emu.TrustIssuer(issuer, &s.key.PublicKey)
	h.emu.AddWorkloadPool(gcpemu.WorkloadPool{Pool: pool, Provider: clusterURL, Issuer: issuer})
	h.emu.AllowImpersonation(gsa, "serviceAccount:"+pool+"[team-a/impersonator]")
	h.creds.SetToken(s.token)
	h.creds.SetAnnotations(namespace, "impersonator", map[string]string{gcp.ServiceAccountAnnotation: gsa})
	h.creds.SetAnnotations(namespace, "pretender", map[string]string{gcp.ServiceAccountAnnotation: gsa})
	h.creds.SetAnnotations(namespace, "odd", map[string]string{gcp.ServiceAccountAnnotation: "secrets@x/../y"})
	return h
}

// Workload identity with tokens from a stand-in signer; the test against a
// real kube-apiserver follows.
func TestWorkloadIdentity(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newWorkloadIdentityHarness(t)
		h.emu.PutSecret("db", "v")
		return h
	}
	tests := map[string]struct {
		spec    func(*secretstore.GCPSMProvider)
		newErr  string
		readErr string
		caller  string
		calls   map[string]int // of three reads
	}{
		"the federated token, for IAM bindings on the Kubernetes ServiceAccount": {
			spec:   workloadIdentity("reader"),
			caller: "serviceAccount:" + pool + "[team-a/reader]",
			calls:  map[string]int{"sts.token": 1, "AccessSecretVersion": 3},
		},
		"impersonating the annotated Google service account": {
			spec:   workloadIdentity("impersonator"),
			caller: "serviceAccount:" + gsa,
			calls:  map[string]int{"sts.token": 1, "iamcredentials.generateAccessToken": 1, "AccessSecretVersion": 3},
		},
		"impersonation IAM does not allow": {
			spec:    workloadIdentity("pretender"),
			readErr: `Secret Manager AccessSecretVersion: Unauthenticated: get an access token: oauth2/google: status code 403: {"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED"}} (check the store's credentials)`,
		},
		"a cluster STS does not know": {
			spec: func(g *secretstore.GCPSMProvider) {
				workloadIdentity("reader")(g)
				g.Auth.WorkloadIdentity.ClusterName = "staging"
			},
			readErr: `status code 400: {"error":"invalid_target"`,
		},
		"an annotation that is not an email": {
			spec:   workloadIdentity("odd"),
			newErr: `SecretStore/team-a/gcp: annotation iam.gke.io/gcp-service-account of ServiceAccount team-a/odd is not a service account's email: "secrets@x/../y"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := setup(t)
			c, err := h.newClient(h.store(tc.spec))
			if tc.newErr != "" {
				if err == nil || err.Error() != tc.newErr {
					t.Fatalf("NewClient:\n got %v\nwant %s", err, tc.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				_, err = read(c, provider.Ref{Key: "db"}, "")
				if err != nil {
					break
				}
			}
			if tc.readErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.readErr) {
					t.Fatalf("want an error containing %q, got %v", tc.readErr, err)
				}
				if n := h.emu.Calls("AccessSecretVersion"); n != 0 {
					t.Errorf("%d calls reached Secret Manager without a token", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.caller}, h.emu.Callers("AccessSecretVersion")); diff != "" {
				t.Errorf("callers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.calls, h.emu.CallCounts()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if n := h.creds.TokenRequests(); n != 1 {
				t.Errorf("%d TokenRequests for 3 reads, want 1", n)
			}
			if diff := cmp.Diff([]string{pool}, h.creds.LastAudiences()); diff != "" {
				t.Errorf("token audiences (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("tokens are exchanged again before they expire", func(t *testing.T) {
		h := setup(t)
		h.emu.SetTokenLifetime(5 * time.Second)
		c := h.client(workloadIdentity("impersonator"))
		for i := 0; i < 2; i++ {
			if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]int{"sts.token": 2, "iamcredentials.generateAccessToken": 2, "AccessSecretVersion": 2}
		if diff := cmp.Diff(want, h.emu.CallCounts()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
		if n := h.creds.TokenRequests(); n != 2 {
			t.Errorf("%d TokenRequests, want 2", n)
		}
	})

	t.Run("a failed TokenRequest is not ErrNotFound", func(t *testing.T) {
		h := setup(t)
		h.creds.SetToken(func(context.Context, string, string, []string, time.Duration) (string, error) {
			return "", fmt.Errorf("serviceaccounts %q: %w", "reader", provider.ErrNotFound)
		})
		c := h.client(workloadIdentity("reader"))
		_, err := read(c, provider.Ref{Key: "db"}, "")
		want := `get an access token: SecretStore/team-a/gcp: workload identity: request token for ServiceAccount team-a/reader: serviceaccounts "reader": not found`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in the error, got %v", want, err)
		}
		if errors.Is(err, provider.ErrNotFound) {
			t.Errorf("a credential error must not be ErrNotFound: %v", err)
		}
		if err := c.(provider.Validator).Validate(context.Background()); err == nil || !strings.Contains(err.Error(), "check credentials: "+want) {
			t.Errorf("Validate: %v", err)
		}
	})

	t.Run("the cluster from the metadata server", func(t *testing.T) {
		h := setup(t)
		t.Setenv("GCE_METADATA_HOST", h.emu.MetadataHost())
		h.emu.SetMetadata("project/project-id", "acme-prod")
		h.emu.SetMetadata("instance/attributes/cluster-location", "europe-west4")
		h.emu.SetMetadata("instance/attributes/cluster-name", "prod-1")
		bare := func(g *secretstore.GCPSMProvider) {
			workloadIdentity("reader")(g)
			wi := g.Auth.WorkloadIdentity
			wi.ClusterProjectID, wi.ClusterLocation, wi.ClusterName = "", "", ""
		}
		if _, err := read(h.client(bare), provider.Ref{Key: "db"}, ""); err != nil {
			t.Fatal(err)
		}
		if n := h.emu.Calls("metadata"); n != 3 {
			t.Errorf("%d metadata requests, want 3", n)
		}

		h.emu.SetMetadata("instance/attributes/cluster-name", "Not A Cluster")
		_, err := h.newClient(h.store(bare))
		want := `SecretStore/team-a/gcp: workload identity: clusterName is not set and the GCE metadata server's "Not A Cluster" is not valid`
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
}

// Workload identity with tokens from the TokenRequest API of a real
// kube-apiserver, which the emulator's STS verifies against the
// apiserver's signing key.
func TestWorkloadIdentityWithAPIServer(t *testing.T) {
	env := testenv.StartForTest(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"reader", "impersonator"} {
		if _, err := kube.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	apiserverToken := func(ctx context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
		secs := int64(exp / time.Second)
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &secs},
		}, metav1.CreateOptions{})
		if err != nil {
			return "", err
		}
		return tr.Status.Token, nil
	}
	pub, err := os.ReadFile(filepath.Join(env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := env.Config.Host + "/"

	h := newHarness(t)
	if err := h.emu.TrustIssuerPEM(issuer, pub); err != nil {
		t.Fatal(err)
	}
	h.emu.AddWorkloadPool(gcpemu.WorkloadPool{Pool: pool, Provider: clusterURL, Issuer: issuer})
	h.emu.AllowImpersonation(gsa, "serviceAccount:"+pool+"[team-a/impersonator]")
	h.creds.SetAnnotations(namespace, "impersonator", map[string]string{gcp.ServiceAccountAnnotation: gsa})
	h.emu.PutSecret("db", `{"password":"`+canary+`"}`)

	t.Run("reads, exchanging one token", func(t *testing.T) {
		for _, sa := range []string{"reader", "impersonator"} {
			h.emu.ResetCalls()
			h.creds.SetToken(apiserverToken)
			tokens := h.creds.TokenRequests()
			c := h.client(workloadIdentity(sa))
			if err := c.(provider.Validator).Validate(ctx); err != nil {
				t.Fatalf("%s: Validate: %v", sa, err)
			}
			for i := 0; i < 3; i++ {
				if got, err := read(c, provider.Ref{Key: "db"}, "password"); err != nil || got != canary {
					t.Fatalf("%s: got %q, %v", sa, got, err)
				}
			}
			if n := h.creds.TokenRequests() - tokens; n != 1 {
				t.Errorf("%s: %d TokenRequests, want 1", sa, n)
			}
			if n := h.emu.Calls("sts.token"); n != 1 {
				t.Errorf("%s: %d token exchanges, want 1", sa, n)
			}
			want := "serviceAccount:" + pool + "[team-a/reader]"
			if sa == "impersonator" {
				want = "serviceAccount:" + gsa
			}
			if diff := cmp.Diff([]string{want}, h.emu.Callers("AccessSecretVersion")); diff != "" {
				t.Errorf("callers (-want +got):\n%s", diff)
			}
		}
	})

	t.Run("a token the apiserver did not sign is refused", func(t *testing.T) {
		h.emu.ResetCalls()
		forger, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		h.creds.SetToken((&signer{issuer: issuer, key: forger}).token)
		_, err = read(h.client(workloadIdentity("reader")), provider.Ref{Key: "db"}, "")
		want := `oauth2/google: status code 400: {"error":"invalid_grant","error_description":"Invalid JWT signature."}`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in the error, got %v", want, err)
		}
		if n := h.emu.Calls("AccessSecretVersion"); n != 0 {
			t.Errorf("%d calls reached Secret Manager", n)
		}
	})

	t.Run("a token for another audience is refused", func(t *testing.T) {
		h.creds.SetToken(func(ctx context.Context, ns, name string, _ []string, exp time.Duration) (string, error) {
			return apiserverToken(ctx, ns, name, []string{"vault"}, exp)
		})
		_, err := read(h.client(workloadIdentity("reader")), provider.Ref{Key: "db"}, "")
		want := "The audience in ID Token does not match the expected audience."
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in the error, got %v", want, err)
		}
	})
}
