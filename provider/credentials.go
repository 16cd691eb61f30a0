package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/secretsync/secretsync/secretstore"
)

// CredentialNamespace returns the namespace a credential reference of store
// resolves in. A SecretStore reads only its own namespace, so one tenant's
// store cannot name another tenant's Secret. A ClusterSecretStore serves
// many namespaces and must name one explicitly; it never borrows the
// namespace of the ExternalSecret that uses it.
func CredentialNamespace(store secretstore.GenericStore, namespace *string) (string, error) {
	if store.Kind() == secretstore.KindClusterSecretStore {
		if namespace == nil || *namespace == "" {
			return "", fmt.Errorf("%s: a credential reference must set namespace", secretstore.Ref(store))
		}
		return *namespace, nil
	}
	own := store.GetNamespace()
	if namespace != nil && *namespace != "" && *namespace != own {
		return "", fmt.Errorf("%s: a credential reference may only name namespace %q, not %q", secretstore.Ref(store), own, *namespace)
	}
	return own, nil
}

// SecretKey reads the credential sel names, applying the namespace rules of
// [CredentialNamespace].
func SecretKey(ctx context.Context, creds Credentials, store secretstore.GenericStore, sel secretstore.SecretKeySelector) ([]byte, error) {
	if sel.Name == "" || sel.Key == "" {
		return nil, fmt.Errorf("%s: a credential reference needs name and key", secretstore.Ref(store))
	}
	ns, err := CredentialNamespace(store, sel.Namespace)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, fmt.Errorf("%s: no credentials reader to read Secret %s/%s", secretstore.Ref(store), ns, sel.Name)
	}
	v, err := creds.SecretValue(ctx, ns, sel.Name, sel.Key)
	if err != nil {
		return nil, fmt.Errorf("read key %q of Secret %s/%s: %w", sel.Key, ns, sel.Name, err)
	}
	return v, nil
}

// ServiceAccountToken requests a token for the ServiceAccount sel names,
// applying the namespace rules of [CredentialNamespace]. The audiences of
// sel are added to audiences.
func ServiceAccountToken(ctx context.Context, creds Credentials, store secretstore.GenericStore, sel secretstore.ServiceAccountSelector, audiences []string, expiration time.Duration) (string, error) {
	ns, err := CredentialNamespace(store, sel.Namespace)
	if err != nil {
		return "", err
	}
	if creds == nil {
		return "", fmt.Errorf("%s: no credentials reader to request a token for ServiceAccount %s/%s", secretstore.Ref(store), ns, sel.Name)
	}
	auds := append(append([]string(nil), audiences...), sel.Audiences...)
	tok, err := creds.ServiceAccountToken(ctx, ns, sel.Name, auds, expiration)
	if err != nil {
		return "", fmt.Errorf("request token for ServiceAccount %s/%s: %w", ns, sel.Name, err)
	}
	return tok, nil
}

// SecretLabeler is implemented by [Credentials] that can read the labels
// of a Secret, for a reader that must check a Secret was labelled for it
// before it reads it, such as the Webhook generator. As with the other
// reads, callers apply [CredentialNamespace] first.
type SecretLabeler interface {
	SecretLabels(ctx context.Context, namespace, name string) (map[string]string, error)
}
