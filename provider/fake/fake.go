// Package fake is the "fake" store: the values of a store whose spec sets
// provider.fake.data, served with the External Secrets Operator's fake
// provider semantics, for development and demos.
//
// [Memory] is a programmable in-memory store for tests: it counts reads,
// injects errors and latency, and changes values while a controller runs.
// Attach it with [Memory.Provider]; its values take precedence over the
// spec's. [Credentials] holds the Secrets, ConfigMaps and ServiceAccounts
// a provider under test reads its credentials from.
//
// It is not for production: values in a store spec are not secret.
package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field the fake store uses.
const Name = "fake"

// Provider serves fake stores. A zero Provider is valid and serves only the
// values in store specs.
type Provider struct {
	// Memory, if set, is consulted before the spec's values.
	Memory *Memory
}

// New returns a Provider that serves the values in store specs.
func New() *Provider { return &Provider{} }

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
	_ provider.Finder        = &client{}
	_ provider.Validator     = &client{}
)

// Name returns "fake".
func (*Provider) Name() string { return Name }

// ValidateStore checks that the spec sets provider.fake and that its keys
// and versions are unique.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := index(store)
	return err
}

// NewClient returns a client over the store's values.
func (p *Provider) NewClient(_ context.Context, store secretstore.GenericStore, _ provider.Credentials) (provider.Client, error) {
	data, err := index(store)
	if err != nil {
		return nil, err
	}
	c := &client{store: secretstore.Ref(store), data: data, mem: p.Memory}
	if r := store.StoreSpec().Provider.Fake.ValidationResult; r != nil {
		c.validation = *r
	}
	return c, nil
}

type entryKey struct{ key, version string }

func index(store secretstore.GenericStore) (map[entryKey][]byte, error) {
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.Fake == nil {
		return nil, fmt.Errorf("%s: spec.provider.fake is not set", secretstore.Ref(store))
	}
	if r := spec.Provider.Fake.ValidationResult; r != nil && *r > secretstore.ValidationResultError {
		return nil, fmt.Errorf("%s: spec.provider.fake.validationResult must be 0 (Ready), 1 (Unknown) or 2 (Error), not %d", secretstore.Ref(store), *r)
	}
	data := make(map[entryKey][]byte, len(spec.Provider.Fake.Data))
	for i, d := range spec.Provider.Fake.Data {
		if d.Key == "" {
			return nil, fmt.Errorf("%s: spec.provider.fake.data[%d].key is empty", secretstore.Ref(store), i)
		}
		k := entryKey{d.Key, d.Version}
		if _, dup := data[k]; dup {
			return nil, fmt.Errorf("%s: spec.provider.fake.data[%d]: key %q version %q is listed twice", secretstore.Ref(store), i, d.Key, d.Version)
		}
		value := []byte(d.Value)
		if d.Value == "" && len(d.ValueMap) > 0 {
			var err error
			if value, err = json.Marshal(d.ValueMap); err != nil {
				return nil, fmt.Errorf("%s: spec.provider.fake.data[%d].valueMap: %w", secretstore.Ref(store), i, err)
			}
		}
		data[k] = value
	}
	return data, nil
}

type client struct {
	store      string
	data       map[entryKey][]byte
	mem        *Memory
	validation secretstore.ValidationResult
}

func (c *client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	if c.mem != nil {
		v, found, err := c.mem.get(ctx, ref.Key, ref.Version)
		if err != nil {
			return nil, err
		}
		if found {
			return provider.NewJSONSecret(v), nil
		}
	}
	v, ok := c.data[entryKey{ref.Key, ref.Version}]
	if !ok {
		return nil, fmt.Errorf("key %q%s in %s: %w", ref.Key, versionSuffix(ref.Version), c.store, provider.ErrNotFound)
	}
	return provider.NewJSONSecret(v), nil
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " version " + fmt.Sprintf("%q", v)
}

// Find returns the current values of the keys matching find.Name and
// find.Path. The fake store has no tags, so a find by tags matches nothing.
func (c *client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find: name regexp: %w", err)
		}
	}
	if len(find.Tags) > 0 {
		return map[string][]byte{}, nil
	}
	match := func(k string) bool {
		return strings.HasPrefix(k, find.Path) && (re == nil || re.MatchString(k))
	}
	out := make(map[string][]byte)
	for k, v := range c.data {
		if k.version == "" && match(k.key) {
			out[k.key] = v
		}
	}
	if c.mem != nil {
		if err := c.mem.find(ctx, match, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Validate reports spec.provider.fake.validationResult, as ESO's fake
// store does: Ready succeeds, Unknown returns an error wrapping
// [provider.ErrValidationUnknown] (the store stays Ready), and Error fails.
func (c *client) Validate(context.Context) error {
	switch c.validation {
	case secretstore.ValidationResultReady:
		return nil
	case secretstore.ValidationResultUnknown:
		return fmt.Errorf("%s: spec.provider.fake.validationResult is Unknown: %w", c.store, provider.ErrValidationUnknown)
	}
	return fmt.Errorf("%s: spec.provider.fake.validationResult is %s", c.store, c.validation)
}
