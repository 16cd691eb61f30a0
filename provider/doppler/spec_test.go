package doppler_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider/doppler"
	"github.com/secretsync/secretsync/secretstore"
)

func TestValidateStore(t *testing.T) {
	other := "other"
	tests := map[string]struct {
		mod     func(*secretstore.DopplerProvider)
		cluster bool
		want    string // in the error; empty when valid
	}{
		"a service token":                   {},
		"a personal token with a config":    {mod: func(d *secretstore.DopplerProvider) { d.Project, d.Config = "auth-api", "prd" }},
		"every name transformer and format": {mod: func(d *secretstore.DopplerProvider) { d.NameTransformer, d.Format = "dotnet-env", "dotnet-json" }},
		"a project without a config": {mod: func(d *secretstore.DopplerProvider) { d.Project = "auth-api" },
			want: "set project and config together"},
		"an unknown name transformer": {mod: func(d *secretstore.DopplerProvider) { d.NameTransformer = "dotnet" },
			want: `nameTransformer "dotnet" is not one of`},
		"an unknown format": {mod: func(d *secretstore.DopplerProvider) { d.Format = "env-no-quotes" },
			want: `format "env-no-quotes" is not one of`},
		"no auth": {mod: func(d *secretstore.DopplerProvider) { d.Auth = nil },
			want: "set exactly one of secretRef and oidcConfig"},
		"a token reference without key, which defaults to dopplerToken": {mod: func(d *secretstore.DopplerProvider) { d.Auth.SecretRef.DopplerToken.Key = "" }},
		"a token reference without name": {mod: func(d *secretstore.DopplerProvider) { d.Auth.SecretRef.DopplerToken.Name = "" },
			want: "dopplerToken.name is not set"},
		"oidcConfig": {mod: oidcConfig("id-1")},
		"secretRef and oidcConfig": {mod: func(d *secretstore.DopplerProvider) {
			ref := d.Auth.SecretRef
			oidcConfig("id-1")(d)
			d.Auth.SecretRef = ref
		}, want: "set exactly one of secretRef and oidcConfig"},
		"oidcConfig without identity": {mod: oidcConfig(""), want: "oidcConfig.identity is not set"},
		"oidcConfig with a token shorter than the TokenRequest API issues": {mod: func(d *secretstore.DopplerProvider) {
			oidcConfig("id-1")(d)
			short := int64(60)
			d.Auth.OIDCConfig.ExpirationSeconds = &short
		}, want: "expirationSeconds must be at least 600"},
		"oidcConfig naming another namespace's ServiceAccount": {mod: func(d *secretstore.DopplerProvider) {
			oidcConfig("id-1")(d)
			d.Auth.OIDCConfig.ServiceAccountRef.Namespace = &other
		}, want: `may only name namespace "team-a"`},
		"another namespace's token": {mod: func(d *secretstore.DopplerProvider) { d.Auth.SecretRef.DopplerToken.Namespace = &other },
			want: `may only name namespace "team-a"`},
		"a cluster store without namespace": {cluster: true, want: "must set namespace"},
		"a cluster store naming a namespace": {cluster: true,
			mod: func(d *secretstore.DopplerProvider) { d.Auth.SecretRef.DopplerToken.Namespace = &other }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := &secretstore.DopplerProvider{Auth: &secretstore.DopplerAuth{SecretRef: &secretstore.DopplerAuthSecretRef{
				DopplerToken: secretstore.SecretKeySelector{Name: "doppler-token-auth-api", Key: "dopplerToken"},
			}}}
			if tc.mod != nil {
				tc.mod(d)
			}
			spec := secretstore.Spec{Provider: &secretstore.Provider{Doppler: d}}
			var store secretstore.GenericStore = &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: namespace}, Spec: spec}
			if tc.cluster {
				store = &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: spec}
			}
			err := doppler.New().ValidateStore(store)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestNewClientToken(t *testing.T) {
	h := newHarness(t)
	h.creds.SetSecret(namespace, "blank", "dopplerToken", "\n")
	tests := map[string]struct {
		secret string
		want   string
	}{
		"a missing token Secret": {secret: "absent", want: `read key "dopplerToken" of Secret team-a/absent`},
		"an empty token":         {secret: "blank", want: "is empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := doppler.New().NewClient(context.Background(), h.store(func(d *secretstore.DopplerProvider) {
				d.Auth.SecretRef.DopplerToken.Name = tc.secret
			}), h.creds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}
