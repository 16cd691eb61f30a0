package fake

import (
	"context"
	"fmt"

	"github.com/secretsync/secretsync/provider"
)

var _ provider.Pusher = (*client)(nil)

// PushSecret writes value to p.RemoteKey in the client's [Memory]: the
// whole value, or with p.Property that property of a JSON object. A store
// without a Memory, serving only the values of its spec, cannot be
// written.
func (c *client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	if c.mem == nil {
		return fmt.Errorf("key %q in %s: a fake store keeps pushed values only in a fake.Memory", p.RemoteKey, c.store)
	}
	return c.mem.push(ctx, p, func(old []byte, found bool) ([]byte, error) {
		if p.Property == "" {
			return value, nil
		}
		if !found {
			old = nil
		}
		return provider.SetProperty(old, p.Property, value)
	})
}

// DeleteSecret removes p.RemoteKey, or its property p.Property, from the
// client's Memory.
func (c *client) DeleteSecret(ctx context.Context, p provider.Push) error {
	if c.mem == nil {
		return fmt.Errorf("key %q in %s: a fake store keeps pushed values only in a fake.Memory", p.RemoteKey, c.store)
	}
	return c.mem.push(ctx, p, func(old []byte, found bool) ([]byte, error) {
		if !found || p.Property == "" {
			return nil, nil
		}
		rest, left, err := provider.DeleteProperty(old, p.Property)
		if err != nil || !left {
			return nil, err
		}
		return rest, nil
	})
}

// push applies update to the current value of p.RemoteKey under the lock,
// counting one write; a nil result deletes the key.
func (m *Memory) push(ctx context.Context, p provider.Push, update func(old []byte, found bool) ([]byte, error)) error {
	if err := m.wait(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.errs[p.RemoteKey]; err != nil {
		return fmt.Errorf("key %q: %w", p.RemoteKey, err)
	}
	k := entryKey{p.RemoteKey, ""}
	old, found := m.values[k]
	v, err := update(old, found)
	if err != nil {
		return fmt.Errorf("key %q: %w", p.RemoteKey, err)
	}
	m.writes[p.RemoteKey]++
	if v == nil {
		delete(m.values, k)
		return nil
	}
	m.values[k] = append([]byte(nil), v...)
	return nil
}

// Writes returns how many pushes and deletes key had.
func (m *Memory) Writes(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes[key]
}

// TotalWrites returns how many pushes and deletes were made.
func (m *Memory) TotalWrites() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, w := range m.writes {
		n += w
	}
	return n
}

// Get returns the current value of key, without counting a read.
func (m *Memory) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[entryKey{key, ""}]
	return append([]byte(nil), v...), ok
}
