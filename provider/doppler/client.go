package doppler

import (
	"bytes"
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
	token                                func(context.Context) (string, error)
	project, config, transformer, format string
	http                                 *http.Client
	maxAttempts                          int
	maxWait                              time.Duration

	mu sync.Mutex
	// kept holds the last document of each download, solely to answer
	// a 304 Not Modified; flights, the downloads under way.
	kept    map[downloadKey]*document
	flights map[downloadKey]*flight
}

// downloadKey is what a download depends on besides the config's
// secrets.
type downloadKey struct {
	project, config, format, transformer string
}

// document is a downloaded document and its ETag.
type document struct {
	etag string
	body []byte
	// secrets is body parsed, once for every reader, when the format is
	// json; nil for another format, or a body that is no JSON object.
	secrets map[string]json.RawMessage
}

func newDocument(key downloadKey, etag string, body []byte) *document {
	d := &document{etag: etag, body: body}
	if key.format == "json" && json.Unmarshal(body, &d.secrets) != nil {
		d.secrets = nil
	}
	return d
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
	// write says the request was a write, whose 403 means the token may
	// not write, rather than read.
	write bool
}

// get sends a GET, retrying 429 answers as WithRetry says. Any answer
// other than 429 is returned as it is.
func (c *client) get(ctx context.Context, path string, query url.Values, header http.Header) (*answer, error) {
	return c.send(ctx, http.MethodGet, path, query, header, nil)
}

// send sends a request, with body as JSON if not nil, retrying 429
// answers as WithRetry says: Doppler refused the request without acting
// on it. Any answer other than 429 is returned as it is.
func (c *client) send(ctx context.Context, method, path string, query url.Values, header http.Header, body []byte) (*answer, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 1; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header[k] = v
		}
		tok, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		req.Header.Set("User-Agent", "secretsync")
		resp, err := c.http.Do(req)
		if err != nil {
			// The URL holds no secret: a project, a config, a name.
			return nil, fmt.Errorf("reach Doppler: %w", err)
		}
		respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read Doppler's answer: %w", err)
		}
		if len(respBody) > maxBody {
			return nil, fmt.Errorf("Doppler's answer exceeds %d MiB", maxBody>>20)
		}
		a := &answer{status: resp.StatusCode, header: resp.Header, body: respBody, write: method != http.MethodGet}
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
	return &apiError{status: a.status, message: clean(strings.Join(e.Messages, "; ")), write: a.write}
}

// GetSecret reads one secret's computed value, its references to other
// secrets resolved, from the config's download in json format with
// Doppler's own names: no name transformer, whatever the store's. Every
// GetSecret of the config shares that one download, parsed once and kept
// with its ETag, so reading many secrets of an unchanged config costs one
// 304 each, no body and no parsing. Properties walk a value that is a JSON object, and
// dataFrom.extract maps its keys, as the External Secrets Operator's
// "JSON secret" does.
//
// A secret absent from a download Doppler answered is
// [provider.ErrNotFound]; a failed download, such as a 404 for a missing
// project or config, never is.
func (c *client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	switch {
	case ref.Version != "":
		return nil, fmt.Errorf("secret %q in %s: Doppler secrets have no versions to select; remove remoteRef.version", ref.Key, c.store)
	case ref.Metadata:
		return nil, fmt.Errorf("secret %q in %s: Doppler secrets have no metadata to fetch; remove metadataPolicy Fetch", ref.Key, c.store)
	}
	doc, err := c.downloadAll(ctx, c.rawKey())
	if err != nil {
		return nil, fmt.Errorf("secret %q in %s: download the config: %w", ref.Key, c.store, err)
	}
	if doc.secrets == nil {
		// Errors of encoding/json can quote the input, which holds values.
		return nil, fmt.Errorf("secret %q in %s: the download is not a JSON object", ref.Key, c.store)
	}
	raw, ok := doc.secrets[ref.Key]
	switch {
	case ok:
		return provider.NewJSONSecret(value(raw)), nil
	case !secretName.MatchString(ref.Key):
		// Not a deletion: a name Doppler cannot hold is a mistake in the
		// manifest, such as a name written as a transformer writes it.
		return nil, fmt.Errorf("secret %q in %s: Doppler names secrets with uppercase letters, digits and underscores; remoteRef.key takes the name as Doppler shows it, the store's nameTransformer applies to find only", ref.Key, c.store)
	}
	return nil, fmt.Errorf("secret %q in %s: %w in the config", ref.Key, c.store, provider.ErrNotFound)
}

