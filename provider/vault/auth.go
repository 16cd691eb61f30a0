package vault

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Defaults ESO applies to ServiceAccount tokens it requests.
const (
	serviceAccountTokenExpiry = 10 * time.Minute
	jwtDefaultAudience        = "vault"
	// inClusterTokenPath is the kubelet-rotated token of the Pod the
	// controller runs in, the kubernetes auth method's last resort.
	inClusterTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
)

// auth is how a client obtains its token: either a static token, or a login
// that returns a new one whenever the client needs it.
type auth struct {
	// method names the auth method in messages, such as "appRole".
	method string
	// static is the token of tokenSecretRef.
	static string
	// login exchanges credentials for a token. Credentials kept in
	// Secrets were read when the client was built; ServiceAccount tokens
	// are requested at each login, since they expire.
	login func(ctx context.Context, c *api.Client) (*api.Secret, error)
}

// newAuth reads the credentials spec.auth names and returns how to log in.
// A spec without auth sends no token, which suits a Vault Agent that adds
// its own.
func newAuth(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultProvider, creds provider.Credentials, google googleEndpoints) (auth, error) {
	a := spec.Auth
	if a == nil {
		return auth{method: "none"}, nil
	}
	secret := func(field string, sel secretstore.SecretKeySelector) (string, error) {
		v, err := provider.SecretKey(ctx, creds, store, sel)
		if err != nil {
			return "", fmt.Errorf("spec.provider.vault.auth.%s: %w", field, err)
		}
		return strings.TrimSpace(string(v)), nil
	}
	switch {
	case a.TokenSecretRef != nil:
		tok, err := secret("tokenSecretRef", *a.TokenSecretRef)
		if err != nil {
			return auth{}, err
		}
		return auth{method: "tokenSecretRef", static: tok}, nil

	case a.AppRole != nil:
		ar := a.AppRole
		roleID := ar.RoleID
		if ar.RoleRef != nil {
			var err error
			if roleID, err = secret("appRole.roleRef", *ar.RoleRef); err != nil {
				return auth{}, err
			}
		}
		secretID, err := secret("appRole.secretRef", ar.SecretRef)
		if err != nil {
			return auth{}, err
		}
		body := map[string]any{"role_id": roleID, "secret_id": secretID}
		return auth{method: "appRole", login: write(loginPath(ar.Path, "approle"), body)}, nil

	case a.Kubernetes != nil:
		k := a.Kubernetes
		path := loginPath(k.Path, "kubernetes")
		var jwt func(ctx context.Context) (string, error)
		switch {
		case k.ServiceAccountRef != nil:
			sa := *k.ServiceAccountRef
			jwt = func(ctx context.Context) (string, error) {
				return provider.ServiceAccountToken(ctx, creds, store, sa, nil, serviceAccountTokenExpiry)
			}
		case k.SecretRef != nil:
			sel := *k.SecretRef
			if sel.Key == "" {
				sel.Key = "token"
			}
			tok, err := secret("kubernetes.secretRef", sel)
			if err != nil {
				return auth{}, err
			}
			jwt = func(context.Context) (string, error) { return tok, nil }
		default:
			jwt = func(context.Context) (string, error) {
				b, err := os.ReadFile(inClusterTokenPath)
				if err != nil {
					return "", fmt.Errorf("no serviceAccountRef or secretRef, and no in-cluster token: %w", err)
				}
				return strings.TrimSpace(string(b)), nil
			}
		}
		return auth{method: "kubernetes", login: jwtLogin(path, k.Role, jwt)}, nil

	case a.Jwt != nil:
		j := a.Jwt
		path := loginPath(j.Path, "jwt")
		var jwt func(ctx context.Context) (string, error)
		switch {
		case j.SecretRef != nil:
			tok, err := secret("jwt.secretRef", *j.SecretRef)
			if err != nil {
				return auth{}, err
			}
			jwt = func(context.Context) (string, error) { return tok, nil }
		case j.KubernetesServiceAccountToken != nil:
			kt := j.KubernetesServiceAccountToken
			auds := []string{jwtDefaultAudience}
			if kt.Audiences != nil {
				auds = *kt.Audiences
			}
			expiry := serviceAccountTokenExpiry
			if kt.ExpirationSeconds != nil {
				expiry = time.Duration(*kt.ExpirationSeconds) * time.Second
			}
			sa := kt.ServiceAccountRef
			jwt = func(ctx context.Context) (string, error) {
				return provider.ServiceAccountToken(ctx, creds, store, sa, auds, expiry)
			}
		default:
			return auth{}, fmt.Errorf("spec.provider.vault.auth.jwt: set secretRef or kubernetesServiceAccountToken")
		}
		return auth{method: "jwt", login: jwtLogin(path, strings.TrimSpace(j.Role), jwt)}, nil

	case a.UserPass != nil:
		u := a.UserPass
		pw, err := secret("userPass.secretRef", u.SecretRef)
		if err != nil {
			return auth{}, err
		}
		return auth{method: "userPass", login: write(loginPath(u.Path, "userpass")+"/"+u.Username, map[string]any{"password": pw})}, nil

	case a.Ldap != nil:
		l := a.Ldap
		pw, err := secret("ldap.secretRef", l.SecretRef)
		if err != nil {
			return auth{}, err
		}
		return auth{method: "ldap", login: write(loginPath(l.Path, "ldap")+"/"+l.Username, map[string]any{"password": pw})}, nil

	case a.Cert != nil:
		// The certificate was put into the transport: the login is a
		// write over a connection that presents it, naming the role when
		// vaultRole does; without it Vault tries every role.
		var body map[string]any
		if r := strings.TrimSpace(a.Cert.VaultRole); r != "" {
			body = map[string]any{"name": r}
		}
		return auth{method: "cert", login: write(loginPath(a.Cert.Path, "cert"), body)}, nil

	case a.Iam != nil:
		login, err := iamLogin(ctx, store, a.Iam, creds)
		if err != nil {
			return auth{}, err
		}
		return auth{method: "iam", login: login}, nil

	case a.GCP != nil:
		login, err := gcpLogin(ctx, store, a.GCP, creds, google)
		if err != nil {
			return auth{}, err
		}
		return auth{method: "gcp", login: login}, nil
	}
	return auth{}, fmt.Errorf("spec.provider.vault.auth sets no auth method")
}

func loginPath(mount, fallback string) string {
	mount = strings.Trim(mount, "/")
	if mount == "" {
		mount = fallback
	}
	return "auth/" + mount + "/login"
}

func write(path string, body map[string]any) func(context.Context, *api.Client) (*api.Secret, error) {
	return func(ctx context.Context, c *api.Client) (*api.Secret, error) {
		s, err := c.Logical().WriteWithContext(ctx, path, body)
		if err != nil {
			return nil, wrapErr("log in at "+path, err)
		}
		return s, nil
	}
}

func jwtLogin(path, role string, jwt func(context.Context) (string, error)) func(context.Context, *api.Client) (*api.Secret, error) {
	return func(ctx context.Context, c *api.Client) (*api.Secret, error) {
		tok, err := jwt(ctx)
		if err != nil {
			return nil, fmt.Errorf("log in at %s: %w", path, err)
		}
		return write(path, map[string]any{"role": role, "jwt": tok})(ctx, c)
	}
}
