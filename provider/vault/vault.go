// Package vault is the "vault" store: the KV secrets engine of HashiCorp
// Vault, version 1 or 2, configured by spec.provider.vault of a SecretStore
// or ClusterSecretStore with the External Secrets Operator's schema.
//
// Keys mean what they mean in ESO: spec.provider.vault.path is the KV
// mount and a key is a path under it ("app/db" reads kv/data/app/db on KV
// v2). A reference without a property reads the whole secret as a JSON
// object; a property is a key of that object, or a dotted path into nested
// objects. On KV v2 a reference may name a version, and metadataPolicy
// Fetch reads the secret's custom metadata instead of its value.
// dataFrom.find lists the mount and matches names by regular expression and
// custom metadata by tags.
//
// Auth methods: tokenSecretRef, appRole, kubernetes, ldap, userPass, jwt,
// cert (with vaultRole naming the cert role), iam (Vault's AWS auth,
// IAM type: a sts:GetCallerIdentity request signed here with Signature
// Version 4, so no AWS SDK is linked, with static keys, IRSA or the
// controller's environment, optionally assuming a role first; the STS
// endpoint is AWS_STS_ENDPOINT when set) and gcp (Vault's GCP auth, IAM
// type, with a JWT signed by a service-account key, or by IAM
// Credentials' signJwt for a GKE workload identity; serviceAccountRef and
// the controller's own GCP identity are refused, by field name).
// checkAndSet, a PushSecret setting, is accepted and unused.
//
// A client logs in once, with the auth method spec.provider.vault.auth
// sets, and reuses the token for every read: it renews the token in the
// background at two thirds of its lease, logs in again when renewal fails
// or Vault rejects the token, and revokes it on [Client.Close].
// ESO, by contrast, logs in on every reconcile. A token from
// tokenSecretRef is used as it is and never revoked.
//
// Failures are told apart for the store's Ready condition: a missing
// secret or property wraps [provider.ErrNotFound], and [ErrPermissionDenied],
// [ErrSealed] and [ErrUnreachable] name the rest. [Client.Validate] looks
// up the token and reads no secret. No error carries a secret value or a
// token.
//
// [Generator] serves the VaultDynamicSecret generator kind: it calls a path
// of any secrets engine (database credentials, PKI certificates, tokens)
// with the same auth methods and TLS settings, and revokes the leases and
// tokens it made.
//
// The package needs only Vault's API client, github.com/hashicorp/vault/api
// (MPL-2.0), never the server's code.
package vault

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field Vault stores use.
const Name = "vault"

// Provider builds clients for Vault stores. A zero Provider is valid and
// reaches Google's production endpoints for auth.gcp.
type Provider struct {
	google googleEndpoints
}

// Option configures a [Provider].
type Option func(*Provider)

// WithGoogleEndpoints sends the requests of auth.gcp's workload identity,
// the token exchange and IAM Credentials' signJwt, to sts and
// iamCredentials instead of sts.googleapis.com and
// iamcredentials.googleapis.com, for emulators and tests.
func WithGoogleEndpoints(sts, iamCredentials string) Option {
	return func(p *Provider) { p.google = googleEndpoints{sts: sts, iam: iamCredentials} }
}

// New returns a Provider.
func New(opts ...Option) *Provider {
	p := &Provider{}
	for _, o := range opts {
		o(p)
	}
	return p
}

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
	_ provider.Finder        = &Client{}
	_ provider.Validator     = &Client{}
	_ provider.Closer        = &Client{}
)

// Name returns "vault".
func (*Provider) Name() string { return Name }

// ValidateStore checks spec.provider.vault without contacting Vault.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := vaultSpec(store)
	return err
}

func vaultSpec(store secretstore.GenericStore) (*secretstore.VaultProvider, error) {
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.Vault == nil {
		return nil, fmt.Errorf("%s: spec.provider.vault is not set", secretstore.Ref(store))
	}
	v := spec.Provider.Vault
	if err := validateSpec(v); err != nil {
		return nil, fmt.Errorf("%s: spec.provider.vault.%w", secretstore.Ref(store), err)
	}
	return v, nil
}