// secretName is the form of the names Doppler lets a secret have.
var secretName = regexp.MustCompile(`^[A-Z0-9_]+$`)

// value is a secret's value in a json download: its string, or the JSON
// itself should Doppler ever write another type. It never shares memory
// with the download.
func value(raw json.RawMessage) []byte {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return append([]byte(nil), raw...)
}

func (c *client) configQuery() url.Values {
	q := url.Values{}
	if c.project != "" {
		q.Set("project", c.project)
		q.Set("config", c.config)
	}
	return q
}

// rawKey is the download GetSecret reads: json, Doppler's own names.
func (c *client) rawKey() downloadKey {
	return downloadKey{project: c.project, config: c.config, format: "json"}
}

// findKey is the download Find reads: the store's format and name
// transformer. Without either it is rawKey, and one download serves
// both.
func (c *client) findKey() downloadKey {
	format := c.format
	if format == "" {
		format = "json"
	}
	return downloadKey{project: c.project, config: c.config, format: format, transformer: c.transformer}
}

// flight is a download under way, shared by every caller that asks for
// the same downloadKey meanwhile.
type flight struct {
	done   chan struct{} // closed when doc and err are set
	doc    *document
	err    error
	cancel context.CancelFunc
	// waiters counts the callers still waiting; the last to give up
	// cancels the request.
	waiters int
}

// downloadAll returns the document key names, sharing one request among
// concurrent callers. The request runs under a context of its own,
// cancelled when every caller waiting for it has given up, so that one
// caller's cancellation does not fail the others.
func (c *client) downloadAll(ctx context.Context, key downloadKey) (*document, error) {
	c.mu.Lock()
	f := c.flights[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		c.flights[key] = f
		go c.fly(fctx, key, f)
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.doc, f.err
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if c.flights[key] == f {
				delete(c.flights, key)
			}
		}
		c.mu.Unlock()
		return nil, fmt.Errorf("waiting for the download: %w", ctx.Err())
	}
}

// fly makes the request of f and keeps what it downloaded, if it can
// answer a 304, unless every caller gave up on f meanwhile.
func (c *client) fly(ctx context.Context, key downloadKey, f *flight) {
	defer f.cancel()
	doc, fresh, err := c.conditionalDownload(ctx, key)
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
		switch {
		case fresh && doc.etag != "":
			c.kept[key] = doc
		case fresh:
			// Without an ETag the document can answer no 304.
			delete(c.kept, key)
		}
	}
	c.mu.Unlock()
	f.doc, f.err = doc, err
	close(f.done)
}

// conditionalDownload asks for the document of key by
// GET /v3/configs/config/secrets/download, with If-None-Match set to the
// ETag of the document kept, if any. An unchanged config is answered 304
// Not Modified, with no body, and the kept document returned; fresh
// says the document is new, to keep in its place.
func (c *client) conditionalDownload(ctx context.Context, key downloadKey) (doc *document, fresh bool, err error) {
	c.mu.Lock()
	prev := c.kept[key]
	c.mu.Unlock()

	q := c.configQuery()
	q.Set("format", key.format)
	if key.transformer != "" {
		q.Set("name_transformer", key.transformer)
	}
	h := http.Header{}
	if key.format != "json" && key.format != "dotnet-json" {
		h.Set("Accept", "text/plain")
	}
	if prev != nil && prev.etag != "" {
		h.Set("If-None-Match", prev.etag)
	}
	a, err := c.get(ctx, "/v3/configs/config/secrets/download", q, h)
	if err != nil {
		return nil, false, err
	}
	switch a.status {
	case http.StatusNotModified:
		if prev == nil {
			return nil, false, errors.New("Doppler answered 304 Not Modified to a download not asked conditionally")
		}
		return prev, false, nil
	case http.StatusOK:
		return newDocument(key, a.header.Get("ETag"), a.body), true, nil
	}
	return nil, false, a.err()
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
	doc, err := c.downloadAll(ctx, c.findKey())
	if err != nil {
		return nil, fmt.Errorf("find in %s: download the config: %w", c.store, err)
	}
	var all map[string][]byte
	switch {
	case c.format != "":
		all = map[string][]byte{SecretsFileKey: append([]byte(nil), doc.body...)}
	case doc.secrets == nil:
		return nil, fmt.Errorf("find in %s: the download is not a JSON object", c.store)
	default:
		all = make(map[string][]byte, len(doc.secrets))
		for k, v := range doc.secrets {
			all[k] = value(v)
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
