package gcpemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Server is a Secret Manager gRPC service and, on a second listener, the
// HTTP token endpoints. Both listen on 127.0.0.1. A Server is safe for
// concurrent use.
type Server struct {
	// Addr is the host:port of the gRPC service, for
	// option.WithEndpoint.
	Addr string
	// URL is the base URL of the HTTP endpoints: the STS token exchange
	// at URL+"/v1/token", the OAuth 2.0 token endpoint at URL+"/token",
	// IAM Credentials' generateAccessToken under URL+"/v1/", and the
	// metadata server under URL+"/computeMetadata/v1/".
	URL string

	grpc *grpc.Server
	http *httptest.Server

	mu          sync.Mutex
	project     string
	projects    map[string]string // ID to number
	secrets     map[string]*secret
	calls       map[string]int
	faults      map[string]*fault
	denied      map[string]bool
	callers     map[string][]string
	requests    map[string][]proto.Message
	authorities []string
	latency     time.Duration
	maxPage     int
	corrupt     bool
	now         func() time.Time
	requireAuth bool

	tokens        map[string]*accessToken
	tokenLifetime time.Duration
	issuers       map[string]any
	pools         map[string]WorkloadPool
	federations   map[string]FederationProvider
	systemKeys    map[string]*systemKey
	keys          map[string]*serviceAccountKey
	impersonators map[string][]string
	metadata      map[string]string
}

type fault struct {
	code codes.Code
	n    int
}

// New starts a Server whose default project, used by helpers given a bare
// secret ID, is projectID. Close it when done.
func New(projectID string) *Server {
	s := &Server{
		project:       projectID,
		projects:      map[string]string{},
		secrets:       map[string]*secret{},
		calls:         map[string]int{},
		faults:        map[string]*fault{},
		denied:        map[string]bool{},
		callers:       map[string][]string{},
		requests:      map[string][]proto.Message{},
		maxPage:       maxPageSize,
		now:           time.Now,
		tokens:        map[string]*accessToken{},
		tokenLifetime: time.Hour,
		issuers:       map[string]any{},
		pools:         map[string]WorkloadPool{},
		federations:   map[string]FederationProvider{},
		systemKeys:    map[string]*systemKey{},
		keys:          map[string]*serviceAccountKey{},
		impersonators: map[string][]string{},
		metadata:      map[string]string{},
	}
	s.projectNumber(projectID)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("gcpemu: listen: %v", err))
	}
	s.Addr = lis.Addr().String()
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	secretmanagerpb.RegisterSecretManagerServiceServer(s.grpc, &service{Server: s})
	go s.grpc.Serve(lis)

	s.http = httptest.NewServer(s.httpHandler())
	s.URL = s.http.URL
	return s
}

// Close stops both listeners.
func (s *Server) Close() {
	s.grpc.Stop()
	s.http.Close()
}

// DialOptions are the gRPC dial options a client needs to reach the
// server: plaintext transport, since it serves no TLS.
func (s *Server) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
}

// ProjectNumber returns the number the server gave projectID, as GCP does
// on first sight. Resource names in responses carry numbers, not IDs.
func (s *Server) ProjectNumber(projectID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projectNumber(projectID)
}

// projectNumber assigns numbers to project IDs; a number is its own
// number. The caller holds s.mu, or is New.
func (s *Server) projectNumber(id string) string {
	if isDigits(id) {
		return id
	}
	if n, ok := s.projects[id]; ok {
		return n
	}
	n := fmt.Sprintf("%d", 100000000000+len(s.projects)*7919+1)
	s.projects[id] = n
	return n
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Calls returns how many times method was called, whatever the outcome.
// Methods are named as in the API: "AccessSecretVersion", "ListSecrets";
// the HTTP endpoints as "sts.token", "oauth2.token",
// "iamcredentials.generateAccessToken" and "metadata".
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// CallCounts returns the count of every method called so far.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Requests returns the requests of every call of the gRPC method, oldest
// first, such as *secretmanagerpb.ListSecretsRequest values for
// "ListSecrets".
func (s *Server) Requests(method string) []proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]proto.Message(nil), s.requests[method]...)
}

// Authorities returns the :authority of the calls, once each, in the order
// first seen: the endpoint clients dialled, whatever address reached the
// server.
func (s *Server) Authorities() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authorities...)
}

// ResetCalls zeroes the counters and forgets the callers and requests.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.callers = map[string][]string{}
	s.requests = map[string][]proto.Message{}
	s.authorities = nil
}

// Callers returns the principals that called method, once each, in the
// order they first did: "serviceAccount:EMAIL" for service-account keys
// and impersonated accounts, "serviceAccount:POOL[NAMESPACE/NAME]" for
// GKE workload identity, "anonymous" for calls without a token.
func (s *Server) Callers(method string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.callers[method]...)
}

// FailNext makes the next n calls of method, or of every gRPC method if
// method is "*", fail with code, after authentication.
func (s *Server) FailNext(method string, code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = &fault{code: code, n: n}
}

