package vault

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
)

var _ provider.Pusher = (*Client)(nil)

// managedBy marks, in a KV v2 secret's custom metadata, the secrets
// PushSecret wrote, as the External Secrets Operator marks them: only
// those are overwritten or deleted.
const managedBy, managedByValue = "managed-by", "external-secrets"

// PushSecret writes value to the KV secret at p.RemoteKey: with
// p.Property as that key of the secret, the others kept; without, value
// must be a JSON object, which becomes the secret. On KV v2 it marks a
// secret it creates managed-by: external-secrets in its custom metadata,
// and refuses to write a secret without that mark; with checkAndSet
// required, each write names the version it replaces.
func (c *Client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	if len(p.Metadata) > 0 {
		return fmt.Errorf("key %q: PushSecret metadata is not supported for Vault", p.RemoteKey)
	}
	cur, err := c.current(ctx, p.RemoteKey)
	if err != nil {
		return err
	}
	if cur.exists && c.kv.v2 && !cur.managed {
		return fmt.Errorf("key %q: the secret exists and is not marked %s: %s in its custom metadata; PushSecret writes only the secrets it created", p.RemoteKey, managedBy, managedByValue)
	}
	data := map[string]any{}
	if p.Property == "" {
		if err := json.Unmarshal(value, &data); err != nil {
			return fmt.Errorf("key %q: a Vault KV secret is a map of keys to values, and the value pushed is not a JSON object; set remoteRef.property to push it as one key", p.RemoteKey)
		}
	} else {
		for k, v := range cur.data {
			data[k] = v
		}
		data[p.Property] = string(value)
	}
	return c.write(ctx, p.RemoteKey, data, cur)
}

// DeleteSecret deletes the KV secret at p.RemoteKey, every version of it
// on KV v2, or with p.Property only that key (the secret goes with its
// last key). A secret without the managed-by mark is left alone.
func (c *Client) DeleteSecret(ctx context.Context, p provider.Push) error {
	cur, err := c.current(ctx, p.RemoteKey)
	if err != nil || !cur.exists {
		return err
	}
	if c.kv.v2 && !cur.managed {
		return fmt.Errorf("key %q: the secret is not marked %s: %s in its custom metadata; PushSecret deletes only the secrets it created", p.RemoteKey, managedBy, managedByValue)
	}
	if p.Property != "" {
		if _, ok := cur.data[p.Property]; !ok {
			return nil
		}
		delete(cur.data, p.Property)
		if len(cur.data) > 0 {
			return c.write(ctx, p.RemoteKey, cur.data, cur)
		}
	}
	path := c.kv.dataPath(p.RemoteKey)
	if c.kv.v2 {
		path = c.kv.metadataPath(p.RemoteKey)
	}
	what := "delete secret at " + path
	return c.session.do(ctx, func() error {
		_, err := c.session.api.Logical().DeleteWithContext(ctx, path)
		return wrapErr(what, err)
	})
}

// remote is a KV secret as PushSecret finds it.
type remote struct {
	exists  bool
	managed bool
	version json.Number
	data    map[string]any
}

func (c *Client) current(ctx context.Context, key string) (remote, error) {
	path := c.kv.dataPath(key)
	what := "read secret at " + path
	var sec *api.Secret
	err := c.session.do(ctx, func() error {
		var err error
		sec, err = c.session.api.Logical().ReadWithDataWithContext(ctx, path, nil)
		return wrapErr(what, err)
	})
	if err != nil {
		return remote{}, err
	}
	if sec == nil {
		return remote{data: map[string]any{}}, nil
	}
	if !c.kv.v2 {
		return remote{exists: true, managed: true, data: sec.Data}, nil
	}
	r := remote{data: map[string]any{}}
	if meta, ok := sec.Data["metadata"].(map[string]any); ok {
		r.version, _ = meta["version"].(json.Number)
		if cm, ok := meta["custom_metadata"].(map[string]any); ok {
			r.managed = cm[managedBy] == managedByValue
		}
	}
	if d, ok := sec.Data["data"].(map[string]any); ok {
		r.exists, r.data = true, d
	} else if r.version != "" {
		// The current version is deleted or destroyed: the secret's
		// metadata, and its mark, are still there.
		r.exists = false
	}
	return r, nil
}

func (c *Client) write(ctx context.Context, key string, data map[string]any, cur remote) error {
	path := c.kv.dataPath(key)
	what := "write secret at " + path
	body := data
	if c.kv.v2 {
		body = map[string]any{"data": data}
		if c.cas {
			v := cur.version
			if v == "" {
				v = "0"
			}
			body["options"] = map[string]any{"cas": v}
		}
	}
	err := c.session.do(ctx, func() error {
		_, err := c.session.api.Logical().WriteWithContext(ctx, path, body)
		return wrapErr(what, err)
	})
	if err != nil || !c.kv.v2 || cur.managed {
		return err
	}
	meta := c.kv.metadataPath(key)
	what = "write metadata at " + meta
	return c.session.do(ctx, func() error {
		_, err := c.session.api.Logical().WriteWithContext(ctx, meta, map[string]any{"custom_metadata": map[string]any{managedBy: managedByValue}})
		return wrapErr(what, err)
	})
}
