package gcp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	fedPool     = "iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/k8s"
	fedProvider = "//" + fedPool + "/providers/onprem"
	fedIssuer   = "https://onprem.example.com"
)

func federation(mod func(*secretstore.GCPWorkloadIdentityFederation)) func(*secretstore.GCPSMProvider) {
	return func(g *secretstore.GCPSMProvider) {
		f := &secretstore.GCPWorkloadIdentityFederation{Audience: fedProvider}
		mod(f)
		g.Auth = secretstore.GCPSMAuth{WorkloadIdentityFederation: f}
	}
}

func serviceAccountRef(name string) func(*secretstore.GCPWorkloadIdentityFederation) {
	return func(f *secretstore.GCPWorkloadIdentityFederation) {
		f.ServiceAccountRef = &secretstore.ServiceAccountSelector{Name: name}
	}
}

func credConfig(f *secretstore.GCPWorkloadIdentityFederation) {
	f.CredConfig = &secretstore.ConfigMapReference{Name: "cred-config", Key: "credentials.json"}
}

// Workload identity federation exchanges a ServiceAccount token, or a
// token a credential configuration's URL serves, at STS through a pool
// provider that trusts their issuer, with the configured audience.
func TestWorkloadIdentityFederation(t *testing.T) {
	h := newHarness(t)
	h.emu.PutSecret("db", "v")
	s := newSigner(t, fedIssuer)
	h.emu.TrustIssuer(fedIssuer, &s.key.PublicKey)
	h.emu.AddFederationProvider(gcpemu.FederationProvider{Name: fedProvider, Issuer: fedIssuer, AllowedAudiences: []string{fedProvider}})
	h.emu.AllowImpersonation(gsa, "principal://"+fedPool+"/subject/system:serviceaccount:team-a:impersonator")
	h.creds.SetToken(s.token)
	h.creds.SetAnnotations(namespace, "impersonator", map[string]string{gcp.ServiceAccountAnnotation: gsa})
	h.creds.SetAnnotations(namespace, "reader", nil)

	// An external token endpoint, as credential_source.url names one.
	tokenServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := s.token(r.Context(), "ci", "runner", []string{fedProvider}, time.Minute)
		_, _ = w.Write([]byte(tok))
	}))
	t.Cleanup(tokenServer.Close)
	h.creds.SetConfigMap(namespace, "cred-config", "credentials.json", `{
  "type": "external_account",
  "audience": "`+fedProvider+`",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
  "token_url": "`+h.emu.STSURL()+`",
  "credential_source": {"url": "`+tokenServer.URL+`", "format": {"type": "text"}}
}`)
	h.creds.SetConfigMap(namespace, "file-config", "credentials.json", `{
  "type": "external_account",
  "audience": "`+fedProvider+`",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
  "credential_source": {"file": "/var/run/secrets/kubernetes.io/serviceaccount/token"}
}`)

	tests := map[string]struct {
		spec   func(*secretstore.GCPSMProvider)
		newErr string
		caller string
		auds   []string
	}{
		"a ServiceAccount as an IAM principal": {
			spec:   federation(serviceAccountRef("reader")),
			caller: "principal://" + fedPool + "/subject/system:serviceaccount:team-a:reader",
			auds:   []string{fedProvider},
		},
		"a ServiceAccount impersonating its annotated Google service account": {
			spec:   federation(serviceAccountRef("impersonator")),
			caller: "serviceAccount:" + gsa,
			auds:   []string{fedProvider},
		},
		"a credential configuration with a token URL": {
			spec: federation(func(f *secretstore.GCPWorkloadIdentityFederation) {
				credConfig(f)
				f.Audience = ""
				f.ExternalTokenEndpoint = tokenServer.URL
			}),
			caller: "principal://" + fedPool + "/subject/system:serviceaccount:ci:runner",
		},
		"a credential configuration whose URL is not externalTokenEndpoint": {
			spec: federation(func(f *secretstore.GCPWorkloadIdentityFederation) {
				credConfig(f)
				f.ExternalTokenEndpoint = "https://token.example.com/token"
			}),
			newErr: `credConfig's credential_source.url "` + tokenServer.URL + `" is not externalTokenEndpoint "https://token.example.com/token"`,
		},
		"a credential configuration that reads the controller's files": {
			spec: federation(func(f *secretstore.GCPWorkloadIdentityFederation) {
				f.CredConfig = &secretstore.ConfigMapReference{Name: "file-config", Key: "credentials.json"}
			}),
			newErr: "credential_source.file reads the controller's files and is refused",
		},
		"a ServiceAccount without an audience": {
			spec:   federation(func(f *secretstore.GCPWorkloadIdentityFederation) { serviceAccountRef("reader")(f); f.Audience = "" }),
			newErr: "audience is required with serviceAccountRef or awsSecurityCredentials",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h.emu.ResetCalls()
			c, err := h.newClient(h.store(tc.spec))
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("NewClient: want an error with %q, got %v", tc.newErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if got, err := read(c, provider.Ref{Key: "db"}, ""); err != nil || got != "v" {
					t.Fatalf("read: %q, %v", got, err)
				}
			}
			if diff := cmp.Diff([]string{tc.caller}, h.emu.Callers("AccessSecretVersion")); diff != "" {
				t.Errorf("callers (-want +got):\n%s", diff)
			}
			if n := h.emu.Calls("sts.token"); n != 1 {
				t.Errorf("%d token exchanges for two reads, want 1", n)
			}
			if tc.auds != nil {
				if diff := cmp.Diff(tc.auds, h.creds.LastAudiences()); diff != "" {
					t.Errorf("ServiceAccount token audiences (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The AWS variant is checked as far as the spec goes: the emulator does
// not accept AWS subject tokens.
func TestWorkloadIdentityFederationSpec(t *testing.T) {
	h := newHarness(t)
	tests := map[string]struct {
		mod  func(*secretstore.GCPWorkloadIdentityFederation)
		want string
	}{
		"AWS keys": {mod: func(f *secretstore.GCPWorkloadIdentityFederation) {
			f.AwsSecurityCredentials = &secretstore.AwsCredentialsConfig{Region: "ap-south-1", AwsCredentialsSecretRef: &secretstore.SecretReference{Name: "aws"}}
		}},
		"nothing to exchange": {mod: func(*secretstore.GCPWorkloadIdentityFederation) {}, want: "set credConfig, serviceAccountRef or awsSecurityCredentials"},
		"AWS keys and a ServiceAccount": {mod: func(f *secretstore.GCPWorkloadIdentityFederation) {
			serviceAccountRef("reader")(f)
			f.AwsSecurityCredentials = &secretstore.AwsCredentialsConfig{Region: "ap-south-1", AwsCredentialsSecretRef: &secretstore.SecretReference{Name: "aws"}}
		}, want: "set serviceAccountRef or awsSecurityCredentials, not both"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := gcp.New().ValidateStore(h.store(federation(tc.mod)))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}
