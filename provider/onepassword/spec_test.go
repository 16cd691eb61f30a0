package onepassword_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider/onepassword"
	"github.com/secretsync/secretsync/secretstore"
)

func TestValidateStore(t *testing.T) {
	other := "other"
	tests := map[string]struct {
		mod     func(*secretstore.OnePasswordProvider)
		cluster bool
		want    string // in the error; empty when valid
	}{
		"the ESO documentation's store": {},
		"an https host with a path":     {mod: func(op *secretstore.OnePasswordProvider) { op.ConnectHost = "https://connect.example/op/" }},
		"a host without a scheme": {mod: func(op *secretstore.OnePasswordProvider) { op.ConnectHost = "onepassword-connect:8080" },
			want: "is not an http or https URL"},
		"no vaults": {mod: func(op *secretstore.OnePasswordProvider) { op.Vaults = nil },
			want: "must name at least one vault"},
		"two vaults of one priority": {mod: func(op *secretstore.OnePasswordProvider) { op.Vaults = map[string]int{"a": 1, "b": 1} },
			want: `"a" and "b" have the same priority 1`},
		"no auth": {mod: func(op *secretstore.OnePasswordProvider) { op.Auth = nil },
			want: "connectTokenSecretRef is not set"},
		"a token reference without key": {mod: func(op *secretstore.OnePasswordProvider) { op.Auth.SecretRef.ConnectToken.Key = "" },
			want: "needs name and key"},
		"another namespace's token": {mod: func(op *secretstore.OnePasswordProvider) { op.Auth.SecretRef.ConnectToken.Namespace = &other },
			want: `may only name namespace "team-a"`},
		"a cluster store without namespace": {cluster: true, want: "must set namespace"},
		"a cluster store naming a namespace": {cluster: true,
			mod: func(op *secretstore.OnePasswordProvider) { op.Auth.SecretRef.ConnectToken.Namespace = &other }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			op := &secretstore.OnePasswordProvider{
				ConnectHost: "http://onepassword-connect:8080",
				Vaults:      map[string]int{"staging": 1, "shared": 2},
				Auth: &secretstore.OnePasswordAuth{SecretRef: &secretstore.OnePasswordAuthSecretRef{
					ConnectToken: secretstore.SecretKeySelector{Name: "onepassword-connect-token", Key: "token"},
				}},
			}
			if tc.mod != nil {
				tc.mod(op)
			}
			spec := secretstore.Spec{Provider: &secretstore.Provider{OnePassword: op}}
			var store secretstore.GenericStore = &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: namespace}, Spec: spec}
			if tc.cluster {
				store = &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: spec}
			}
			err := onepassword.New().ValidateStore(store)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	if err := onepassword.New().ValidateStore(&secretstore.SecretStore{Spec: secretstore.Spec{Provider: &secretstore.Provider{}}}); err == nil {
		t.Error("a store without spec.provider.onepassword must be refused")
	}
}

func TestNewClientToken(t *testing.T) {
	h := newHarness(t)
	h.creds.SetSecret(namespace, "blank", "token", " \n")
	tests := map[string]struct {
		secret string
		want   string
	}{
		"a missing token Secret": {secret: "absent", want: `read key "token" of Secret team-a/absent`},
		"an empty token":         {secret: "blank", want: "is empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := onepassword.New().NewClient(context.Background(), h.store(func(op *secretstore.OnePasswordProvider) {
				op.Auth.SecretRef.ConnectToken.Name = tc.secret
			}), h.creds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	// NewClient makes no request; the first read does.
	if _, err := onepassword.New().NewClient(context.Background(), h.store(nil), h.creds); err != nil {
		t.Fatal(err)
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("NewClient made %d requests", n)
	}
}
