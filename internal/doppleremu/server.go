package doppleremu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// PersonalToken is the token every Server knows from the start: a
// personal token, which may read every config and must name one.
const PersonalToken = "dp.pt.doppleremu"

// Server is a running emulator. Create it with [New] and stop it with
// [Server.Close]. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API base URL, such as http://127.0.0.1:1234, in place of
	// https://api.doppler.com.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	configs  map[[2]string]map[string]string // (project, config) to raw values
	tokens   map[string]*token
	calls    map[string]map[int]int // op to status to count
	throttle int
	retry    string
	gate     chan struct{} // while not nil, requests wait for it to close
	held     int

	identities map[string]OIDCIdentity
}

type token struct {
	// project and config bind a service token; both empty for a
	// personal token.
	project, config string
	// expires, if not zero, is when an OIDC token stops working.
	expires time.Time
	// readOnly is a service token given read access only: its writes
	// answer 403.
	readOnly bool
}

// New starts a Server on 127.0.0.1. It has no configs and knows
// [PersonalToken].
func New() *Server {
	s := &Server{
		configs: map[[2]string]map[string]string{},
		tokens:  map[string]*token{PersonalToken: {}},
		calls:   map[string]map[int]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/me", s.op("me", s.me))
	mux.HandleFunc("POST /v3/auth/oidc", s.oidcLogin)
	mux.HandleFunc("GET /v3/configs/config/secret", s.op("secret", s.secret))
	mux.HandleFunc("GET /v3/configs/config/secrets/download", s.op("download", s.download))
	mux.HandleFunc("POST /v3/configs/config/secrets", s.op("update", s.update))
	mux.HandleFunc("DELETE /v3/configs/config/secret", s.op("delete", s.deleteSecret))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not found")
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddConfig creates an empty config of a project.
func (s *Server) AddConfig(project, config string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.configs[[2]string{project, config}] == nil {
		s.configs[[2]string{project, config}] = map[string]string{}
	}
}

// secretName is the form Doppler requires of secret names.
var secretName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// SetSecret sets the raw value of a secret, creating its config if
// needed. A raw value may reference other secrets of the config as
// ${NAME}; the computed value has them expanded. It panics on a name
// Doppler would refuse, a mistake in the test.
func (s *Server) SetSecret(project, config, name, raw string) {
	if !secretName.MatchString(name) {
		panic("doppleremu: invalid secret name " + name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.configs[[2]string{project, config}]
	if c == nil {
		c = map[string]string{}
		s.configs[[2]string{project, config}] = c
	}
	c[name] = raw
}

// DeleteSecret deletes a secret.
func (s *Server) DeleteSecret(project, config, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.configs[[2]string{project, config}], name)
}

// AddServiceToken makes a service token known, bound to one config:
// requests may leave out project and config, and may name no other.
func (s *Server) AddServiceToken(tok, project, config string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &token{project: project, config: config}
}

// AddReadOnlyServiceToken makes a service token known, bound to one
// config, that may read it and write nothing: its writes answer 403.
func (s *Server) AddReadOnlyServiceToken(tok, project, config string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &token{project: project, config: config, readOnly: true}
}

// Secrets returns the raw values of a config's secrets, by name, for
// tests that check what a client wrote; nil when there is no such config.
func (s *Server) Secrets(project, config string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.configs[[2]string{project, config}]
	if !ok {
		return nil
	}
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// RevokeToken makes a token unknown.
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tok)
}

// Throttle makes the next n requests, of any operation, fail with 429
// Too Many Requests and, if retryAfter is not empty, that Retry-After
// header, such as "1".
func (s *Server) Throttle(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retry = n, retryAfter
}

// Hold makes every request wait, unanswered, until release is called, for
// tests of what concurrent clients send; requests are counted when
// answered. release may be called more than once.
func (s *Server) Hold() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == gate {
				s.gate = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

// Held returns how many requests wait for the release of [Server.Hold].
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Calls returns how many requests reached op ("me", "secret",
// "download", "update" or "delete"), whatever their outcome.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls[op] {
		n += c
	}
	return n
}

// CallsWithStatus returns how many requests of op were answered with
// status, such as http.StatusNotModified for downloads served from the
// client's copy.
func (s *Server) CallsWithStatus(op string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op][status]
}

// ResetCalls forgets the counts so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]map[int]int{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// op holds a request while [Server.Hold] says so, counts it, applies
// injected throttling and authenticates it.
func (s *Server) op(name string, h func(w http.ResponseWriter, r *http.Request, tok *token)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		gate := s.gate
		if gate != nil {
			s.held++
		}
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
			s.mu.Lock()
			s.held--
			s.mu.Unlock()
			if r.Context().Err() != nil {
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.mu.Lock()
			if s.calls[name] == nil {
				s.calls[name] = map[int]int{}
			}
			s.calls[name][sw.status]++
			s.mu.Unlock()
		}()
		s.mu.Lock()
		throttled, retry := s.throttle > 0, s.retry
		if throttled {
			s.throttle--
		}
		s.mu.Unlock()
		if throttled {
			if retry != "" {
				sw.Header().Set("Retry-After", retry)
			}
			writeError(sw, http.StatusTooManyRequests, "You have exceeded the rate limit. Please try again later.")
			return
		}
		tok, ok := s.authenticate(r)
		if !ok {
			writeError(sw, http.StatusUnauthorized, "Invalid Auth token")
			return
		}
		h(sw, r, tok)
	}
}

