package fake

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Memory is a programmable in-memory store for tests. It is safe for
// concurrent use; a zero Memory is not valid, use [NewMemory].
type Memory struct {
	mu      sync.Mutex
	values  map[entryKey][]byte
	errs    map[string]error
	calls   map[string]int
	writes  map[string]int
	finds   int
	latency time.Duration
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{
		values: make(map[entryKey][]byte),
		errs:   make(map[string]error),
		calls:  make(map[string]int),
		writes: make(map[string]int),
	}
}

// Provider returns a fake Provider that serves m before the store spec's
// values.
func (m *Memory) Provider() *Provider { return &Provider{Memory: m} }

// Set sets the current value of key.
func (m *Memory) Set(key string, value []byte) { m.SetVersion(key, "", value) }

// SetVersion sets the value of one version of key.
func (m *Memory) SetVersion(key, version string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[entryKey{key, version}] = append([]byte(nil), value...)
}

// Delete removes every version of key.
func (m *Memory) Delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.values {
		if k.key == key {
			delete(m.values, k)
		}
	}
}

// SetError makes reads of key fail with err until it is cleared with a nil
// err.
func (m *Memory) SetError(key string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		delete(m.errs, key)
		return
	}
	m.errs[key] = err
}

// SetLatency delays every read by d.
func (m *Memory) SetLatency(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latency = d
}

// Calls returns how many times key was read.
func (m *Memory) Calls(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[key]
}

// TotalCalls returns how many reads and finds were made.
func (m *Memory) TotalCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.finds
	for _, c := range m.calls {
		n += c
	}
	return n
}

// ResetCalls sets every count back to zero.
func (m *Memory) ResetCalls() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = make(map[string]int)
	m.writes = make(map[string]int)
	m.finds = 0
}

func (m *Memory) wait(ctx context.Context) error {
	m.mu.Lock()
	d := m.latency
	m.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Memory) get(ctx context.Context, key, version string) ([]byte, bool, error) {
	if err := m.wait(ctx); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[key]++
	if err := m.errs[key]; err != nil {
		return nil, false, fmt.Errorf("key %q: %w", key, err)
	}
	v, ok := m.values[entryKey{key, version}]
	return v, ok, nil
}

func (m *Memory) find(ctx context.Context, match func(string) bool, out map[string][]byte) error {
	if err := m.wait(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finds++
	for k, v := range m.values {
		if k.version == "" && match(k.key) {
			out[k.key] = v
		}
	}
	return nil
}
