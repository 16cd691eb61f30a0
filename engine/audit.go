package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Access is one call the engine made to a store on behalf of an
// ExternalSecret or a PushSecret: a record of an audit trail. It never
// holds a value.
//
// A read shared by several ExternalSecrets is one call to the store, made
// for the one that asked first: it is recorded once, for that one.
type Access struct {
	Time time.Time `json:"time"`
	// Resource is ExternalSecret or PushSecret; Namespace and Name name
	// it.
	Resource  string `json:"resource"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Store is the store called, Provider its provider.
	Store    StoreKey `json:"-"`
	StoreRef string   `json:"store"`
	Provider string   `json:"provider"`
	// Key and Version name the remote secret; Find calls have a Key that
	// describes the search.
	Key     string `json:"key"`
	Version string `json:"version,omitempty"`
	// Operation is GetSecret, Find, PushSecret or DeleteSecret.
	Operation string `json:"operation"`
	// Result is ok, not_found or error; Error is the error, which names
	// keys, never values.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
	// Identity is how the store was authenticated to: the auth method and
	// the role, ServiceAccount or credential Secret it used.
	Identity string `json:"identity"`
}

func accessResult(err error) (string, string) {
	switch {
	case err == nil:
		return "ok", ""
	case errors.Is(err, provider.ErrNotFound):
		return "not_found", err.Error()
	}
	return "error", err.Error()
}

// auditedClient records each call of the client it wraps.
type auditedClient struct {
	provider.Client
	e    *Engine
	base Access
}

// audited wraps client so that its calls are recorded through
// Config.Audit, for resource namespace/name; client itself when there is
// no audit trail.
func (e *Engine) audited(client provider.Client, store secretstore.GenericStore, resource, namespace, name string) provider.Client {
	if e.cfg.Audit == nil {
		return client
	}
	key := StoreKeyOf(store)
	return &auditedClient{Client: client, e: e, base: Access{
		Resource: resource, Namespace: namespace, Name: name,
		Store: key, StoreRef: key.String(), Provider: providerName(store), Identity: Identity(store),
	}}
}

func (a *auditedClient) record(op, key, version string, err error) {
	r := a.base
	r.Time = a.e.cfg.Now()
	r.Operation, r.Key, r.Version = op, key, version
	r.Result, r.Error = accessResult(err)
	a.e.cfg.Audit(r)
}

func (a *auditedClient) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	s, err := a.Client.GetSecret(ctx, ref)
	key := ref.Key
	if ref.Metadata {
		key += " (metadata)"
	}
	a.record("GetSecret", key, ref.Version, err)
	return s, err
}

func (a *auditedClient) Find(ctx context.Context, f provider.Find) (map[string][]byte, error) {
	finder, ok := a.Client.(provider.Finder)
	if !ok {
		return nil, errCannotFind
	}
	m, err := finder.Find(ctx, f)
	var what []string
	if f.Path != "" {
		what = append(what, "path="+f.Path)
	}
	if f.Name != "" {
		what = append(what, "name="+f.Name)
	}
	for k, v := range f.Tags {
		what = append(what, "tag:"+k+"="+v)
	}
	a.record("Find", strings.Join(what, " "), "", err)
	return m, err
}

var errCannotFind = errors.New("this store cannot find secrets")

// auditedPusher records each write of the Pusher it wraps.
type auditedPusher struct {
	p provider.Pusher
	a *auditedClient
}

func (e *Engine) auditedPusher(p provider.Pusher, client provider.Client) provider.Pusher {
	a, ok := client.(*auditedClient)
	if !ok {
		return p
	}
	return auditedPusher{p: p, a: a}
}

func (p auditedPusher) PushSecret(ctx context.Context, value []byte, push provider.Push) error {
	err := p.p.PushSecret(ctx, value, push)
	p.a.record("PushSecret", pushKey(push), "", err)
	return err
}

func (p auditedPusher) DeleteSecret(ctx context.Context, push provider.Push) error {
	err := p.p.DeleteSecret(ctx, push)
	p.a.record("DeleteSecret", pushKey(push), "", err)
	return err
}

func pushKey(p provider.Push) string {
	if p.Property == "" {
		return p.RemoteKey
	}
	return p.RemoteKey + " property " + p.Property
}

// Identity describes how a store authenticates: its auth method and the
// role, ServiceAccount or credential Secret it names. It holds no secret.
func Identity(store secretstore.GenericStore) string {
	p := store.StoreSpec().Provider
	if p == nil {
		return "none"
	}
	sa := func(s *secretstore.ServiceAccountSelector) string {
		if s == nil {
			return ""
		}
		ns := s.Namespace
		if ns == nil || *ns == "" {
			n := store.GetNamespace()
			ns = &n
		}
		return " serviceAccount=" + *ns + "/" + s.Name
	}
	secret := func(s secretstore.SecretKeySelector) string {
		ns := store.GetNamespace()
		if s.Namespace != nil && *s.Namespace != "" {
			ns = *s.Namespace
		}
		return " secret=" + ns + "/" + s.Name
	}
	switch {
	case p.Vault != nil:
		a := p.Vault.Auth
		switch {
		case a == nil:
			return "vault/none"
		case a.TokenSecretRef != nil:
			return "vault/token" + secret(*a.TokenSecretRef)
		case a.AppRole != nil:
			return "vault/approle path=" + a.AppRole.Path
		case a.Kubernetes != nil:
			return "vault/kubernetes role=" + a.Kubernetes.Role + sa(a.Kubernetes.ServiceAccountRef)
		case a.Jwt != nil:
			return "vault/jwt role=" + a.Jwt.Role
		case a.Cert != nil:
			return "vault/cert role=" + a.Cert.VaultRole
		case a.UserPass != nil:
			return "vault/userpass user=" + a.UserPass.Username
		case a.Ldap != nil:
			return "vault/ldap user=" + a.Ldap.Username
		case a.Iam != nil:
			return "vault/iam role=" + a.Iam.Role
		case a.GCP != nil:
			return "vault/gcp role=" + a.GCP.Role
		}
		return "vault"
	case p.AWS != nil:
		id := "aws/default-chain"
		switch {
		case p.AWS.Auth.JWTAuth != nil:
			id = "aws/irsa" + sa(p.AWS.Auth.JWTAuth.ServiceAccountRef)
		case p.AWS.Auth.SecretRef != nil:
			id = "aws/access-key" + secret(p.AWS.Auth.SecretRef.AccessKeyID)
		}
		if p.AWS.Role != "" {
			id += " role=" + p.AWS.Role
		}
		return id
	case p.GCPSM != nil:
		switch a := p.GCPSM.Auth; {
		case a.WorkloadIdentity != nil:
			return "gcp/workload-identity" + sa(&a.WorkloadIdentity.ServiceAccountRef)
		case a.WorkloadIdentityFederation != nil:
			return "gcp/workload-identity-federation"
		case a.SecretRef != nil:
			return "gcp/service-account-key" + secret(a.SecretRef.SecretAccessKey)
		}
		return "gcp/default-credentials"
	case p.AzureKV != nil:
		t := "ServicePrincipal"
		if p.AzureKV.AuthType != nil {
			t = string(*p.AzureKV.AuthType)
		}
		id := "azure/" + t + sa(p.AzureKV.ServiceAccountRef)
		if p.AzureKV.IdentityID != nil {
			id += " identity=" + *p.AzureKV.IdentityID
		}
		return id
	case p.Kubernetes != nil:
		a := p.Kubernetes.Auth
		switch {
		case a == nil:
			return "kubernetes/none"
		case a.ServiceAccount != nil:
			return "kubernetes/serviceaccount" + sa(a.ServiceAccount)
		case a.Token != nil:
			return "kubernetes/token" + secret(a.Token.BearerToken)
		case a.Cert != nil:
			return "kubernetes/cert" + secret(a.Cert.ClientCert)
		}
		return "kubernetes"
	case p.OnePassword != nil:
		return "onepassword/connect-token" + secret(p.OnePassword.Auth.SecretRef.ConnectToken)
	case p.Doppler != nil:
		if p.Doppler.Auth.OIDCConfig != nil {
			return "doppler/oidc"
		}
		if p.Doppler.Auth.SecretRef != nil {
			return "doppler/service-token" + secret(p.Doppler.Auth.SecretRef.DopplerToken)
		}
		return "doppler"
	case p.Fake != nil:
		return "fake/none"
	}
	return "unknown"
}

// AuditLog returns a Config.Audit that writes each record to w as one line
// of JSON, safe for concurrent use. Write errors are dropped: an audit
// trail that cannot be written never stops a sync.
func AuditLog(w io.Writer) func(Access) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(r Access) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	}
}