// authenticate accepts a bearer token, or, as Doppler also does, the
// token as the user name of HTTP basic auth.
func (s *Server) authenticate(r *http.Request) (*token, bool) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		if b, isBasic := strings.CutPrefix(auth, "Basic "); isBasic {
			if raw, err := base64.StdEncoding.DecodeString(b); err == nil {
				tok, _, _ = strings.Cut(string(raw), ":")
				ok = true
			}
		}
	}
	if !ok || tok == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, known := s.tokens[tok]
	if known && !t.expires.IsZero() && time.Now().After(t.expires) {
		return nil, false
	}
	return t, known
}

type errorBody struct {
	Messages []string `json:"messages"`
	Success  bool     `json:"success"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Messages: []string{msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, tok *token) {
	typ := "personal"
	if tok.project != "" {
		typ = "service_token"
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": typ, "name": "doppleremu", "workplace": map[string]string{"name": "emulator"}})
}

// config resolves the config a request names in its query, or writes
// Doppler's error.
func (s *Server) config(w http.ResponseWriter, r *http.Request, tok *token) (project, config string, values map[string]string) {
	return s.resolve(w, tok, r.URL.Query().Get("project"), r.URL.Query().Get("config"))
}

// resolve returns the config project/config names, or the one a service
// token is bound to, and a copy of its values; or writes Doppler's error.
func (s *Server) resolve(w http.ResponseWriter, tok *token, project, config string) (string, string, map[string]string) {
	if tok.project != "" {
		if (project != "" && project != tok.project) || (config != "" && config != tok.config) {
			writeError(w, http.StatusForbidden, "This token does not have access to requested project or config")
			return "", "", nil
		}
		project, config = tok.project, tok.config
	}
	switch {
	case project == "":
		writeError(w, http.StatusBadRequest, "You must specify a project")
		return "", "", nil
	case config == "":
		writeError(w, http.StatusBadRequest, "You must specify a config")
		return "", "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.configs[[2]string{project, config}]
	if !ok {
		writeError(w, http.StatusNotFound, "Could not find requested config '"+config+"'")
		return "", "", nil
	}
	values := make(map[string]string, len(c))
	for k, v := range c {
		values[k] = v
	}
	return project, config, values
}

var reference = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)\}`)

// computed expands ${NAME} references to other secrets of the config,
// one level deep; unknown references stay as they are.
func computed(values map[string]string, raw string) string {
	return reference.ReplaceAllStringFunc(raw, func(ref string) string {
		if v, ok := values[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

type secretValue struct {
	Raw      string `json:"raw"`
	Computed string `json:"computed"`
	Note     string `json:"note"`
}

func (s *Server) secret(w http.ResponseWriter, r *http.Request, tok *token) {
	_, _, values := s.config(w, r, tok)
	if values == nil {
		return
	}
	name := r.URL.Query().Get("name")
	if !secretName.MatchString(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Secret name %q may only contain uppercase letters, numbers, and underscores", name))
		return
	}
	raw, ok := values[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Could not find requested secret")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":    name,
		"value":   secretValue{Raw: raw, Computed: computed(values, raw)},
		"success": true,
	})
}

// Formats are the download formats the emulator renders.
var formats = map[string]bool{"json": true, "dotnet-json": true, "env": true, "yaml": true, "docker": true, "env-no-quotes": true}

func (s *Server) download(w http.ResponseWriter, r *http.Request, tok *token) {
	_, _, values := s.config(w, r, tok)
	if values == nil {
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if !formats[format] {
		writeError(w, http.StatusBadRequest, "Invalid format")
		return
	}
	transform, ok := transformers[q.Get("name_transformer")]
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid name transformer")
		return
	}
	if format == "dotnet-json" {
		transform = transformers["dotnet"]
	}
	out := map[string]string{}
	only := map[string]bool{}
	for _, n := range strings.Split(q.Get("secrets"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	for name, raw := range values {
		if len(only) == 0 || only[name] {
			out[transform(name)] = computed(values, raw)
		}
	}
	body, contentType := render(format, out)
	sum := sha256.Sum256(append([]byte(format+"\x00"+q.Get("name_transformer")+"\x00"), body...))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatches applies If-None-Match's weak comparison.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func render(format string, values map[string]string) ([]byte, string) {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	switch format {
	case "json", "dotnet-json":
		out, _ := json.Marshal(values)
		return out, "application/json; charset=utf-8"
	case "env":
		for _, n := range names {
			fmt.Fprintf(&b, "%s=%s\n", n, quote(values[n]))
		}
	case "env-no-quotes", "docker":
		for _, n := range names {
			fmt.Fprintf(&b, "%s=%s\n", n, values[n])
		}
	case "yaml":
		for _, n := range names {
			fmt.Fprintf(&b, "%s: %s\n", n, quote(values[n]))
		}
	}
	return []byte(b.String()), "text/plain; charset=utf-8"
}

func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
