package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Keys of the State a [Generator] returns.
const (
	// StateLeaseID holds the lease_id of the response, which Revoke
	// revokes at sys/leases/revoke.
	StateLeaseID = "leaseID"
	// StateAccessor holds the accessor of a token the response made
	// (resultType Auth or Raw), which Revoke revokes at
	// auth/token/revoke-accessor.
	StateAccessor = "accessor"
)

// Bounds of a Generator's session cache.
const (
	maxSessions = 128
	// sessionIdle is how long a session unused is kept. Dropping one
	// costs a login at the next use, never a value: see release.
	sessionIdle = time.Hour
)

// Generator makes values for VaultDynamicSecret generators: it calls the
// generator's spec.path, with the method and parameters it sets, and
// returns part of Vault's response, as ESO does. spec.provider is a Vault
// store's spec.provider.vault, so every auth method and TLS setting of
// Vault stores works here, credentials read in the ExternalSecret's
// namespace as for a SecretStore there.
//
// # Requests and values
//
// spec.method is GET (the default, a read), LIST, POST or PUT (a write,
// with spec.parameters, a JSON object, as the body), or DELETE; other
// methods are refused. spec.resultType picks the values: Data (the
// default) the response's data, Auth its auth (client_token, accessor,
// policies, ...), Raw the whole response (request_id, lease_id, data,
// auth, ...). Each key of that object is a value: strings as they are,
// null as empty, anything else as JSON text. A response with nothing
// there is an error unless spec.allowEmptyResponse is set.
//
// # TTL and State
//
// Result.TTL is the response's lease_duration, auth.lease_duration for
// Auth, or for a PKI certificate (data holding certificate and expiration)
// the time until it expires. Vault revokes every lease and child token
// with the token that made it, so the TTL of such values is capped at
// what is left of the generator's own token, and the engine makes them
// again before that token expires. To keep the lease's TTL, give the auth
// role a token_ttl longer than the lease; for tokens, use
// auth/token/create-orphan.
//
// Result.State holds the lease_id as [StateLeaseID], and the made token's
// accessor as [StateAccessor] for Auth and Raw results; neither is a
// secret. [Generator.Revoke] revokes them, which needs a policy with
// update on sys/leases/revoke and auth/token/revoke-accessor. Revoking
// what is already gone succeeds, as Vault answers.
//
// # Sessions
//
// A Generator logs in once per generator resource (by UID and the
// ExternalSecret's namespace) and reuses the token, renewing it, until the
// resource's generation or the credentials it read change. A replaced
// session's token is not revoked, since that would revoke the values made
// with it: it stops being renewed and expires on its own. So do sessions
// unused for an hour, and the least recently used beyond 128. Resources
// without a UID log in at every call. Error messages name the generator,
// the method and path, and fields; never a value, a parameter's value or
// a credential.
//
// A Generator is safe for concurrent use. A zero Generator is valid and
// reaches Google's production endpoints for auth.gcp.
type Generator struct {
	p Provider

	mu       sync.Mutex
	sessions map[sessionKey]*cachedSession
}

var (
	_ generator.Generator = &Generator{}
	_ generator.Revoker   = &Generator{}
)

// NewGenerator returns a Generator; opts are those of [New].
func NewGenerator(opts ...Option) *Generator {
	return &Generator{p: *New(opts...)}
}

// Kind returns "VaultDynamicSecret".
func (*Generator) Kind() string { return generators.KindVaultDynamicSecret }

// sessionKey names the session of one generator resource used from one
// namespace: a ClusterGenerator reads credentials in each ExternalSecret's.
type sessionKey struct {
	uid       types.UID
	namespace string
}

type cachedSession struct {
	generation int64
	// creds is a hash of the credentials the client was built from, so
	// a rotated credential is noticed.
	creds  [32]byte
	client *Client
	used   time.Time
}

// request is a validated VaultDynamicSecret.
type request struct {
	ref    string // "VaultDynamicSecret/namespace/name", for messages
	method string
	path   string
	body   map[string]any
	// secrets are the string values of body, kept out of messages.
	secrets            []string
	resultType         generators.VaultDynamicSecretResultType
	allowEmptyResponse bool
}

