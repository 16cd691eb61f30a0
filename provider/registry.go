package provider

import (
	"fmt"
	"sort"

	"github.com/secretsync/secretsync/secretstore"
)

// Registry maps provider names to providers. A zero Registry is valid and
// empty. It is not safe for concurrent Register calls; build it once at
// start-up and share it.
type Registry struct {
	byName map[string]Provider
}

// NewRegistry returns a registry holding providers. A duplicate name is an
// error.
func NewRegistry(providers ...Provider) (*Registry, error) {
	r := &Registry{}
	for _, p := range providers {
		if err := r.Register(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds p. It fails if a provider of the same name is registered.
func (r *Registry) Register(p Provider) error {
	if p == nil {
		return fmt.Errorf("register provider: nil provider")
	}
	name := p.Name()
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("register provider: %q is already registered", name)
	}
	if r.byName == nil {
		r.byName = make(map[string]Provider)
	}
	r.byName[name] = p
	return nil
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ForStore returns the provider for the one provider field store sets.
func (r *Registry) ForStore(store secretstore.GenericStore) (Provider, error) {
	name, err := secretstore.ProviderName(store.StoreSpec())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secretstore.Ref(store), err)
	}
	p, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s: provider %q is not supported here (have %v)", secretstore.Ref(store), name, r.Names())
	}
	return p, nil
}
