package onepassword

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/secretsync/secretsync/provider"
)

// maxBody bounds what one answer may hold, documents included.
const maxBody = 64 << 20

// client reads the items of one store's vaults.
type client struct {
	store  string
	host   string
	token  string
	vaults []string // by priority
	http   *http.Client

	mu  sync.Mutex
	ids map[string]*vaultLookup // by vault name
}

// vaultLookup is the resolution of one vault name, shared by concurrent
// reads; done is closed when id and err are set.
type vaultLookup struct {
	done chan struct{}
	id   string
	err  error
}

var (
	_ provider.Finder    = &client{}
	_ provider.Validator = &client{}
)

// get sends a GET to Connect and returns the body of a 200 answer. Other
// answers are an *apiError.
func (c *client) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	return c.send(ctx, http.MethodGet, path, query, nil, http.StatusOK)
}

// send sends a request to Connect, with body as JSON if not nil, and
// returns the body of an answer with status want. Other answers are an
// *apiError; those of writes say so, for the hint of a 403.
func (c *client) send(ctx context.Context, method, path string, query url.Values, body []byte, want int) ([]byte, error) {
	u := c.host + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "secretsync")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL holds no secret, only IDs and a title filter.
		return nil, fmt.Errorf("reach the Connect server: %w", err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the Connect server's answer: %w", err)
	}
	if len(respBody) > maxBody {
		return nil, fmt.Errorf("the Connect server's answer exceeds %d MiB", maxBody>>20)
	}
	if resp.StatusCode != want {
		return nil, &apiError{status: resp.StatusCode, message: errorMessage(respBody), write: method != http.MethodGet}
	}
	return respBody, nil
}

// getJSON decodes a 200 answer into v.
func (c *client) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	body, err := c.get(ctx, path, query)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		// Errors of encoding/json can quote the input, which holds values.
		return fmt.Errorf("the Connect server's answer to %s is not the JSON expected", path)
	}
	return nil
}

// eq returns a SCIM filter attr eq "value", escaping quotes.
func eq(attr, value string) string {
	return attr + ` eq "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
}

type vaultJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// vaultID returns the ID of the vault name, looking it up once per
// client. A failed lookup is not kept: the next read tries again.
func (c *client) vaultID(ctx context.Context, name string) (string, error) {
	c.mu.Lock()
	l, ok := c.ids[name]
	if !ok {
		l = &vaultLookup{done: make(chan struct{})}
		c.ids[name] = l
		c.mu.Unlock()
		l.id, l.err = c.lookupVault(ctx, name)
		if l.err != nil {
			c.forget(name, l)
		}
		close(l.done)
		return l.id, l.err
	}
	c.mu.Unlock()
	select {
	case <-l.done:
		return l.id, l.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// forget drops the lookup of a vault, if it is still l, such as when the
// vault was deleted or recreated under the same name.
func (c *client) forget(name string, l *vaultLookup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[name] == l {
		delete(c.ids, name)
	}
}

func (c *client) lookupVault(ctx context.Context, name string) (string, error) {
	var vaults []vaultJSON
	if err := c.getJSON(ctx, "/v1/vaults", url.Values{"filter": {eq("name", name)}}, &vaults); err != nil {
		return "", fmt.Errorf("look up vault %q: %w", name, err)
	}
	var ids []string
	for _, v := range vaults {
		if v.Name == name {
			ids = append(ids, v.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("vault %q is not visible to the Connect token: check spec.provider.onepassword.vaults and the token's vault access", name)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d vaults visible to the Connect token are named %q: rename all but one", len(ids), name)
}

// Validate lists the vaults the token can see, in one request, and checks
// that every vault the store names is among them. It reads no item. The
// IDs it finds serve later reads.
func (c *client) Validate(ctx context.Context) error {
	var vaults []vaultJSON
	if err := c.getJSON(ctx, "/v1/vaults", nil, &vaults); err != nil {
		return fmt.Errorf("%s: list vaults: %w", c.store, err)
	}
	found := map[string][]string{}
	for _, v := range vaults {
		found[v.Name] = append(found[v.Name], v.ID)
	}
	var missing []string
	for _, name := range c.vaults {
		ids := found[name]
		switch len(ids) {
		case 0:
			missing = append(missing, fmt.Sprintf("%q", name))
		case 1:
			c.mu.Lock()
			if _, ok := c.ids[name]; !ok {
				l := &vaultLookup{done: make(chan struct{}), id: ids[0]}
				close(l.done)
				c.ids[name] = l
			}
			c.mu.Unlock()
		default:
			return fmt.Errorf("%s: %d vaults visible to the Connect token are named %q: rename all but one", c.store, len(ids), name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: vaults %s are not visible to the Connect token: check spec.provider.onepassword.vaults and the token's vault access", c.store, strings.Join(missing, ", "))
	}
	return nil
}

// listItems lists the items of the vault name that match filter (all
// when empty). When Connect answers 404 for a vault whose ID was known,
// the vault was deleted, perhaps recreated under the same name: it looks
// the name up again, once.
func (c *client) listItems(ctx context.Context, vault, filter string) (id string, items []itemJSON, err error) {
	var q url.Values
	if filter != "" {
		q = url.Values{"filter": {filter}}
	}
	for attempt := 0; ; attempt++ {
		id, err = c.vaultID(ctx, vault)
		if err != nil {
			return "", nil, err
		}
		items = nil
		err = c.getJSON(ctx, "/v1/vaults/"+url.PathEscape(id)+"/items", q, &items)
		if !isStatus(err, http.StatusNotFound) || attempt > 0 {
			break
		}
		c.mu.Lock()
		l := c.ids[vault]
		c.mu.Unlock()
		if l == nil || l.id != id {
			break
		}
		c.forget(vault, l)
	}
	if err != nil {
		return "", nil, fmt.Errorf("list items in vault %q: %w", vault, err)
	}
	return id, items, nil
}