// Generate sends the request obj, a *generators.VaultDynamicSecret,
// describes and returns the values, their TTL and the State Revoke needs.
func (g *Generator) Generate(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string) (generator.Result, error) {
	v, err := asVaultDynamicSecret(obj)
	if err != nil {
		return generator.Result{}, err
	}
	req, err := newRequest(v)
	if err != nil {
		return generator.Result{}, err
	}
	c, done, err := g.client(ctx, v, creds, namespace)
	if err != nil {
		return generator.Result{}, err
	}
	defer done()
	sec, err := c.call(ctx, req.method, req.path, req.body)
	if err != nil {
		return generator.Result{}, fmt.Errorf("%s: %w", req.ref, redact(err, req.method+" "+req.path+": ", req.secrets))
	}
	res, err := req.values(sec, time.Now(), func() time.Time { return c.session.expiry(ctx) })
	if err != nil {
		return generator.Result{}, fmt.Errorf("%s: %s %s: %w", req.ref, req.method, req.path, err)
	}
	return res, nil
}

// Revoke revokes the lease and the token state names; an empty state
// needs no call to Vault.
func (g *Generator) Revoke(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string, state map[string]string) error {
	v, err := asVaultDynamicSecret(obj)
	if err != nil {
		return err
	}
	leaseID, accessor := state[StateLeaseID], state[StateAccessor]
	if leaseID == "" && accessor == "" {
		return nil
	}
	ref := objectRef(v)
	if err := validateProvider(v); err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	c, done, err := g.client(ctx, v, creds, namespace)
	if err != nil {
		return err
	}
	defer done()
	var errs []error
	// Vault answers success for a lease or accessor it does not know:
	// revoking what is already gone is no error here either.
	if leaseID != "" {
		if _, err := c.call(ctx, "PUT", "sys/leases/revoke", map[string]any{"lease_id": leaseID}); err != nil {
			errs = append(errs, fmt.Errorf("%s: revoke lease: %w", ref, err))
		}
	}
	if accessor != "" {
		if _, err := c.call(ctx, "PUT", "auth/token/revoke-accessor", map[string]any{"accessor": accessor}); err != nil {
			errs = append(errs, fmt.Errorf("%s: revoke token: %w", ref, err))
		}
	}
	return errors.Join(errs...)
}

// Close forgets every session and stops renewing its token, without
// revoking it: values made with the token live until it expires. The
// Generator stays usable.
func (g *Generator) Close(context.Context) error {
	g.mu.Lock()
	sessions := g.sessions
	g.sessions = nil
	g.mu.Unlock()
	for _, s := range sessions {
		s.client.session.release()
	}
	return nil
}

func asVaultDynamicSecret(obj runtime.Object) (*generators.VaultDynamicSecret, error) {
	v, ok := obj.(*generators.VaultDynamicSecret)
	if !ok || v == nil {
		return nil, fmt.Errorf("generator %s: got a %T, want a *generators.VaultDynamicSecret", generators.KindVaultDynamicSecret, obj)
	}
	return v, nil
}

func objectRef(v *generators.VaultDynamicSecret) string {
	if v.Namespace == "" {
		return generators.KindVaultDynamicSecret + "/" + v.Name
	}
	return generators.KindVaultDynamicSecret + "/" + v.Namespace + "/" + v.Name
}

func validateProvider(v *generators.VaultDynamicSecret) error {
	if v.Spec.Provider == nil {
		return errors.New("spec.provider: required")
	}
	if err := validateSpec(v.Spec.Provider); err != nil {
		return fmt.Errorf("spec.provider.%w", err)
	}
	return nil
}

func newRequest(v *generators.VaultDynamicSecret) (*request, error) {
	r := &request{ref: objectRef(v), allowEmptyResponse: v.Spec.AllowEmptyResponse}
	fail := func(format string, args ...any) (*request, error) {
		return nil, fmt.Errorf("%s: "+format, append([]any{r.ref}, args...)...)
	}
	if err := validateProvider(v); err != nil {
		return fail("%w", err)
	}
	r.path = strings.Trim(v.Spec.Path, "/")
	if r.path == "" {
		return fail("spec.path: required")
	}
	r.method = strings.ToUpper(v.Spec.Method)
	switch r.method {
	case "":
		r.method = "GET"
	case "GET", "LIST", "DELETE":
		// As in ESO, parameters are a body, and these send none.
	case "POST", "PUT":
		if p := v.Spec.Parameters; p != nil && len(bytes.TrimSpace(p.Raw)) > 0 {
			d := json.NewDecoder(bytes.NewReader(p.Raw))
			d.UseNumber()
			if err := d.Decode(&r.body); err != nil || r.body == nil {
				// The decoder's message could quote the parameters.
				return fail("spec.parameters: not a JSON object")
			}
			r.secrets = stringLeaves(r.body, nil)
		}
	default:
		return fail("%s %s: spec.method: not GET, LIST, POST, PUT or DELETE", v.Spec.Method, r.path)
	}
	switch v.Spec.ResultType {
	case "", generators.VaultResultData:
		r.resultType = generators.VaultResultData
	case generators.VaultResultAuth, generators.VaultResultRaw:
		r.resultType = v.Spec.ResultType
	default:
		return fail("spec.resultType: %q is not Data, Auth or Raw", v.Spec.ResultType)
	}
	return r, nil
}

