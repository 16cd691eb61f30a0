// Package generator is the contract between secretsync and the
// generators that make values rather than read them: a [Generator] makes
// new values from a generator resource of package generators, and a
// [Revoker] revokes what it made, such as a Vault lease.
//
// Generators are registered in an explicit [Registry], as providers are.
// The engine calls them: it keeps what they make in the cluster, so a
// restart never makes new values, renews values with a lifetime before
// they expire, and revokes replaced values after a grace period and the
// rest when their ExternalSecret is deleted.
package generator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/provider"
)

// Generator makes values for one generator kind.
type Generator interface {
	// Kind is the kind it serves, such as "Password".
	Kind() string
	// Generate makes new values. obj is the generator resource, of the
	// kind's type in package generators; for a ClusterGenerator, the
	// engine passes the kind's own type holding its spec. namespace is
	// the ExternalSecret's: credentials obj names are read there, through
	// creds, with the namespace rules of provider.SecretKey.
	Generate(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string) (Result, error)
}

// Result is what a Generator made.
type Result struct {
	// Values are the generated keys and values.
	Values map[string][]byte
	// TTL is how long the values are good for: a lease's or a token's
	// lifetime. Zero when they do not expire.
	TTL time.Duration
	// State is what Revoke needs to revoke the values, such as a Vault
	// lease ID. It is kept in an annotation, so it must hold no secret.
	State map[string]string
}

// Revoker is implemented by generators whose values must be revoked when
// they are replaced or no longer used.
type Revoker interface {
	// Revoke revokes the values a Generate call made, given its
	// Result.State. Revoking what is already gone is not an error.
	Revoke(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string, state map[string]string) error
}

// Registry holds the generators a host serves, by kind.
type Registry struct {
	byKind map[string]Generator
}

// NewRegistry returns a Registry of gs, or an error if two serve one kind.
func NewRegistry(gs ...Generator) (*Registry, error) {
	r := &Registry{byKind: map[string]Generator{}}
	for _, g := range gs {
		if g == nil {
			return nil, errors.New("generator.NewRegistry: a nil Generator")
		}
		if _, dup := r.byKind[g.Kind()]; dup {
			return nil, fmt.Errorf("generator.NewRegistry: two generators serve kind %s", g.Kind())
		}
		r.byKind[g.Kind()] = g
	}
	return r, nil
}

// For returns the generator of kind.
func (r *Registry) For(kind string) (Generator, error) {
	if r != nil {
		if g, ok := r.byKind[kind]; ok {
			return g, nil
		}
	}
	return nil, fmt.Errorf("generator kind %s is not served here (have %v)", kind, r.Kinds())
}

// Kinds returns the kinds served, sorted.
func (r *Registry) Kinds() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.byKind))
	for k := range r.byKind {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
