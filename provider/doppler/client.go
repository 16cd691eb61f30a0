package doppler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secretsync/secretsync/provider"
)

// maxBody bounds what one answer may hold.
const maxBody = 32 << 20

// client reads the secrets of one Doppler config.
type client struct {
	store                                string
	base                                 string
	token                                string
	project, config, transformer, format string
	http                                 *http.Client
	maxAttempts                          int
	maxWait                              time.Duration

	mu        sync.Mutex
	downloads map[downloadKey]*download
}

// downloadKey is what a download depends on besides the config's
// secrets.
type downloadKey struct {
	project, config, format, transformer string
}

// download is the last document downloaded and its ETag.
type download struct {
	etag string
	body []byte
}

var (
	_ provider.Finder    = &client{}
	_ provider.Validator = &client{}
)

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// get sends a GET, retrying 429 answers as WithRetry says. Any answer
// other than 429 is returned as it is.
func (c *client) get(ctx context.Context, path string, query url.Values, header http.Header) (*answer, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		req.Header.Set("User-Agent", "secretsync")
		resp, err := c.http.Do(req)
		if err != nil {
			// The URL holds no secret: a project, a config, a name.
			return nil, fmt.Errorf("reach Doppler: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read Doppler's answer: %w", err)
		}
		if len(body) > maxBody {
			return nil, fmt.Errorf("Doppler's answer exceeds %d MiB", maxBody>>20)
		}
		a := &answer{status: resp.StatusCode, header: resp.Header, body: body}
		if a.status != http.StatusTooManyRequests {
			return a, nil
		}
		wait, asked := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !asked {
			wait = time.Second << (attempt - 1)
		}
		if attempt >= c.maxAttempts {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt, a.err())
		}
		if wait > c.maxWait {
			return nil, fmt.Errorf("%w; Doppler asks to retry in %s, longer than this client waits (%s)", a.err(), wait.Round(time.Second), c.maxWait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting %s to retry a rate-limited request: %w", wait, ctx.Err())
		}
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// err returns the answer as an *apiError.
func (a *answer) err() *apiError {
	var e struct {
		Messages []string `json:"messages"`
	}
	_ = json.Unmarshal(a.body, &e)
	return &apiError{status: a.status, message: clean(strings.Join(e.Messages, "; "))}
}

type valueJSON struct {
	Raw      *string `json:"raw"`
	Computed *string `json:"computed"`
}

// GetSecret reads one secret's computed value, its references to other
// secrets resolved, with GET /v3/configs/config/secret. Properties walk
// a value that is a JSON object, and dataFrom.extract maps its keys, as
// the External Secrets Operator's "JSON secret" does.
func (c *client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	switch {
	case ref.Version != "":
		return nil, fmt.Errorf("secret %q in %s: Doppler secrets have no versions to select; remove remoteRef.version", ref.Key, c.store)
	case ref.Metadata:
		return nil, fmt.Errorf("secret %q in %s: Doppler secrets have no metadata to fetch; remove metadataPolicy Fetch", ref.Key, c.store)
	}
	v, err := c.secret(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("secret %q in %s: %w", ref.Key, c.store, err)
	}
	return provider.NewJSONSecret(v), nil
}

func (c *client) secret(ctx context.Context, name string) ([]byte, error) {
	q := c.configQuery()
	q.Set("name", name)
	a, err := c.get(ctx, "/v3/configs/config/secret", q, nil)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		e := a.err()
		// Doppler answers 404 for a missing project or config too, which
		// is a mistake in the store, not a missing secret.
		e.notFound = a.status == http.StatusNotFound && strings.Contains(strings.ToLower(e.message), "secret")
		return nil, e
	}
	var r struct {
		Value  *valueJSON `json:"value"`
		Secret *struct {
			Value *valueJSON `json:"value"`
		} `json:"secret"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		// Errors of encoding/json can quote the input, which holds values.
		return nil, errors.New("Doppler's answer is not the JSON expected")
	}
	v := r.Value
	if v == nil && r.Secret != nil {
		v = r.Secret.Value
	}
	if v == nil || v.Computed == nil {
		return nil, errors.New("Doppler's answer has no computed value")
	}
	return []byte(*v.Computed), nil
}

func (c *client) configQuery() url.Values {
	q := url.Values{}
	if c.project != "" {
		q.Set("project", c.project)
		q.Set("config", c.config)
	}
	return q
}

// downloadAll returns every secret of the config in the store's format, by
// GET /v3/configs/config/secrets/download. It keeps the last document
// and its ETag, and asks with If-None-Match: an unchanged config is
// answered 304 Not Modified, with no body, and the kept document served.
func (c *client) downloadAll(ctx context.Context) ([]byte, error) {
	format := c.format
	if format == "" {
		format = "json"
	}
	key := downloadKey{c.project, c.config, format, c.transformer}
	c.mu.Lock()
	prev := c.downloads[key]
	c.mu.Unlock()

	q := c.configQuery()
	q.Set("format", format)
	if c.transformer != "" {
		q.Set("name_transformer", c.transformer)
	}
	h := http.Header{}
	if format != "json" && format != "dotnet-json" {
		h.Set("Accept", "text/plain")
	}
	if prev != nil && prev.etag != "" {
		h.Set("If-None-Match", prev.etag)
	}
	a, err := c.get(ctx, "/v3/configs/config/secrets/download", q, h)
	if err != nil {
		return nil, err
	}
	switch a.status {
	case http.StatusNotModified:
		if prev == nil {
			return nil, errors.New("Doppler answered 304 Not Modified to a download not asked conditionally")
		}
		return prev.body, nil
	case http.StatusOK:
		c.mu.Lock()
		c.downloads[key] = &download{etag: a.header.Get("ETag"), body: a.body}
		c.mu.Unlock()
		return a.body, nil
	}
	return nil, a.err()
}

// Find downloads the config's secrets, with the store's name transformer
// applied, and returns those whose name matches find.Name, an RE2
// expression, and starts with find.Path. With a format, the one key is
// [SecretsFileKey], the whole document, filtered alike. Doppler secrets
// have no tags.
func (c *client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	if len(find.Tags) > 0 {
		return nil, fmt.Errorf("find in %s: Doppler secrets have no tags; find by name or path", c.store)
	}
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find in %s: name regexp: %w", c.store, err)
		}
	}
	body, err := c.downloadAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("find in %s: download: %w", c.store, err)
	}
	var all map[string][]byte
	if c.format != "" {
		all = map[string][]byte{SecretsFileKey: append([]byte(nil), body...)}
	} else {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fmt.Errorf("find in %s: the download is not a JSON object", c.store)
		}
		all = make(map[string][]byte, len(raw))
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) == nil {
				all[k] = []byte(s)
			} else {
				all[k] = v
			}
		}
	}
	for k := range all {
		if (re != nil && !re.MatchString(k)) || !strings.HasPrefix(k, find.Path) {
			delete(all, k)
		}
	}
	return all, nil
}

// Validate checks the token with GET /v3/me, which reads no secret.
func (c *client) Validate(ctx context.Context) error {
	a, err := c.get(ctx, "/v3/me", nil, nil)
	if err == nil && a.status != http.StatusOK {
		err = a.err()
	}
	if err != nil {
		return fmt.Errorf("%s: check the token: %w", c.store, err)
	}
	return nil
}