// stringLeaves appends the strings in v, a decoded JSON value, to out.
func stringLeaves(v any, out []string) []string {
	switch t := v.(type) {
	case string:
		out = append(out, t)
	case map[string]any:
		for _, e := range t {
			out = stringLeaves(e, out)
		}
	case []any:
		for _, e := range t {
			out = stringLeaves(e, out)
		}
	}
	return out
}

// call sends one request with the session's token.
func (c *Client) call(ctx context.Context, method, path string, body map[string]any) (*api.Secret, error) {
	what := method + " " + path
	var sec *api.Secret
	err := c.session.do(ctx, func() error {
		var err error
		l := c.session.api.Logical()
		switch method {
		case "GET":
			sec, err = l.ReadWithDataWithContext(ctx, path, nil)
		case "LIST":
			sec, err = l.ListWithContext(ctx, path)
		case "POST", "PUT":
			sec, err = l.WriteWithContext(ctx, path, body)
		case "DELETE":
			sec, err = l.DeleteWithContext(ctx, path)
		default:
			return fmt.Errorf("%s: unknown method", what)
		}
		return wrapErr(what, err)
	})
	if err != nil && !strings.HasPrefix(err.Error(), what+": ") {
		// A failed login: say what it was for.
		err = fmt.Errorf("%s: %w", what, err)
	}
	return sec, err
}

// values turns Vault's response into a Result. expiry returns when the
// token that made the request expires, zero if never or unknown.
func (r *request) values(sec *api.Secret, now time.Time, expiry func() time.Time) (generator.Result, error) {
	var values map[string]any
	if sec != nil {
		var err error
		if values, err = r.section(sec); err != nil {
			return generator.Result{}, err
		}
	}
	if len(values) == 0 && !r.allowEmptyResponse {
		return generator.Result{}, r.empty(sec)
	}
	out := generator.Result{Values: make(map[string][]byte, len(values))}
	for k, v := range values {
		b, err := valueBytes(v)
		if err != nil {
			return generator.Result{}, fmt.Errorf("key %q: %w", k, err)
		}
		out.Values[k] = b
	}
	if sec == nil {
		return out, nil
	}
	out.TTL = r.ttl(sec, now)
	if boundToToken(sec, r.resultType) {
		if exp := expiry(); !exp.IsZero() {
			left := max(exp.Sub(now), time.Second)
			if out.TTL == 0 || left < out.TTL {
				out.TTL = left
			}
		}
	}
	out.State = r.state(sec)
	return out, nil
}

func (r *request) empty(sec *api.Secret) error {
	if sec == nil {
		return errors.New("vault returned an empty response; set spec.allowEmptyResponse to accept it")
	}
	return fmt.Errorf("the response has no %s; set spec.allowEmptyResponse to accept it", strings.ToLower(string(r.resultType)))
}

// section returns the part of sec that resultType selects.
func (r *request) section(sec *api.Secret) (map[string]any, error) {
	switch r.resultType {
	case generators.VaultResultAuth:
		if sec.Auth == nil {
			return nil, nil
		}
		return jsonObject(sec.Auth)
	case generators.VaultResultRaw:
		return jsonObject(sec)
	default:
		return sec.Data, nil
	}
}

// jsonObject returns v, a struct of Vault's API, as Vault's JSON names it.
func jsonObject(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the response: %w", err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode the response: %w", err)
	}
	return m, nil
}

// valueBytes encodes one value as ESO does: strings as they are, null as
// nothing, numbers as Vault wrote them, anything else as JSON.
func valueBytes(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case nil:
		return []byte{}, nil
	case json.Number:
		return []byte(t.String()), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// json's message names the Go type, never the value.
		return nil, err
	}
	return b, nil
}

