// Package refresh serves an authenticated HTTP endpoint that is told a
// remote secret changed, "store S, key K", and refreshes at once only the
// ExternalSecrets that read K, instead of waiting for their refresh
// interval. A store's own change notifications can be pointed at it:
// Vault event notifications, AWS EventBridge, Azure Event Grid and Google
// Pub/Sub push subscriptions, or any client that posts the native format.
//
// Wire it to an engine:
//
//	h, err := refresh.NewHandler(refresh.Config{Changed: eng.Changed, Token: token})
//
// # Requests
//
// POST, authenticated by a bearer token (Authorization: Bearer T) or an
// HMAC-SHA256 of the body (X-Secretsync-Signature: sha256=<hex>). The
// native body names the store and the keys:
//
//	{"store": {"kind": "ClusterSecretStore", "name": "vault"}, "keys": ["app/db"]}
//
// The other formats take the store from the query, as
// ?store=ClusterSecretStore/vault or ?store=SecretStore/<namespace>/<name>,
// and the key from the event:
//
//   - Vault event notifications: data.event.metadata.path, such as
//     secret/data/app/db, which refreshes readers of secret/data/app/db,
//     secret/app/db and app/db;
//   - EventBridge (Secrets Manager through CloudTrail):
//     detail.requestParameters.secretId, a name or an ARN, whose name
//     (without the 6-character suffix) is refreshed too;
//   - Event Grid (Key Vault): data.ObjectName of each event; the
//     subscription validation handshake is answered;
//   - Pub/Sub push (Secret Manager): message.attributes.secretId,
//     projects/P/secrets/NAME, which refreshes readers of NAME.
//
// The answer is 202 with {"refreshed": N}, the number of ExternalSecrets
// that read the keys. Bad input gets a 4xx that says what is wrong: 401
// unauthenticated, 405 not POST, 413 a body over MaxBody, 429 over the
// rate, 400 anything else.
package refresh

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/time/rate"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/secretstore"
)

// Config configures the endpoint.
type Config struct {
	// Changed is told each key that changed; engine.Engine.Changed.
	Changed func(store engine.StoreKey, key string) int
	// Token, if set, is the bearer token a request may present.
	Token []byte
	// HMACKey, if set, signs request bodies: a request may present
	// X-Secretsync-Signature: sha256=<hex of HMAC-SHA256(body)>.
	// At least one of Token and HMACKey must be set.
	HMACKey []byte
	// Rate and Burst bound the requests served: 10 a second, bursts of 20,
	// when zero.
	Rate  rate.Limit
	Burst int
	// MaxBody bounds a request's body: 64 KiB when zero.
	MaxBody int64
	// MaxKeys bounds the keys of one request: 100 when zero.
	MaxKeys int
	// OnRequest, if set, is called with each request's status code and
	// the number of ExternalSecrets it refreshed, for metrics.
	OnRequest func(code, refreshed int)
}

// NewHandler returns the endpoint's handler.
func NewHandler(cfg Config) (http.Handler, error) {
	switch {
	case cfg.Changed == nil:
		return nil, errors.New("refresh.Config.Changed is nil")
	case len(cfg.Token) == 0 && len(cfg.HMACKey) == 0:
		return nil, errors.New("refresh.Config needs a Token or an HMACKey: the endpoint is never served unauthenticated")
	}
	if cfg.Rate == 0 {
		cfg.Rate, cfg.Burst = 10, 20
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100
	}
	if cfg.OnRequest == nil {
		cfg.OnRequest = func(int, int) {}
	}
	return &handler{cfg: cfg, limit: rate.NewLimiter(cfg.Rate, cfg.Burst)}, nil
}

type handler struct {
	cfg   Config
	limit *rate.Limiter
}

// errStatus is an error with the status code to answer.
type errStatus struct {
	code int
	msg  string
}