// Deny makes every call of method fail with PermissionDenied, as when IAM
// grants the caller no role with its permission, until [Server.Allow].
func (s *Server) Deny(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[method] = true
}

// Allow undoes [Server.Deny].
func (s *Server) Allow(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, method)
}

// SetLatency delays every gRPC call by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetMaxPageSize caps the page size of list calls, 25000 by default as in
// GCP, so that tests can see pagination with a few secrets.
func (s *Server) SetMaxPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPage = n
}

// CorruptPayloads makes AccessSecretVersion return a payload whose
// data_crc32c does not match its data, as a corrupted response would.
func (s *Server) CorruptPayloads(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt = on
}

// RequireAuthentication makes every gRPC call carry a bearer token the
// HTTP endpoints issued, or one added with [Server.AddAccessToken];
// others fail with Unauthenticated. Without it, tokens are checked only
// when sent, to name the caller.
func (s *Server) RequireAuthentication() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireAuth = true
}

// permissions are the IAM permissions each method needs, for the
// messages of PermissionDenied.
var permissions = map[string]string{
	"AccessSecretVersion":  "secretmanager.versions.access",
	"GetSecretVersion":     "secretmanager.versions.get",
	"ListSecretVersions":   "secretmanager.versions.list",
	"AddSecretVersion":     "secretmanager.versions.add",
	"DisableSecretVersion": "secretmanager.versions.disable",
	"EnableSecretVersion":  "secretmanager.versions.enable",
	"DestroySecretVersion": "secretmanager.versions.destroy",
	"ListSecrets":          "secretmanager.secrets.list",
	"GetSecret":            "secretmanager.secrets.get",
	"CreateSecret":         "secretmanager.secrets.create",
	"UpdateSecret":         "secretmanager.secrets.update",
	"DeleteSecret":         "secretmanager.secrets.delete",
}

const unauthenticated = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := path.Base(info.FullMethod)
	s.mu.Lock()
	s.calls[method]++
	if m, ok := req.(proto.Message); ok {
		s.requests[method] = append(s.requests[method], proto.Clone(m))
	}
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}

	principal, err := s.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	for _, a := range md.Get(":authority") {
		if !contains(s.authorities, a) {
			s.authorities = append(s.authorities, a)
		}
	}
	if !contains(s.callers[method], principal) {
		s.callers[method] = append(s.callers[method], principal)
	}
	f := s.faults[method]
	if f == nil || f.n == 0 {
		f = s.faults["*"]
	}
	var injected error
	if f != nil && f.n > 0 {
		f.n--
		injected = status.Errorf(f.code, "injected %s for %s", f.code, method)
		if f.code == codes.PermissionDenied {
			injected = permissionDenied(method, req)
		}
	}
	denied := s.denied[method]
	s.mu.Unlock()
	if injected != nil {
		return nil, injected
	}
	if denied {
		return nil, permissionDenied(method, req)
	}
	return handler(ctx, req)
}

func permissionDenied(method string, req any) error {
	resource := ""
	switch r := req.(type) {
	case interface{ GetName() string }:
		resource = r.GetName()
	case interface{ GetParent() string }:
		resource = r.GetParent()
	case interface {
		GetSecret() *secretmanagerpb.Secret
	}:
		resource = r.GetSecret().GetName()
	}
	return status.Errorf(codes.PermissionDenied, "Permission '%s' denied for resource '%s' (or it may not exist).", permissions[method], resource)
}

// authenticate returns the principal of the call's bearer token.
func (s *Server) authenticate(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(auth) == 0 {
		if s.requireAuth {
			return "", status.Error(codes.Unauthenticated, unauthenticated)
		}
		return "anonymous", nil
	}
	tok, ok := strings.CutPrefix(auth[0], "Bearer ")
	at := s.tokens[tok]
	if !ok || at == nil || !s.now().Before(at.expires) {
		return "", status.Error(codes.Unauthenticated, unauthenticated)
	}
	return at.principal, nil
}

// accessToken is an OAuth 2.0 access token the server issued.
type accessToken struct {
	principal string
	expires   time.Time
}

// AddAccessToken makes token a valid bearer token for principal until it
// expires.
func (s *Server) AddAccessToken(token, principal string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &accessToken{principal: principal, expires: expires}
}

// SetTokenLifetime makes the tokens issued from now on expire after d, so
// tests can watch clients refresh them. The default is an hour.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

// issue makes a new access token for principal. The caller holds s.mu.
func (s *Server) issue(prefix, principal string) (string, time.Duration) {
	b := make([]byte, 24)
	rand.Read(b)
	tok := prefix + hex.EncodeToString(b)
	s.tokens[tok] = &accessToken{principal: principal, expires: s.now().Add(s.tokenLifetime)}
	return tok, s.tokenLifetime
}

func (s *Server) count(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", s.stsToken)
	mux.HandleFunc("POST /token", s.oauthToken)
	mux.HandleFunc("POST /v1/projects/{project}/serviceAccounts/{call}", s.generateAccessToken)
	mux.HandleFunc("GET /computeMetadata/v1/{path...}", s.metadataValue)
	return mux
}
