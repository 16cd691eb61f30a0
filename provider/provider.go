// Package provider is the contract between secretsync and the external
// secret stores it reads: a [Provider] builds a [Client] for one store, and a
// Client reads remote secrets. Capabilities only some stores have, such as
// finding secrets by name ([Finder]) or checking that a store is usable
// ([Validator]), are separate interfaces found by type assertion.
//
// The contract carries no client-go types. Credentials a store names (a key
// of a Secret, a ServiceAccount token) are read through [Credentials], which
// the host implements; [SecretKey] and [ServiceAccountToken] apply the
// namespace rules that keep one tenant away from another's credentials.
//
// Providers are registered in an explicit [Registry]; nothing registers
// itself. A missing remote secret is reported as [ErrNotFound], which
// deletion policies depend on.
package provider

import (
	"context"
	"errors"
	"time"

	"github.com/secretsync/secretsync/secretstore"
)

// ErrNotFound is returned, possibly wrapped, when a remote secret or one of
// its properties does not exist. Check it with errors.Is.
var ErrNotFound = errors.New("not found")

// Provider builds clients for the stores of one kind, such as "vault".
type Provider interface {
	// Name is the field of spec.provider this provider serves, such as
	// "vault" or "fake".
	Name() string
	// NewClient returns a client for store. The client may hold
	// connections and tokens; callers reuse it across reads until the
	// store or its credentials change, then Close it if it is a [Closer].
	NewClient(ctx context.Context, store secretstore.GenericStore, creds Credentials) (Client, error)
}

// Client reads remote secrets from one store.
type Client interface {
	// GetSecret reads the secret at ref.Key and ref.Version. Properties are
	// selected from the result, so one read serves every property of a
	// secret. It returns an error wrapping ErrNotFound when the secret
	// does not exist.
	GetSecret(ctx context.Context, ref Ref) (Secret, error)
}

// Ref names one remote secret.
type Ref struct {
	// Key of the secret in the store.
	Key string
	// Version of the secret, where the store keeps versions; empty means
	// the current one.
	Version string
	// Metadata asks for the secret's metadata (tags, labels, custom
	// metadata) instead of its value.
	Metadata bool
}

// Secret is one remote secret as read from a store.
type Secret interface {
	// Value returns what a reference without a property reads.
	Value() ([]byte, error)
	// Property returns one property of the secret. Dots walk into nested
	// objects. It returns an error wrapping ErrNotFound when the property
	// does not exist.
	Property(name string) ([]byte, error)
	// Map returns the secret as keys and values, for dataFrom.extract.
	Map() (map[string][]byte, error)
}

// Finder is implemented by clients that can search a store, for
// dataFrom.find.
type Finder interface {
	// Find returns the values of every secret that matches, by name.
	Find(ctx context.Context, find Find) (map[string][]byte, error)
}

// Find selects secrets by name and tags.
type Find struct {
	// Path limits the search to secrets under a path, if not empty.
	Path string
	// Name is an RE2 regular expression names must match, if not empty.
	Name string
	// Tags must all be present with these values.
	Tags map[string]string
}

// ErrValidationUnknown is returned, possibly wrapped, by [Validator]
// implementations that can serve reads but could not confirm it. As in
// ESO, such a store is Ready; its status says the result was Unknown.
var ErrValidationUnknown = errors.New("validation result Unknown")

// Validator is implemented by clients that can check that the store is
// usable, for the store's Ready condition. Validate should be cheap and
// read no secret: a token lookup, not a read.
type Validator interface {
	Validate(ctx context.Context) error
}

// SpecValidator is implemented by providers that can check a store spec
// without contacting the store.
type SpecValidator interface {
	ValidateStore(store secretstore.GenericStore) error
}

// Closer is implemented by clients that hold resources, such as a Vault
// token to revoke.
type Closer interface {
	Close(ctx context.Context) error
}

// ServiceAccountAnnotations is implemented by [Credentials] that can read a
// ServiceAccount's annotations, for auth that takes settings from them,
// such as the IAM role of EKS's eks.amazonaws.com/role-arn. As with the
// other reads, callers apply [CredentialNamespace] first.
type ServiceAccountAnnotations interface {
	ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error)
}

// Credentials reads the credentials a store names. The host implements it,
// typically with a Kubernetes client. Implementations read exactly the
// namespace given; the namespace rules live in [SecretKey] and
// [ServiceAccountToken].
type Credentials interface {
	// SecretValue returns the value of key in the Secret namespace/name,
	// or an error wrapping ErrNotFound.
	SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error)
	// ConfigMapValue returns the value of key in the ConfigMap
	// namespace/name, or an error wrapping ErrNotFound.
	ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error)
	// ServiceAccountToken requests a token for the ServiceAccount
	// namespace/name through the TokenRequest API.
	ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error)
}