// ttl is how long the values are good for, before the token bound.
func (r *request) ttl(sec *api.Secret, now time.Time) time.Duration {
	secs := func(n int) time.Duration { return time.Duration(n) * time.Second }
	if r.resultType == generators.VaultResultAuth && sec.Auth != nil {
		return secs(sec.Auth.LeaseDuration)
	}
	if exp, ok := certificateExpiry(sec.Data); ok {
		return max(exp.Sub(now), time.Second)
	}
	if sec.LeaseDuration > 0 {
		return secs(sec.LeaseDuration)
	}
	if r.resultType == generators.VaultResultRaw && sec.Auth != nil {
		return secs(sec.Auth.LeaseDuration)
	}
	return 0
}

// certificateExpiry returns the expiration of a PKI issue or sign
// response: Unix seconds, next to the certificate.
func certificateExpiry(data map[string]any) (time.Time, bool) {
	if _, ok := data["certificate"]; !ok {
		return time.Time{}, false
	}
	var secs int64
	var err error
	switch t := data["expiration"].(type) {
	case json.Number:
		secs, err = t.Int64()
	case string:
		secs, err = strconv.ParseInt(t, 10, 64)
	case float64:
		secs = int64(t)
	default:
		return time.Time{}, false
	}
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

// boundToToken reports whether Vault revokes the values with the token
// that asked for them: a lease, or a token that is not an orphan.
func boundToToken(sec *api.Secret, result generators.VaultDynamicSecretResultType) bool {
	if sec.LeaseID != "" {
		return true
	}
	return result != generators.VaultResultData && sec.Auth != nil && sec.Auth.ClientToken != "" && !sec.Auth.Orphan
}

func (r *request) state(sec *api.Secret) map[string]string {
	state := map[string]string{}
	if sec.LeaseID != "" {
		state[StateLeaseID] = sec.LeaseID
	}
	if r.resultType != generators.VaultResultData && sec.Auth != nil && sec.Auth.Accessor != "" {
		state[StateAccessor] = sec.Auth.Accessor
	}
	if len(state) == 0 {
		return nil
	}
	return state
}

// client returns a client for v used from namespace, and what to call
// when done with it.
func (g *Generator) client(ctx context.Context, v *generators.VaultDynamicSecret, creds provider.Credentials, namespace string) (*Client, func(), error) {
	ref := objectRef(v)
	if namespace == "" {
		return nil, nil, fmt.Errorf("%s: no namespace to read credentials in", ref)
	}
	// As a SecretStore in the ExternalSecret's namespace: credentials
	// are read there, and only there.
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: v.Name},
		Spec: secretstore.Spec{
			Provider:      &secretstore.Provider{Vault: v.Spec.Provider.DeepCopy()},
			RetrySettings: v.Spec.RetrySettings.DeepCopy(),
		},
	}
	fp := newFingerprint(creds)
	c, err := g.p.newClient(ctx, store, store.Spec.Provider.Vault, fp.credentials())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ref, asGeneratorFields(err, secretstore.Ref(store), ref))
	}
	sum := fp.sum()
	if v.UID == "" {
		return c, c.session.release, nil
	}

	now := time.Now()
	key := sessionKey{uid: v.UID, namespace: namespace}
	use, done := c, func() {}
	var dropped []*Client
	g.mu.Lock()
	if g.sessions == nil {
		g.sessions = map[sessionKey]*cachedSession{}
	}
	e, ok := g.sessions[key]
	switch {
	case ok && e.generation == v.Generation && e.creds == sum:
		e.used = now
		use = e.client
		dropped = append(dropped, c)
	case ok && v.Generation < e.generation:
		// A call for an older generation, racing a newer one: serve
		// it, but keep the newer session.
		done = c.session.release
	default:
		if ok {
			dropped = append(dropped, e.client)
		}
		g.sessions[key] = &cachedSession{generation: v.Generation, creds: sum, client: c, used: now}
	}
	dropped = append(dropped, g.evictLocked(now)...)
	g.mu.Unlock()
	for _, d := range dropped {
		d.session.release()
	}
	return use, done, nil
}