func (e *errStatus) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &errStatus{code: code, msg: fmt.Sprintf(format, args...)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, body, err := h.serve(r)
	code := http.StatusAccepted
	if err != nil {
		code = http.StatusBadRequest
		var es *errStatus
		if errors.As(err, &es) {
			code = es.code
		}
		http.Error(w, err.Error(), code)
		h.cfg.OnRequest(code, 0)
		return
	}
	if body == nil {
		body, _ = json.Marshal(map[string]int{"refreshed": n})
	} else {
		code = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
	h.cfg.OnRequest(code, n)
}

// serve handles one request: the ExternalSecrets refreshed, or a body to
// answer with (the Event Grid handshake).
func (h *handler) serve(r *http.Request) (int, []byte, error) {
	if r.Method != http.MethodPost {
		return 0, nil, fail(http.StatusMethodNotAllowed, "use POST")
	}
	if !h.limit.Allow() {
		return 0, nil, fail(http.StatusTooManyRequests, "too many requests; retry later")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBody+1))
	if err != nil {
		return 0, nil, fail(http.StatusBadRequest, "read the body: %v", err)
	}
	if int64(len(body)) > h.cfg.MaxBody {
		return 0, nil, fail(http.StatusRequestEntityTooLarge, "the body is over %d bytes", h.cfg.MaxBody)
	}
	if !h.authenticated(r, body) {
		return 0, nil, fail(http.StatusUnauthorized, "unauthenticated: present the bearer token or an X-Secretsync-Signature")
	}
	store, keys, reply, err := parse(r.URL.Query().Get("store"), body)
	if err != nil {
		return 0, nil, err
	}
	if reply != nil {
		return 0, reply, nil
	}
	if len(keys) == 0 {
		return 0, nil, fail(http.StatusBadRequest, "the request names no key")
	}
	if len(keys) > h.cfg.MaxKeys {
		return 0, nil, fail(http.StatusBadRequest, "the request names %d keys, over the limit of %d", len(keys), h.cfg.MaxKeys)
	}
	n := 0
	for _, k := range keys {
		n += h.cfg.Changed(store, k)
	}
	return n, nil, nil
}

func (h *handler) authenticated(r *http.Request, body []byte) bool {
	if len(h.cfg.Token) > 0 {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(tok), h.cfg.Token) == 1 {
			return true
		}
	}
	if len(h.cfg.HMACKey) > 0 {
		sig, ok := strings.CutPrefix(r.Header.Get("X-Secretsync-Signature"), "sha256=")
		got, err := hex.DecodeString(sig)
		if ok && err == nil {
			mac := hmac.New(sha256.New, h.cfg.HMACKey)
			mac.Write(body)
			return hmac.Equal(got, mac.Sum(nil))
		}
	}
	return false
}

