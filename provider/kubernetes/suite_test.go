package kubernetes_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/secretstore"
)

// canary is planted in every remote value the tests read; no error may
// ever show it.
const canary = "CANARY-k8s-9e3f"

// One control plane serves every test of the package; each test works in
// namespaces of its own.
var (
	envOnce   sync.Once
	sharedEnv *testenv.Env
	envErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEnv != nil {
		sharedEnv.Stop()
	}
	os.Exit(code)
}

// suite is a test's view of the shared control plane: an administrator's
// client to arrange things with, and a Credentials reader that acts as the
// controller would.
type suite struct {
	env   *testenv.Env
	admin clientset.Interface
	creds *kubeCreds
}

func newSuite(t *testing.T) *suite {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test against kube-apiserver; skipped with -short")
	}
	if dir, ok := testenv.BinDir(); !ok {
		msg := fmt.Sprintf("kube-apiserver and etcd not found in %s: run hack/controlplane.sh, or set %s", dir, testenv.BinDirEnv)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	envOnce.Do(func() { sharedEnv, envErr = testenv.Start(context.Background(), testenv.Options{}) })
	if envErr != nil {
		t.Fatalf("start control plane: %v", envErr)
	}
	admin, err := clientset.NewForConfig(sharedEnv.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &suite{env: sharedEnv, admin: admin, creds: &kubeCreds{kube: admin}}
}

// namespace creates a namespace with a name unique to the test.
func (s *suite) namespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9)
	if _, err := s.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// serviceAccount creates a ServiceAccount: no controller-manager runs to
// make the default one.
func (s *suite) serviceAccount(t *testing.T, ns, name string) {
	t.Helper()
	if _, err := s.admin.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// grantRead lets subject get and list the Secrets of ns, and nothing
// else.
func (s *suite) grantRead(t *testing.T, ns string, subject rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	name := "read-secrets-" + strings.ToLower(strings.NewReplacer(":", "-", "/", "-").Replace(subject.Name))
	_, err := s.admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func serviceAccountSubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

// secret creates a Secret.
func (s *suite) secret(t *testing.T, ns, name string, data map[string]string, labels, annotations map[string]string) {
	t.Helper()
	_, err := s.admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		StringData: data,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// store returns a SecretStore in ns that reads remote with the
// ServiceAccount sa of ns, the way ESO's documentation writes one.
func store(ns, remote, sa string) *secretstore.SecretStore {
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "k8s"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: &secretstore.KubernetesProvider{
			RemoteNamespace: remote,
			Server:          secretstore.KubernetesServer{URL: "kubernetes.default"},
			Auth:            &secretstore.KubernetesAuth{ServiceAccount: &secretstore.ServiceAccountSelector{Name: sa}},
		}}},
	}
}

// local returns a Provider whose local cluster is the control plane, given
// as the administrator's configuration: the provider must drop those
// credentials.
func (s *suite) local(opts ...kubernetes.Option) *kubernetes.Provider {
	return kubernetes.New(append([]kubernetes.Option{kubernetes.WithLocalCluster(s.env.Config)}, opts...)...)
}

func (s *suite) client(t *testing.T, p *kubernetes.Provider, st secretstore.GenericStore) provider.Client {
	t.Helper()
	c, err := p.NewClient(context.Background(), st, s.creds)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// kubeCreds reads credentials as the administrator, as a controller reads
// them with its own identity, and counts TokenRequests.
type kubeCreds struct {
	kube          clientset.Interface
	tokenRequests atomic.Int64

	mu     sync.Mutex
	issued []string
}

func (k *kubeCreds) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	s, err := k.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	v, ok := s.Data[key]
	if !ok {
		return nil, fmt.Errorf("Secret %s/%s has no key %q: %w", namespace, name, key, provider.ErrNotFound)
	}
	return v, nil
}

func (k *kubeCreds) ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	cm, err := k.kube.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	v, ok := cm.Data[key]
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s/%s has no key %q: %w", namespace, name, key, provider.ErrNotFound)
	}
	return []byte(v), nil
}

func (k *kubeCreds) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	k.tokenRequests.Add(1)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
	if expiration > 0 {
		secs := int64(expiration / time.Second)
		req.Spec.ExpirationSeconds = &secs
	}
	tr, err := k.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.issued = append(k.issued, tr.Status.Token)
	return tr.Status.Token, nil
}

// tokens returns every token issued so far.
func (k *kubeCreds) tokens() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.issued...)
}
