package kubernetes_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/secretstore"
)

// Example reads a key of a Secret in another namespace of the local
// cluster, as the ServiceAccount the store names. So that it runs
// anywhere, an HTTPS server that answers the one request it needs stands
// in for the apiserver; the package's tests run a real kube-apiserver.
func Example() {
	var sawController atomic.Bool
	apiserver := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") == "Bearer controller-token":
			sawController.Store(true)
			w.WriteHeader(http.StatusForbidden)
		case r.Header.Get("Authorization") != "Bearer token-of-team-a-reader":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/api/v1/namespaces/shared/secrets/db":
			// "admin" and "hunter2", base64-encoded as the API returns them.
			fmt.Fprint(w, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"shared"},
				"data":{"user":"YWRtaW4=","password":"aHVudGVyMg=="}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404,
				"details":{"kind":"secrets"}}`)
		}
	}))
	defer apiserver.Close()

	// The controller's own configuration. The provider keeps its address
	// and CA, and drops its token.
	controller := &rest.Config{
		Host:            apiserver.URL,
		BearerToken:     "controller-token",
		TLSClientConfig: rest.TLSClientConfig{CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: apiserver.Certificate().Raw})},
	}
	p := kubernetes.New(kubernetes.WithLocalCluster(controller))

	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "shared"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: &secretstore.KubernetesProvider{
			RemoteNamespace: "shared",
			Auth:            &secretstore.KubernetesAuth{ServiceAccount: &secretstore.ServiceAccountSelector{Name: "reader"}},
		}}},
	}
	ctx := context.Background()
	client, err := p.NewClient(ctx, store, exampleCredentials{})
	if err != nil {
		fmt.Println(err)
		return
	}

	secret, err := client.GetSecret(ctx, provider.Ref{Key: "db"})
	if err != nil {
		fmt.Println(err)
		return
	}
	user, err := secret.Property("user")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user:", string(user))

	_, err = client.GetSecret(ctx, provider.Ref{Key: "gone"})
	fmt.Println("not found:", errors.Is(err, provider.ErrNotFound))
	fmt.Println("sent the controller's token:", sawController.Load())
	// Output:
	// user: admin
	// not found: true
	// sent the controller's token: false
}

// exampleCredentials hands out a token for team-a/reader; a controller
// asks the TokenRequest API.
type exampleCredentials struct{}

func (exampleCredentials) SecretValue(context.Context, string, string, string) ([]byte, error) {
	return nil, provider.ErrNotFound
}

func (exampleCredentials) ConfigMapValue(context.Context, string, string, string) ([]byte, error) {
	return nil, provider.ErrNotFound
}

func (exampleCredentials) ServiceAccountToken(_ context.Context, namespace, name string, _ []string, _ time.Duration) (string, error) {
	if namespace != "team-a" || name != "reader" {
		return "", errors.New("no such ServiceAccount")
	}
	return "token-of-team-a-reader", nil
}
