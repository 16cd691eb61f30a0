package provider

import (
	"context"
	"encoding/json"
	"errors"
)

// ErrPushUnsupported is returned, possibly wrapped, by hosts for a store
// whose client is not a [Pusher]: the store can be read, not written.
var ErrPushUnsupported = errors.New("the store does not support PushSecret")

// Pusher is implemented by clients that can write to their store, for
// PushSecret. A store that cannot is read-only: its client simply does
// not implement Pusher.
//
// The host compares before it writes: it reads the remote secret with
// [Client.GetSecret] and calls PushSecret only when the value differs, so
// an unchanged push makes no write. PushSecret therefore writes
// unconditionally, and a remote secret it writes must read back through
// GetSecret as the value pushed: with Property, Secret.Property(Property)
// returns value; without, Secret.Value() returns value, or the same JSON.
type Pusher interface {
	// PushSecret writes value to the remote secret p.RemoteKey, creating
	// it if it does not exist. With p.Property, value becomes that
	// property of the secret's JSON object and the other properties are
	// kept; without, value is the whole secret (for stores whose secrets
	// are maps, such as Vault KV, it must then be a JSON object).
	PushSecret(ctx context.Context, value []byte, p Push) error
	// DeleteSecret deletes what PushSecret wrote for p: the remote secret,
	// or with p.Property that property alone, and the secret with it when
	// no other property is left. Deleting what does not exist is not an
	// error. The host calls it only for a PushSecret with deletionPolicy
	// Delete that is being deleted, or that stopped pushing p.
	DeleteSecret(ctx context.Context, p Push) error
}

// Push names where one value of a PushSecret goes.
type Push struct {
	// RemoteKey names the remote secret.
	RemoteKey string
	// Property, if not empty, is the property of the remote secret's JSON
	// object the value is.
	Property string
	// Metadata is the entry's spec.data[].metadata, as JSON, nil when
	// unset. Its shape is each provider's own, as in the External
	// Secrets Operator (for example the AWS tags, or Vault's custom
	// metadata); a provider that takes none ignores it.
	Metadata json.RawMessage
}

// SetProperty returns the JSON object existing with property set to value:
// how a Pusher writes one property of a remote secret. existing may be
// empty, for a secret that does not exist yet. The value is stored as a
// JSON string, or as JSON when it is a JSON object or array, as the
// External Secrets Operator does.
func SetProperty(existing []byte, property string, value []byte) ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if len(existing) > 0 {
		if err := json.Unmarshal(existing, &obj); err != nil {
			return nil, errors.New("the remote secret is not a JSON object, so property " + property + " cannot be set in it")
		}
	}
	if json.Valid(value) && len(value) > 0 && (value[0] == '{' || value[0] == '[') {
		obj[property] = json.RawMessage(value)
	} else {
		s, err := json.Marshal(string(value))
		if err != nil {
			return nil, err
		}
		obj[property] = s
	}
	return json.Marshal(obj)
}

// DeleteProperty returns existing without property, and whether any
// property is left.
func DeleteProperty(existing []byte, property string) (rest []byte, left bool, err error) {
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(existing, &obj); err != nil {
		return nil, false, errors.New("the remote secret is not a JSON object, so property " + property + " cannot be deleted from it")
	}
	delete(obj, property)
	if len(obj) == 0 {
		return nil, false, nil
	}
	rest, err = json.Marshal(obj)
	return rest, true, err
}