// validateSpec returns an error that starts with the field at fault,
// relative to spec.provider.vault.
func validateSpec(v *secretstore.VaultProvider) error {
	u, err := url.Parse(v.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server: %q is not an http or https URL", v.Server)
	}
	switch v.Version {
	case "", secretstore.VaultKVStoreV1, secretstore.VaultKVStoreV2:
	default:
		return fmt.Errorf("version: %q is neither v1 nor v2", v.Version)
	}
	if v.Auth == nil {
		return nil
	}
	a := v.Auth
	var set []string
	add := func(ok bool, name string) {
		if ok {
			set = append(set, name)
		}
	}
	add(a.TokenSecretRef != nil, "tokenSecretRef")
	add(a.AppRole != nil, "appRole")
	add(a.Kubernetes != nil, "kubernetes")
	add(a.Ldap != nil, "ldap")
	add(a.Jwt != nil, "jwt")
	add(a.Cert != nil, "cert")
	add(a.UserPass != nil, "userPass")
	add(a.Iam != nil, "iam")
	add(a.GCP != nil, "gcp")
	switch len(set) {
	case 0:
		return errors.New("auth: set one auth method")
	case 1:
	default:
		return fmt.Errorf("auth: sets %s; set exactly one", strings.Join(set, ", "))
	}
	switch {
	case a.AppRole != nil:
		if (a.AppRole.RoleID == "") == (a.AppRole.RoleRef == nil) {
			return errors.New("auth.appRole: set exactly one of roleId and roleRef")
		}
	case a.Kubernetes != nil:
		if a.Kubernetes.Role == "" {
			return errors.New("auth.kubernetes.role: required")
		}
		if a.Kubernetes.ServiceAccountRef != nil && a.Kubernetes.SecretRef != nil {
			return errors.New("auth.kubernetes: set at most one of serviceAccountRef and secretRef")
		}
	case a.Jwt != nil:
		if (a.Jwt.SecretRef == nil) == (a.Jwt.KubernetesServiceAccountToken == nil) {
			return errors.New("auth.jwt: set exactly one of secretRef and kubernetesServiceAccountToken")
		}
	case a.UserPass != nil:
		if a.UserPass.Username == "" {
			return errors.New("auth.userPass.username: required")
		}
	case a.Ldap != nil:
		if a.Ldap.Username == "" {
			return errors.New("auth.ldap.username: required")
		}
	case a.Iam != nil:
		return validateIam(a.Iam)
	case a.GCP != nil:
		return validateGCP(a.GCP)
	}
	return nil
}

// NewClient reads the credentials the store names and returns a client
// for it. It does not contact Vault: the client logs in on first use.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, err := vaultSpec(store)
	if err != nil {
		return nil, err
	}
	c, err := p.newClient(ctx, store, spec, creds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secretstore.Ref(store), err)
	}
	return c, nil
}

// newClient builds the client of store, whose validated
// spec.provider.vault is spec. Its errors do not name the store.
func (p *Provider) newClient(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultProvider, creds provider.Credentials) (*Client, error) {
	hc, err := transport(ctx, store, spec, creds)
	if err != nil {
		return nil, err
	}
	a, err := newAuth(ctx, store, spec, creds, p.google)
	if err != nil {
		return nil, err
	}
	retry := store.StoreSpec().RetrySettings
	ns := ""
	if spec.Namespace != nil {
		ns = *spec.Namespace
	}
	tokenAPI, err := newAPI(spec, retry, hc, ns)
	if err != nil {
		return nil, err
	}
	if spec.Auth != nil && spec.Auth.Namespace != nil {
		ns = *spec.Auth.Namespace
	}
	loginAPI, err := newAPI(spec, retry, hc, ns)
	if err != nil {
		return nil, err
	}
	return &Client{
		store:   secretstore.Ref(store),
		kv:      newKV(spec),
		cas:     spec.CheckAndSet != nil && spec.CheckAndSet.Required,
		session: newSession(a, tokenAPI, loginAPI),
	}, nil
}

// Client reads one Vault store. It is safe for concurrent use.
type Client struct {
	store   string
	kv      kv
	cas     bool
	session *session
}

// GetSecret reads the secret at ref.Key, or on KV v2 its version
// ref.Version or, with ref.Metadata, its custom metadata.
func (c *Client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	if ref.Metadata {
		if !c.kv.v2 {
			return nil, fmt.Errorf("key %q: metadataPolicy Fetch needs KV v2, and %s is v1", ref.Key, c.store)
		}
		m, err := c.customMetadata(ctx, c.kv.metadataPath(ref.Key))
		if err != nil {
			return nil, err
		}
		return provider.MapSecret(m)
	}
	if ref.Version != "" && !c.kv.v2 {
		return nil, fmt.Errorf("key %q: versions need KV v2, and %s is v1", ref.Key, c.store)
	}
	data, err := c.read(ctx, c.kv.dataPath(ref.Key), ref.Version)
	if err != nil {
		return nil, err
	}
	return provider.MapSecret(data)
}