// evictLocked forgets sessions unused for sessionIdle, then the least
// recently used beyond maxSessions, and returns their clients.
func (g *Generator) evictLocked(now time.Time) []*Client {
	var out []*Client
	for k, s := range g.sessions {
		if now.Sub(s.used) > sessionIdle {
			out = append(out, s.client)
			delete(g.sessions, k)
		}
	}
	if len(g.sessions) <= maxSessions {
		return out
	}
	keys := make([]sessionKey, 0, len(g.sessions))
	for k := range g.sessions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return g.sessions[keys[i]].used.Before(g.sessions[keys[j]].used) })
	for _, k := range keys[:len(keys)-maxSessions] {
		out = append(out, g.sessions[k].client)
		delete(g.sessions, k)
	}
	return out
}

// asGeneratorFields rewords an error of building a store's client for a
// generator: its spec.provider is a store's spec.provider.vault, and the
// synthetic store's name is the generator's. The result matches what err
// matches.
func asGeneratorFields(err error, storeRef, ref string) error {
	msg := strings.NewReplacer("spec.provider.vault.", "spec.provider.", storeRef, ref).Replace(err.Error())
	return &reworded{msg: msg, err: err}
}

// minRedacted is the length of the shortest parameter redact removes.
const minRedacted = 4

// redact returns err with every one of values removed from its message
// after prefix, the method and path: Vault's messages may quote a
// request's parameters (PKI's "common name ... not allowed").
func redact(err error, prefix string, values []string) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		prefix, rest = "", msg
	}
	// Longest first, so a value inside another does not leave a piece.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	changed := false
	for _, v := range values {
		// Shorter strings are no secret, and would cut words apart.
		if len(v) >= minRedacted && strings.Contains(rest, v) {
			rest = strings.ReplaceAll(rest, v, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &reworded{msg: prefix + rest, err: err}
}

// reworded has a message of its own and matches, with errors.Is and
// errors.As, what err matches. It has no Unwrap, so err's message, which
// may hold what was removed, cannot be reached through it.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string        { return e.msg }
func (e *reworded) Is(target error) bool { return errors.Is(e.err, target) }
func (e *reworded) As(target any) bool   { return errors.As(e.err, target) }

// fingerprint passes reads through to the host's credentials and hashes
// the Secret and ConfigMap values read until sum is called.
type fingerprint struct {
	creds  provider.Credentials
	mu     sync.Mutex
	h      hash.Hash
	sealed bool
}

func newFingerprint(creds provider.Credentials) *fingerprint {
	return &fingerprint{creds: creds, h: sha256.New()}
}

// credentials returns what to read through: nil for nil, and a reader of
// ServiceAccount annotations only when the host's is one, since auth
// methods look for that by type assertion.
func (f *fingerprint) credentials() provider.Credentials {
	switch c := f.creds.(type) {
	case nil:
		return nil
	case provider.ServiceAccountAnnotations:
		return annotatedFingerprint{fingerprintReader{f}, c}
	default:
		return fingerprintReader{f}
	}
}

func (f *fingerprint) add(v []byte, err error, parts ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sealed {
		return
	}
	field := func(b []byte) {
		_ = binary.Write(f.h, binary.BigEndian, uint64(len(b)))
		f.h.Write(b)
	}
	for _, p := range parts {
		field([]byte(p))
	}
	if err != nil {
		field([]byte("error"))
		return
	}
	field(v)
}

// sum returns the hash of what was read so far; later reads, such as a
// login's ServiceAccount token, are not added.
func (f *fingerprint) sum() [32]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sealed = true
	var out [32]byte
	copy(out[:], f.h.Sum(nil))
	return out
}

type fingerprintReader struct{ f *fingerprint }

func (r fingerprintReader) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	v, err := r.f.creds.SecretValue(ctx, namespace, name, key)
	r.f.add(v, err, "Secret", namespace, name, key)
	return v, err
}

func (r fingerprintReader) ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	v, err := r.f.creds.ConfigMapValue(ctx, namespace, name, key)
	r.f.add(v, err, "ConfigMap", namespace, name, key)
	return v, err
}

func (r fingerprintReader) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	return r.f.creds.ServiceAccountToken(ctx, namespace, name, audiences, expiration)
}

// annotatedFingerprint also reads ServiceAccount annotations. It cannot
// embed the interface: the field's name would hide its method.
type annotatedFingerprint struct {
	fingerprintReader
	annotations provider.ServiceAccountAnnotations
}

func (a annotatedFingerprint) ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error) {
	return a.annotations.ServiceAccountAnnotations(ctx, namespace, name)
}
