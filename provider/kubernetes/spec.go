package kubernetes

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// defaultRemoteNamespace is read when spec.remoteNamespace is empty, as in
// ESO.
const defaultRemoteNamespace = "default"

// localHosts are the names a pod reaches its own cluster's apiserver by;
// server.url defaults to the first.
var localHosts = map[string]bool{
	"kubernetes.default":                   true,
	"kubernetes.default.svc":               true,
	"kubernetes.default.svc.cluster.local": true,
}

// isLocal reports whether a server.url means the local cluster: empty, or
// one of localHosts, with or without https:// and port 443.
func isLocal(raw string) bool {
	if raw == "" {
		return true
	}
	s := strings.TrimPrefix(raw, "https://")
	s = strings.TrimSuffix(s, "/")
	s = strings.TrimSuffix(s, ":443")
	return localHosts[s]
}

func remoteNamespace(spec *secretstore.KubernetesProvider) string {
	if spec.RemoteNamespace == "" {
		return defaultRemoteNamespace
	}
	return spec.RemoteNamespace
}

func kubeSpec(store secretstore.GenericStore) (*secretstore.KubernetesProvider, error) {
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.Kubernetes == nil {
		return nil, fmt.Errorf("%s: spec.provider.kubernetes is not set", secretstore.Ref(store))
	}
	k := spec.Provider.Kubernetes
	if err := validateSpec(store, k); err != nil {
		return nil, fmt.Errorf("%s: spec.provider.kubernetes.%w", secretstore.Ref(store), err)
	}
	return k, nil
}

// validateSpec returns an error that starts with the field at fault,
// relative to spec.provider.kubernetes.
func validateSpec(store secretstore.GenericStore, k *secretstore.KubernetesProvider) error {
	if errs := validation.IsDNS1123Label(remoteNamespace(k)); len(errs) > 0 {
		return fmt.Errorf("remoteNamespace: %q is not a namespace name: %s", k.RemoteNamespace, strings.Join(errs, "; "))
	}

	var set []string
	add := func(ok bool, name string) {
		if ok {
			set = append(set, name)
		}
	}
	if a := k.Auth; a != nil {
		add(a.Cert != nil, "auth.cert")
		add(a.Token != nil, "auth.token")
		add(a.ServiceAccount != nil, "auth.serviceAccount")
	}
	add(k.AuthRef != nil, "authRef")
	switch len(set) {
	case 0:
		return errors.New("auth: set one of auth.serviceAccount, auth.token, auth.cert and authRef; a store never reads with the controller's own credentials")
	case 1:
	default:
		return fmt.Errorf("auth: sets %s; set exactly one", strings.Join(set, " and "))
	}

	selector := func(field string, sel secretstore.SecretKeySelector) error {
		if sel.Name == "" || sel.Key == "" {
			return fmt.Errorf("%s: needs name and key", field)
		}
		if _, err := provider.CredentialNamespace(store, sel.Namespace); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		return nil
	}
	switch {
	case k.AuthRef != nil:
		if len(k.Server.CABundle) > 0 || k.Server.CAProvider != nil || !isLocal(k.Server.URL) {
			return errors.New("authRef: the kubeconfig names the server and its CA; leave server unset")
		}
		return selector("authRef", *k.AuthRef)
	case k.Auth.Cert != nil:
		if err := selector("auth.cert.clientCert", k.Auth.Cert.ClientCert); err != nil {
			return err
		}
		if err := selector("auth.cert.clientKey", k.Auth.Cert.ClientKey); err != nil {
			return err
		}
	case k.Auth.Token != nil:
		if err := selector("auth.token.bearerToken", k.Auth.Token.BearerToken); err != nil {
			return err
		}
	case k.Auth.ServiceAccount != nil:
		sa := k.Auth.ServiceAccount
		if sa.Name == "" {
			return errors.New("auth.serviceAccount.name: required")
		}
		if _, err := provider.CredentialNamespace(store, sa.Namespace); err != nil {
			return fmt.Errorf("auth.serviceAccount: %w", err)
		}
	}
	return validateServer(store, &k.Server)
}

func validateServer(store secretstore.GenericStore, s *secretstore.KubernetesServer) error {
	if !isLocal(s.URL) {
		u, err := url.Parse(s.URL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("server.url: %q is neither an https URL nor the local cluster (kubernetes.default)", s.URL)
		}
	}
	if len(s.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(s.CABundle) {
		return errors.New("server.caBundle: holds no PEM certificate")
	}
	if cp := s.CAProvider; cp != nil {
		switch cp.Type {
		case secretstore.CAProviderTypeSecret, secretstore.CAProviderTypeConfigMap:
		default:
			return fmt.Errorf("server.caProvider.type: %q is neither Secret nor ConfigMap", cp.Type)
		}
		if cp.Name == "" || cp.Key == "" {
			return errors.New("server.caProvider: needs name and key")
		}
		if _, err := provider.CredentialNamespace(store, cp.Namespace); err != nil {
			return fmt.Errorf("server.caProvider: %w", err)
		}
	}
	return nil
}
