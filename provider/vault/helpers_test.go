package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/secretstore"
)

// canary is a secret value that no error, of any test, may contain.
const canary = "canary-7f3a9c1e5b"

const storeNamespace = "team"

// creds is the host's side of provider.Credentials: Secrets and ConfigMaps
// from maps keyed "namespace/name/key", and ServiceAccount tokens from a
// real kube-apiserver's TokenRequest API when kube is set.
type creds struct {
	secrets    map[string]string
	configMaps map[string]string
	kube       kubernetes.Interface
}

func (c *creds) SecretValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	v, ok := c.secrets[namespace+"/"+name+"/"+key]
	if !ok {
		return nil, fmt.Errorf("Secret %s/%s key %q: %w", namespace, name, key, provider.ErrNotFound)
	}
	return []byte(v), nil
}

func (c *creds) ConfigMapValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	v, ok := c.configMaps[namespace+"/"+name+"/"+key]
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s/%s key %q: %w", namespace, name, key, provider.ErrNotFound)
	}
	return []byte(v), nil
}

func (c *creds) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	if c.kube == nil {
		return "", errors.New("no kube-apiserver in this test")
	}
	secs := int64(expiration / time.Second)
	tr, err := c.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

func store(spec secretstore.VaultProvider) *secretstore.SecretStore {
	return storeWith(spec, nil)
}

// storeWith returns a SecretStore without client retries unless retry says
// otherwise, so failures show at once.
func storeWith(spec secretstore.VaultProvider, retry *secretstore.RetrySettings) *secretstore.SecretStore {
	if retry == nil {
		zero := int32(0)
		retry = &secretstore.RetrySettings{MaxRetries: &zero}
	}
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: storeNamespace, Name: "vault"},
		Spec: secretstore.Spec{
			Provider:      &secretstore.Provider{Vault: &spec},
			RetrySettings: retry,
		},
	}
}

func ptr[T any](v T) *T { return &v }

func sel(name, key string) secretstore.SecretKeySelector {
	return secretstore.SecretKeySelector{Name: name, Key: key}
}

// newClient builds a client and closes it when t ends.
func newClient(t testing.TB, s secretstore.GenericStore, c provider.Credentials) *vault.Client {
	t.Helper()
	pc, err := vault.New().NewClient(context.Background(), s, c)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	vc := pc.(*vault.Client)
	t.Cleanup(func() { _ = vc.Close(context.Background()) })
	return vc
}

// vaultServer is a dev server with a root client and helpers to set it up
// through Vault's API, as an operator would.
type vaultServer struct {
	*vaulttest.Server
	t testing.TB
}

func startVault(t testing.TB, opts vaulttest.Options) *vaultServer {
	t.Helper()
	return &vaultServer{Server: vaulttest.StartForTest(t, opts), t: t}
}

func (v *vaultServer) write(path string, data map[string]any) *api.Secret {
	v.t.Helper()
	s, err := v.Client.Logical().WriteWithContext(context.Background(), path, data)
	if err != nil {
		v.t.Fatalf("write %s: %v", path, err)
	}
	return s
}

func (v *vaultServer) delete(path string) {
	v.t.Helper()
	if _, err := v.Client.Logical().DeleteWithContext(context.Background(), path); err != nil {
		v.t.Fatalf("delete %s: %v", path, err)
	}
}

func (v *vaultServer) read(path string) *api.Secret {
	v.t.Helper()
	s, err := v.Client.Logical().ReadWithContext(context.Background(), path)
	if err != nil {
		v.t.Fatalf("read %s: %v", path, err)
	}
	return s
}

// mountKV enables a KV engine of version "1" or "2" at path.
func (v *vaultServer) mountKV(path, version string) {
	v.t.Helper()
	err := v.Client.Sys().MountWithContext(context.Background(), path, &api.MountInput{
		Type: "kv", Options: map[string]string{"version": version},
	})
	if err != nil {
		v.t.Fatalf("mount kv v%s at %s: %v", version, path, err)
	}
}

func (v *vaultServer) enableAuth(path, method string) {
	v.t.Helper()
	err := v.Client.Sys().EnableAuthWithOptionsWithContext(context.Background(), path, &api.EnableAuthOptions{Type: method})
	if err != nil {
		v.t.Fatalf("enable %s auth at %s: %v", method, path, err)
	}
}

func (v *vaultServer) policy(name, rules string) {
	v.t.Helper()
	if err := v.Client.Sys().PutPolicyWithContext(context.Background(), name, rules); err != nil {
		v.t.Fatalf("put policy %s: %v", name, err)
	}
}

// putV2 writes a new version of a KV v2 secret.
func (v *vaultServer) putV2(mount, name string, data map[string]any) {
	v.t.Helper()
	v.write(mount+"/data/"+name, map[string]any{"data": data})
}

// appRole creates role at the approle mount and returns its role ID and a
// secret ID.
func (v *vaultServer) appRole(mount, role string, params map[string]any) (roleID, secretID string) {
	v.t.Helper()
	v.write("auth/"+mount+"/role/"+role, params)
	roleID = v.read("auth/" + mount + "/role/" + role + "/role-id").Data["role_id"].(string)
	secretID = v.write("auth/"+mount+"/role/"+role+"/secret-id", nil).Data["secret_id"].(string)
	return roleID, secretID
}

func (v *vaultServer) logins(mount string) int {
	v.t.Helper()
	n, err := v.Logins(mount)
	if err != nil {
		v.t.Fatal(err)
	}
	return n
}

func (v *vaultServer) count(op, prefix string) int {
	v.t.Helper()
	n, err := v.Count(op, prefix)
	if err != nil {
		v.t.Fatal(err)
	}
	return n
}

// responses returns how many responses to path the audit log holds,
// failures included.
func (v *vaultServer) responses(path string) int {
	v.t.Helper()
	entries, err := v.Audit()
	if err != nil {
		v.t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Type == "response" && e.Request.Path == path {
			n++
		}
	}
	return n
}

// liveTokens returns the accessors of the tokens Vault holds, but the root
// token's.
func (v *vaultServer) liveTokens() []string {
	v.t.Helper()
	s, err := v.Client.Logical().ListWithContext(context.Background(), "auth/token/accessors")
	if err != nil {
		v.t.Fatalf("list token accessors: %v", err)
	}
	self, err := v.Client.Auth().Token().LookupSelf()
	if err != nil {
		v.t.Fatalf("look up root token: %v", err)
	}
	rootAccessor, _ := self.Data["accessor"].(string)
	var out []string
	if s == nil {
		return out
	}
	for _, k := range s.Data["keys"].([]any) {
		if a := k.(string); a != rootAccessor {
			out = append(out, a)
		}
	}
	return out
}

// revokeAll revokes every token but the root token, as an operator
// responding to an incident would.
func (v *vaultServer) revokeAll() {
	v.t.Helper()
	for _, a := range v.liveTokens() {
		v.write("auth/token/revoke-accessor", map[string]any{"accessor": a})
	}
}

// noCanary fails t if err mentions the canary.
func noCanary(t testing.TB, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("error carries a secret value: %v", err)
	}
}

// readValue reads ref through c and returns the property or the whole value.
func readValue(ctx context.Context, c provider.Client, ref provider.Ref, property string) ([]byte, error) {
	s, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	if property == "" {
		return s.Value()
	}
	return s.Property(property)
}
