package vault

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/internal/jwtcheck"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// The GCP login's JWT is what Vault's GCP auth method, IAM type, checks:
// signed by the service account's key, named by kid, with subject the
// account and audience vault/ROLE, valid for at most 15 minutes. Vault
// checks it against Google's copy of the key, which no emulator here
// plays, so the test checks the JWT itself.
func TestGCPLoginJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{
		"type": "service_account", "client_email": "vault-login@acme.iam.gserviceaccount.com",
		"private_key_id": "kid-1", "private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	k, email, kid, err := parseServiceAccountKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	tok, err := signGCPLoginJWT(k, kid, email, "app", now)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwtcheck.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.Verify(&key.PublicKey) {
		t.Fatal("the JWT's signature does not verify with the service account's key")
	}
	exp := now.Add(gcpJWTLifetime).Unix()
	want := jwtcheck.Claims{Issuer: email, Subject: email, Audience: jwtcheck.Audience{"vault/app"}, Expiry: &exp}
	if diff := cmp.Diff(want, parsed.Claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if parsed.KeyID != "kid-1" || parsed.Alg != "RS256" {
		t.Errorf("header kid %q alg %q, want kid-1 RS256", parsed.KeyID, parsed.Alg)
	}

	for name, bad := range map[string]string{
		"not JSON":         "-----BEGIN PRIVATE KEY-----",
		"not an account":   `{"type":"authorized_user","client_email":"a@b","private_key":"x"}`,
		"a key not in PEM": `{"type":"service_account","client_email":"a@b","private_key":"c2VjcmV0LWtleQ=="}`,
	} {
		_, _, _, err := parseServiceAccountKey([]byte(bad))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "c2VjcmV0LWtleQ") || strings.Contains(err.Error(), "BEGIN") {
			t.Errorf("%s: the error %q holds the key", name, err)
		}
	}
}

// With workloadIdentity, the login JWT is signed by IAM Credentials'
// signJwt as the ServiceAccount's annotated Google service account, with
// the access token its GKE workload identity gets at STS. Against the GCP
// emulator; Vault's check of the JWT against Google's copy of the key is
// not proven.
func TestGCPWorkloadIdentityJWT(t *testing.T) {
	const (
		issuer  = "https://kubernetes.default.svc"
		project = "acme-prod"
		pool    = project + ".svc.id.goog"
		cluster = "https://container.googleapis.com/v1/projects/acme-prod/locations/europe-west4/clusters/prod-1"
		gsa     = "vault-login@acme-prod.iam.gserviceaccount.com"
	)
	emu := gcpemu.New(project)
	t.Cleanup(emu.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	emu.TrustIssuer(issuer, &key.PublicKey)
	emu.AddWorkloadPool(gcpemu.WorkloadPool{Pool: pool, Provider: cluster, Issuer: issuer})
	emu.AllowImpersonation(gsa, "serviceAccount:"+pool+"[team/app]")
	creds := &fake.Credentials{}
	creds.SetAnnotations("team", "app", map[string]string{gkeServiceAccountAnnotation: gsa})
	creds.SetAnnotations("team", "stranger", map[string]string{gkeServiceAccountAnnotation: gsa})
	creds.SetAnnotations("team", "plain", nil)
	creds.SetToken(func(_ context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
		now := time.Now()
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
			"iss": issuer, "sub": "system:serviceaccount:" + ns + ":" + name, "aud": audiences,
			"iat": now.Unix(), "exp": now.Add(exp).Unix(),
		})
		digest := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		return signed + "." + base64.RawURLEncoding.EncodeToString(sig), err
	})
	store := &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "vault", Namespace: "team"}}
	google := googleEndpoints{sts: emu.STSURL(), iam: emu.URL}
	spec := func(sa string) *secretstore.VaultGCPAuth {
		return &secretstore.VaultGCPAuth{Role: "app", WorkloadIdentity: &secretstore.GCPWorkloadIdentity{
			ServiceAccountRef: secretstore.ServiceAccountSelector{Name: sa},
			ClusterProjectID:  project, ClusterLocation: "europe-west4", ClusterName: "prod-1",
		}}
	}
	tests := map[string]struct {
		sa, newErr, signErr string
	}{
		"the annotated Google service account":    {sa: "app"},
		"a ServiceAccount IAM does not let sign":  {sa: "stranger", signErr: "IAM Credentials signJwt: HTTP 403"},
		"a ServiceAccount without the annotation": {sa: "plain", newErr: "has no iam.gke.io/gcp-service-account annotation"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			emu.ResetCalls()
			signer, err := newGKESigner(context.Background(), store, spec(tc.sa), creds, google)
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("want an error with %q, got %v", tc.newErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			tok, err := signer.sign(context.Background(), "app", now)
			if tc.signErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.signErr) {
					t.Fatalf("want an error with %q, got %v", tc.signErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jwtcheck.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			kid, pub, err := emu.SystemKey(gsa)
			if err != nil {
				t.Fatal(err)
			}
			if !parsed.Verify(pub) || parsed.KeyID != kid {
				t.Fatal("the JWT is not signed with the Google service account's key")
			}
			exp := now.Add(gcpJWTLifetime).Unix()
			want := jwtcheck.Claims{Subject: gsa, Audience: jwtcheck.Audience{"vault/app"}, Expiry: &exp}
			if diff := cmp.Diff(want, parsed.Claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{pool}, creds.LastAudiences()); diff != "" {
				t.Errorf("ServiceAccount token audiences (-want +got):\n%s", diff)
			}
			if n, m := emu.Calls("sts.token"), emu.Calls("iamcredentials.signJwt"); n != 1 || m != 1 {
				t.Errorf("%d token exchanges and %d signJwt calls, want 1 each", n, m)
			}
		})
	}
}
