package vault_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/secretstore"
)

// The kubernetes and jwt auth methods, against a real kube-apiserver: Vault
// sends each kubernetes login's token to the apiserver's TokenReview API,
// and checks jwt logins against the apiserver's signing key and issuer.
func TestKubernetesAuth(t *testing.T) {
	v := startVault(t, vaulttest.Options{})
	env := testenv.StartForTest(t)
	ctx := context.Background()
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}

	// No controller-manager runs: make the namespace and ServiceAccounts.
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: storeNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app", "other", "doomed", "vault-reviewer"} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := kube.CoreV1().ServiceAccounts(storeNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Vault reviews tokens as vault-reviewer, which may call TokenReview.
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-reviewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "vault-reviewer", Namespace: storeNamespace}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &creds{kube: kube, secrets: map[string]string{}}
	reviewer, err := c.ServiceAccountToken(ctx, storeNamespace, "vault-reviewer", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := os.ReadFile(filepath.Join(env.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	saPub, err := os.ReadFile(filepath.Join(env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}

	v.mountKV("kv", "2")
	v.putV2("kv", "app/db", map[string]any{"user": "admin", "password": canary})
	v.policy("read", readPolicy)

	// Outside a pod Vault has no CA or token of its own to fall back on.
	v.enableAuth("kubernetes", "kubernetes")
	v.write("auth/kubernetes/config", map[string]any{
		"kubernetes_host":      env.Config.Host,
		"kubernetes_ca_cert":   string(caCert),
		"token_reviewer_jwt":   reviewer,
		"disable_local_ca_jwt": true,
	})
	v.write("auth/kubernetes/role/app", map[string]any{
		"bound_service_account_names":      []string{"app", "doomed"},
		"bound_service_account_namespaces": []string{storeNamespace},
		"token_policies":                   "read",
		"token_ttl":                        "1h",
	})

	v.enableAuth("jwt", "jwt")
	v.write("auth/jwt/config", map[string]any{
		"jwt_validation_pubkeys": []string{string(saPub)},
		"bound_issuer":           env.Config.Host + "/",
	})
	v.write("auth/jwt/role/app", map[string]any{
		"role_type":       "jwt",
		"user_claim":      "sub",
		"bound_audiences": []string{"vault"},
		"bound_subject":   "system:serviceaccount:" + storeNamespace + ":app",
		"token_policies":  "read",
		"token_ttl":       "1h",
	})

	// Tokens kept in Secrets, as some clusters hand them out.
	if c.secrets["team/app-token/token"], err = c.ServiceAccountToken(ctx, storeNamespace, "app", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if c.secrets["team/app-jwt/jwt"], err = c.ServiceAccountToken(ctx, storeNamespace, "app", []string{"vault"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A token whose ServiceAccount is deleted is still signed correctly,
	// but TokenReview rejects it: only a real review catches that.
	if c.secrets["team/doomed-token/token"], err = c.ServiceAccountToken(ctx, storeNamespace, "doomed", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := kube.CoreV1().ServiceAccounts(storeNamespace).Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		auth    secretstore.VaultAuth
		mount   string
		wantErr error
	}{
		"kubernetes with serviceAccountRef": {
			auth: secretstore.VaultAuth{Kubernetes: &secretstore.VaultKubernetesAuth{
				Path: "kubernetes", Role: "app", ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "app"}}},
			mount: "kubernetes",
		},
		"kubernetes with secretRef and the default key": {
			auth: secretstore.VaultAuth{Kubernetes: &secretstore.VaultKubernetesAuth{
				Role: "app", SecretRef: &secretstore.SecretKeySelector{Name: "app-token"}}},
			mount: "kubernetes",
		},
		"kubernetes with a ServiceAccount the role does not bind": {
			auth: secretstore.VaultAuth{Kubernetes: &secretstore.VaultKubernetesAuth{
				Role: "app", ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "other"}}},
			wantErr: vault.ErrPermissionDenied,
		},
		"kubernetes with the token of a deleted ServiceAccount": {
			auth: secretstore.VaultAuth{Kubernetes: &secretstore.VaultKubernetesAuth{
				Role: "app", SecretRef: &secretstore.SecretKeySelector{Name: "doomed-token", Key: "token"}}},
			wantErr: vault.ErrPermissionDenied,
		},
		"jwt with kubernetesServiceAccountToken": {
			auth: secretstore.VaultAuth{Jwt: &secretstore.VaultJwtAuth{
				Path: "jwt", Role: "app",
				KubernetesServiceAccountToken: &secretstore.VaultKubernetesServiceAccountTokenAuth{
					ServiceAccountRef: secretstore.ServiceAccountSelector{Name: "app"},
					ExpirationSeconds: ptr(int64(900)),
				}}},
			mount: "jwt",
		},
		"jwt with secretRef": {
			auth: secretstore.VaultAuth{Jwt: &secretstore.VaultJwtAuth{
				Role: "app", SecretRef: ptr(sel("app-jwt", "jwt"))}},
			mount: "jwt",
		},
		"jwt with a token for another audience": {
			auth: secretstore.VaultAuth{Jwt: &secretstore.VaultJwtAuth{
				Role: "app",
				KubernetesServiceAccountToken: &secretstore.VaultKubernetesServiceAccountTokenAuth{
					ServiceAccountRef: secretstore.ServiceAccountSelector{Name: "app"},
					Audiences:         &[]string{"not-vault"},
				}}},
			wantErr: errAny,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := 0
			if tc.mount != "" {
				before = v.logins(tc.mount)
			}
			spec := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: &tc.auth}
			client := newClient(t, store(spec), c)
			for i := 0; i < 5; i++ {
				got, err := readValue(ctx, client, provider.Ref{Key: "app/db"}, "user")
				noCanary(t, err)
				if tc.wantErr != nil {
					if err == nil {
						t.Fatal("read succeeded, want a login error")
					}
					if tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
						t.Errorf("error %q does not wrap %q", err, tc.wantErr)
					}
					t.Logf("login refused: %v", err)
					return
				}
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if string(got) != "admin" {
					t.Fatalf("read %d = %q, want admin", i, got)
				}
			}
			if got := v.logins(tc.mount) - before; got != 1 {
				t.Errorf("5 reads made %d logins at auth/%s, want 1", got, tc.mount)
			}
		})
	}

}

// errAny marks a case that only needs some error.
var errAny = errors.New("any error")