// event is the union of the formats the endpoint reads.
type event struct {
	// native
	Store *struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"store"`
	Keys []string `json:"keys"`
	// Vault
	Data *struct {
		Event *struct {
			Metadata struct {
				Path string `json:"path"`
			} `json:"metadata"`
		} `json:"event"`
	} `json:"data"`
	// EventBridge
	Detail *struct {
		RequestParameters struct {
			SecretID string `json:"secretId"`
		} `json:"requestParameters"`
	} `json:"detail"`
	// Pub/Sub push
	Message *struct {
		Attributes map[string]string `json:"attributes"`
	} `json:"message"`
}

// gridEvent is one Event Grid event.
type gridEvent struct {
	EventType string `json:"eventType"`
	Data      struct {
		ObjectName     string `json:"ObjectName"`
		ValidationCode string `json:"validationCode"`
	} `json:"data"`
}

// parse reads the store and keys of a request; reply, when not nil, is
// the answer to a handshake.
func parse(storeQuery string, body []byte) (engine.StoreKey, []string, []byte, error) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		var events []gridEvent
		if err := json.Unmarshal(body, &events); err != nil {
			return engine.StoreKey{}, nil, nil, fail(http.StatusBadRequest, "the body is not a JSON array of Event Grid events: %v", err)
		}
		var keys []string
		for _, e := range events {
			if e.EventType == "Microsoft.EventGrid.SubscriptionValidationEvent" {
				reply, _ := json.Marshal(map[string]string{"validationResponse": e.Data.ValidationCode})
				return engine.StoreKey{}, nil, reply, nil
			}
			if e.Data.ObjectName != "" {
				keys = append(keys, e.Data.ObjectName)
			}
		}
		store, err := storeFromQuery(storeQuery)
		return store, keys, nil, err
	}
	var e event
	if err := json.Unmarshal(body, &e); err != nil {
		return engine.StoreKey{}, nil, nil, fail(http.StatusBadRequest, "the body is not JSON: %v", err)
	}
	if e.Store != nil {
		kind := e.Store.Kind
		if kind == "" {
			kind = secretstore.KindSecretStore
		}
		store := engine.StoreKey{Kind: kind, Namespace: e.Store.Namespace, Name: e.Store.Name}
		if err := checkStore(store); err != nil {
			return engine.StoreKey{}, nil, nil, err
		}
		return store, e.Keys, nil, nil
	}
	store, err := storeFromQuery(storeQuery)
	if err != nil {
		return engine.StoreKey{}, nil, nil, err
	}
	var keys []string
	switch {
	case e.Data != nil && e.Data.Event != nil && e.Data.Event.Metadata.Path != "":
		keys = vaultKeys(e.Data.Event.Metadata.Path)
	case e.Detail != nil && e.Detail.RequestParameters.SecretID != "":
		keys = awsKeys(e.Detail.RequestParameters.SecretID)
	case e.Message != nil && e.Message.Attributes["secretId"] != "":
		id := e.Message.Attributes["secretId"]
		keys = []string{id}
		if i := strings.LastIndex(id, "/secrets/"); i >= 0 {
			keys = append(keys, id[i+len("/secrets/"):])
		}
	case len(e.Keys) > 0:
		keys = e.Keys
	default:
		return engine.StoreKey{}, nil, nil, fail(http.StatusBadRequest, "the body is none of the formats served: native {store, keys}, Vault, EventBridge, Event Grid or Pub/Sub push")
	}
	return store, keys, nil, nil
}

// storeFromQuery reads ?store=ClusterSecretStore/name or
// ?store=SecretStore/namespace/name.
func storeFromQuery(q string) (engine.StoreKey, error) {
	parts := strings.Split(q, "/")
	var store engine.StoreKey
	switch {
	case q == "":
		return store, fail(http.StatusBadRequest, "name the store with ?store=ClusterSecretStore/<name> or ?store=SecretStore/<namespace>/<name>")
	case len(parts) == 2 && parts[0] == secretstore.KindClusterSecretStore:
		store = engine.StoreKey{Kind: parts[0], Name: parts[1]}
	case len(parts) == 3 && parts[0] == secretstore.KindSecretStore:
		store = engine.StoreKey{Kind: parts[0], Namespace: parts[1], Name: parts[2]}
	default:
		return store, fail(http.StatusBadRequest, "store %q is neither ClusterSecretStore/<name> nor SecretStore/<namespace>/<name>", q)
	}
	return store, checkStore(store)
}

var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func checkStore(s engine.StoreKey) error {
	switch {
	case s.Kind != secretstore.KindSecretStore && s.Kind != secretstore.KindClusterSecretStore:
		return fail(http.StatusBadRequest, "store kind %q is neither SecretStore nor ClusterSecretStore", s.Kind)
	case s.Kind == secretstore.KindSecretStore && !dnsName.MatchString(s.Namespace):
		return fail(http.StatusBadRequest, "a SecretStore needs a namespace")
	case !dnsName.MatchString(s.Name):
		return fail(http.StatusBadRequest, "store name %q is not a valid name", s.Name)
	}
	return nil
}

// vaultKeys are the ways an ExternalSecret may name the KV secret at an
// event's path: as it is, without the data/ segment of KV v2, and
// without the mount.
func vaultKeys(path string) []string {
	path = strings.Trim(path, "/")
	keys := []string{path}
	mount, rest, ok := strings.Cut(path, "/")
	if !ok {
		return keys
	}
	if after, ok := strings.CutPrefix(rest, "data/"); ok {
		keys = append(keys, mount+"/"+after, after)
	} else {
		keys = append(keys, rest)
	}
	return keys
}

// awsKeys are a Secrets Manager secret's ID and, for an ARN, its name.
func awsKeys(id string) []string {
	keys := []string{id}
	if strings.HasPrefix(id, "arn:") {
		if i := strings.Index(id, ":secret:"); i >= 0 {
			name := id[i+len(":secret:"):]
			keys = append(keys, name)
			// AWS appends a hyphen and six random characters.
			if j := strings.LastIndex(name, "-"); j >= 0 && len(name)-j == 7 {
				keys = append(keys, name[:j])
			}
		}
	}
	return keys
}