// read returns the key-value pairs of the secret at path, an API path.
func (c *Client) read(ctx context.Context, path, version string) (map[string]any, error) {
	var query map[string][]string
	what := "read secret at " + path
	if version != "" {
		query = map[string][]string{"version": {version}}
		what += " version " + version
	}
	var sec *api.Secret
	err := c.session.do(ctx, func() error {
		var err error
		sec, err = c.session.api.Logical().ReadWithDataWithContext(ctx, path, query)
		return wrapErr(what, err)
	})
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("%s: %w", what, provider.ErrNotFound)
	}
	if !c.kv.v2 {
		return sec.Data, nil
	}
	// A deleted or destroyed version comes back with its metadata and
	// data: null.
	data, ok := sec.Data["data"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: %w", what, provider.ErrNotFound)
	}
	return data, nil
}

// customMetadata returns the custom_metadata of the KV v2 secret whose
// metadata is at path.
func (c *Client) customMetadata(ctx context.Context, path string) (map[string]any, error) {
	what := "read metadata at " + path
	var sec *api.Secret
	err := c.session.do(ctx, func() error {
		var err error
		sec, err = c.session.api.Logical().ReadWithDataWithContext(ctx, path, nil)
		return wrapErr(what, err)
	})
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("%s: %w", what, provider.ErrNotFound)
	}
	m, _ := sec.Data["custom_metadata"].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Find returns the current value, as a JSON object, of every secret under
// find.Path whose name matches find.Name and whose custom metadata holds
// find.Tags. Names are paths relative to the mount, as in ESO. Unlike ESO,
// which ignores tags when a name is given, both must match when both are
// set. A path that does not exist wraps [provider.ErrNotFound].
func (c *Client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	if len(find.Tags) > 0 && !c.kv.v2 {
		return nil, fmt.Errorf("find by tags needs KV v2 custom metadata, and %s is v1", c.store)
	}
	dir := strings.Trim(find.Path, "/")
	switch {
	case c.kv.v2 && c.kv.mount == "":
		return nil, fmt.Errorf("find on KV v2 needs spec.provider.vault.path, the mount, and %s sets none", c.store)
	case c.kv.mount == "" && dir == "":
		return nil, fmt.Errorf("find on %s, which sets no spec.provider.vault.path, needs a path", c.store)
	}
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find: name regexp: %w", err)
		}
	}
	names, err := c.list(ctx, dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte)
	for _, name := range names {
		if re != nil && !re.MatchString(name) {
			continue
		}
		if len(find.Tags) > 0 {
			m, err := c.customMetadata(ctx, c.kv.join(c.kv.mount, "metadata", name))
			if errors.Is(err, provider.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !hasTags(m, find.Tags) {
				continue
			}
		}
		data, err := c.read(ctx, c.kv.join(c.kv.mount, "data", name), "")
		if errors.Is(err, provider.ErrNotFound) {
			// Listed but deleted: its metadata outlives its data.
			continue
		}
		if err != nil {
			return nil, err
		}
		s, err := provider.MapSecret(data)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", name, err)
		}
		out[name] = s.Raw
	}
	return out, nil
}

func hasTags(m map[string]any, tags map[string]string) bool {
	for k, want := range tags {
		if got, ok := m[k].(string); !ok || got != want {
			return false
		}
	}
	return true
}

// list returns the names of the secrets under dir, recursively, relative
// to the mount and sorted.
func (c *Client) list(ctx context.Context, dir string) ([]string, error) {
	// The trailing slash lists a directory, the mount's root included.
	path := c.kv.join(c.kv.mount, "metadata", dir) + "/"
	what := "list secrets at " + path
	var sec *api.Secret
	err := c.session.do(ctx, func() error {
		var err error
		sec, err = c.session.api.Logical().ListWithContext(ctx, path)
		return wrapErr(what, err)
	})
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("%s: %w", what, provider.ErrNotFound)
	}
	keys, _ := sec.Data["keys"].([]any)
	var names []string
	for _, k := range keys {
		s, ok := k.(string)
		if !ok || s == "" {
			continue
		}
		full := s
		if dir != "" {
			full = dir + "/" + s
		}
		if !strings.HasSuffix(s, "/") {
			names = append(names, full)
			continue
		}
		sub, err := c.list(ctx, strings.TrimSuffix(full, "/"))
		if errors.Is(err, provider.ErrNotFound) {
			// Emptied between the two lists.
			continue
		}
		if err != nil {
			return nil, err
		}
		names = append(names, sub...)
	}
	sort.Strings(names)
	return names, nil
}

// Validate logs in if the client has no token yet and looks the token up:
// it proves Vault is reachable and unsealed and accepts the credentials,
// without reading a secret.
func (c *Client) Validate(ctx context.Context) error {
	if err := c.session.lookup(ctx); err != nil {
		return fmt.Errorf("%s: %w", c.store, err)
	}
	return nil
}

// Close revokes the token the client obtained by logging in and stops
// renewing it. A static token is left alone. The client is unusable
// afterwards.
func (c *Client) Close(ctx context.Context) error {
	return c.session.close(ctx)
}
