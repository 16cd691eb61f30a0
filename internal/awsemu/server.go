package awsemu

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Account is the AWS account ID in every ARN the server makes.
const Account = "123456789012"

// The access key every Server knows from the start, the example key pair of
// the AWS documentation. It signs as [UserARN].
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	UserARN         = "arn:aws:iam::" + Account + ":user/emulator"
)

// Server is a running emulator. Create it with [New] and stop it with
// [Server.Close]. Its methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint of every service, such as http://127.0.0.1:1234.
	URL string
	// Region is the only region the server accepts in signatures.
	Region string

	srv *httptest.Server

	mu              sync.Mutex
	keys            map[string]*accessKey
	secrets         map[string]*secret
	params          map[string]*parameter
	roles           map[string]*Role
	issuers         map[string]crypto.PublicKey
	denied          map[[2]string]bool
	throttles       map[string]int
	latency         time.Duration
	calls           map[string]int
	throttled       map[string]int
	sessions        []Session
	sessionDuration time.Duration
	mfaDevices      map[string]*mfaDevice
	ecrLifetime     time.Duration
	ecrTokens       []ECRToken
}

// New starts a Server for region, such as "us-east-1". It knows the access
// key [AccessKeyID].
func New(region string) *Server {
	s := &Server{
		Region:    region,
		keys:      map[string]*accessKey{},
		secrets:   map[string]*secret{},
		params:    map[string]*parameter{},
		roles:     map[string]*Role{},
		issuers:   map[string]crypto.PublicKey{},
		denied:    map[[2]string]bool{},
		throttles: map[string]int{},
		calls:     map[string]int{},
		throttled: map[string]int{},

		mfaDevices:  map[string]*mfaDevice{},
		ecrLifetime: DefaultECRTokenLifetime,
	}
	s.AddAccessKey(AccessKeyID, SecretAccessKey, UserARN)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for SDK clients of the server. It hides
// the io.WriterTo of request bodies: smithy-go's returns io.EOF once the
// SDK has closed the body, which net/http, draining the body after a fast
// local server has already answered, takes for a write error; it closes
// the connection under the response, and the SDK retries a request that
// had succeeded, so call counts drift. provider/aws does the same.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: hideWriterTo{s.srv.Client().Transport}}
}

type hideWriterTo struct{ next http.RoundTripper }

func (t hideWriterTo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		r := req.Clone(req.Context())
		r.Body = struct{ io.ReadCloser }{req.Body}
		req = r
	}
	return t.next.RoundTrip(req)
}

type accessKey struct {
	id, secret, token string
	expires           time.Time // zero for long-term keys
	principal         principal
}

// principal is who signed a request.
type principal struct {
	arn string
	// role is the role ARN of an assumed-role session, which is what role
	// trust policies and Deny name.
	role   string
	userID string
	// temporary is true for session credentials, which carry a token.
	temporary bool
}

// AddAccessKey makes a long-term access key known, signing as the IAM
// principal arn.
func (s *Server) AddAccessKey(id, secret, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = &accessKey{id: id, secret: secret, principal: principal{arn: arn, userID: "AIDA" + strings.ToUpper(randomString(16))}}
}

// AddSessionKey makes temporary credentials known: requests must carry
// token, and are refused with ExpiredTokenException after expires.
func (s *Server) AddSessionKey(id, secret, token, arn string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = &accessKey{id: id, secret: secret, token: token, expires: expires, principal: principal{arn: arn, userID: "AROA" + strings.ToUpper(randomString(16)), temporary: true}}
}

// Deny refuses action, such as "secretsmanager:GetSecretValue", to
// principal: a user or role ARN, or "*" for everyone.
func (s *Server) Deny(principal, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[[2]string{principal, action}] = true
}

// Allow undoes [Server.Deny].
func (s *Server) Allow(principal, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, [2]string{principal, action})
}

// Throttle makes the next n calls of action, such as
// "secretsmanager:GetSecretValue" or "sts:AssumeRole", fail with a
// throttling error.
func (s *Server) Throttle(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttles[action] = n
}

// SetLatency delays every response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Calls returns how many requests reached action, such as
// "ssm:GetParameter", whatever their outcome.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Throttled returns how many requests of action were refused by
// [Server.Throttle].
func (s *Server) Throttled(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled[action]
}

// CallCounts returns the requests per action since the start or the last
// [Server.ResetCalls].
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// TotalCalls returns the requests to every action, or to those starting
// with prefix, such as "secretsmanager:".
func (s *Server) TotalCalls(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.calls {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// ResetCalls sets every counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.throttled = map[string]int{}
}

// apiError is an error response. Its code and message are what AWS sends.
type apiError struct {
	status    int
	code, msg string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

type protocol int

const (
	awsJSON protocol = iota
	awsQuery
)

// request is one decoded call.
type request struct {
	service, op string
	proto       protocol
	body        []byte
	form        url.Values
	caller      principal
}

func (r *request) action() string { return r.service + ":" + r.op }

func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	if err != nil || hr.Method != http.MethodPost {
		http.Error(w, "awsemu: POST a request", http.StatusBadRequest)
		return
	}
	req := &request{body: body}
	switch target := hr.Header.Get("X-Amz-Target"); {
	case strings.HasPrefix(target, "secretsmanager."):
		req.service, req.op = "secretsmanager", strings.TrimPrefix(target, "secretsmanager.")
	case strings.HasPrefix(target, "AmazonSSM."):
		req.service, req.op = "ssm", strings.TrimPrefix(target, "AmazonSSM.")
	case strings.HasPrefix(target, ecrTarget):
		req.service, req.op = "ecr", strings.TrimPrefix(target, ecrTarget)
	case strings.HasPrefix(target, ecrPublicTarget):
		req.service, req.op = "ecr-public", strings.TrimPrefix(target, ecrPublicTarget)
	case target == "":
		req.proto = awsQuery
		if req.form, err = url.ParseQuery(string(body)); err != nil {
			http.Error(w, "awsemu: bad form", http.StatusBadRequest)
			return
		}
		req.service, req.op = "sts", req.form.Get("Action")
	default:
		writeError(w, req, errorf("UnknownOperationException", "Unknown operation %s", target))
		return
	}

	s.mu.Lock()
	s.calls[req.action()]++
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-hr.Context().Done():
			return
		}
	}

	out, err := s.serve(hr, req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	writeResult(w, req, out)
}

func (s *Server) serve(hr *http.Request, req *request) (any, error) {
	h, ok := s.handler(req)
	if !ok {
		if req.proto == awsQuery {
			return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", msg: fmt.Sprintf("Could not find operation %s for version 2011-06-15", req.op)}
		}
		return nil, errorf("UnknownOperationException", "Unknown operation %s", req.op)
	}
	// A web identity is the credential of AssumeRoleWithWebIdentity: AWS
	// takes the request unsigned.
	if req.action() != "sts:AssumeRoleWithWebIdentity" {
		p, err := s.authenticate(hr, req)
		if err != nil {
			return nil, err
		}
		req.caller = p
	}
	if err := s.throttle(req); err != nil {
		return nil, err
	}
	// IAM policies do not govern these: AWS answers whoever authenticates.
	switch req.action() {
	case "sts:GetCallerIdentity", "sts:AssumeRoleWithWebIdentity", "sts:GetSessionToken":
	default:
		if err := s.authorize(req.caller, req.action(), ""); err != nil {
			return nil, err
		}
	}
	return h(req)
}

func (s *Server) handler(req *request) (func(*request) (any, error), bool) {
	var h func(*request) (any, error)
	switch req.action() {
	case "secretsmanager:GetSecretValue":
		h = s.getSecretValue
	case "secretsmanager:BatchGetSecretValue":
		h = s.batchGetSecretValue
	case "secretsmanager:ListSecrets":
		h = s.listSecrets
	case "secretsmanager:DescribeSecret":
		h = s.describeSecret
	case "secretsmanager:CreateSecret":
		h = s.createSecret
	case "secretsmanager:PutSecretValue":
		h = s.putSecretValue
	case "secretsmanager:TagResource":
		h = s.tagResource
	case "secretsmanager:UpdateSecret":
		h = s.updateSecret
	case "secretsmanager:UntagResource":
		h = s.untagResource
	case "secretsmanager:DeleteSecret":
		h = s.deleteSecret
	case "secretsmanager:RestoreSecret":
		h = s.restoreSecret
	case "secretsmanager:GetResourcePolicy":
		h = s.getResourcePolicy
	case "secretsmanager:PutResourcePolicy":
		h = s.putResourcePolicy
	case "secretsmanager:DeleteResourcePolicy":
		h = s.deleteResourcePolicy
	case "ssm:PutParameter":
		h = s.putParameterOp
	case "ssm:AddTagsToResource":
		h = s.addTagsToResource
	case "ssm:RemoveTagsFromResource":
		h = s.removeTagsFromResource
	case "ssm:DeleteParameter":
		h = s.deleteParameterOp
	case "ssm:GetParameter":
		h = s.getParameter
	case "ssm:GetParameters":
		h = s.getParameters
	case "ssm:GetParametersByPath":
		h = s.getParametersByPath
	case "ssm:DescribeParameters":
		h = s.describeParameters
	case "ssm:ListTagsForResource":
		h = s.listTagsForResource
	case "sts:AssumeRole":
		h = s.assumeRole
	case "sts:AssumeRoleWithWebIdentity":
		h = s.assumeRoleWithWebIdentity
	case "sts:GetCallerIdentity":
		h = s.getCallerIdentity
	case "sts:GetSessionToken":
		h = s.getSessionToken
	case "ecr:GetAuthorizationToken":
		h = s.getAuthorizationToken
	case "ecr-public:GetAuthorizationToken":
		h = s.getPublicAuthorizationToken
	}
	return h, h != nil
}

func (s *Server) throttle(req *request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttles[req.action()] <= 0 {
		return nil
	}
	s.throttles[req.action()]--
	s.throttled[req.action()]++
	if req.proto == awsQuery {
		return errorf("Throttling", "Rate exceeded")
	}
	return errorf("ThrottlingException", "Rate exceeded")
}

// authorize refuses action on resource if a test denied it to the caller.
func (s *Server) authorize(p principal, action, resource string) error {
	s.mu.Lock()
	denied := s.denied[[2]string{p.arn, action}] || s.denied[[2]string{"*", action}] ||
		(p.role != "" && s.denied[[2]string{p.role, action}])
	s.mu.Unlock()
	if !denied {
		return nil
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s", p.arn, action)
	if resource != "" {
		msg += " on resource: " + resource
	}
	msg += " because no identity-based policy allows the " + action + " action"
	if strings.HasPrefix(action, "sts:") {
		return &apiError{status: http.StatusForbidden, code: "AccessDenied", msg: msg}
	}
	return errorf("AccessDeniedException", "%s", msg)
}

func decode(req *request, v any) error {
	if err := json.Unmarshal(req.body, v); err != nil {
		return errorf("SerializationException", "Start of structure or map found where not expected.")
	}
	return nil
}

func writeResult(w http.ResponseWriter, req *request, out any) {
	id := newUUID()
	if req.proto == awsQuery {
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-Requestid", id)
		writeXML(w, req.op, out, id)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, req, &apiError{status: 500, code: "InternalServiceError", msg: "awsemu: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", id)
	w.Write(b)
}

func writeError(w http.ResponseWriter, req *request, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = &apiError{status: 500, code: "InternalFailure", msg: err.Error()}
	}
	id := newUUID()
	w.Header().Set("X-Amzn-Requestid", id)
	if req.proto == awsQuery {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.status)
		writeXMLError(w, e, id)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

// epoch is a timestamp as AWS JSON sends it: seconds since 1970.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64)), nil
}

// page returns the items of one page and the token of the next, if any.
// Tokens are opaque offsets bound to the operation that made them.
func page[T any](op string, items []T, token *string, max int) ([]T, *string, error) {
	start := 0
	if token != nil && *token != "" {
		b, err := base64.RawURLEncoding.DecodeString(*token)
		prefix := op + "/"
		if err != nil || !strings.HasPrefix(string(b), prefix) {
			return nil, nil, errorf(invalidTokenCode(op), "The nextToken is not valid.")
		}
		if start, err = strconv.Atoi(strings.TrimPrefix(string(b), prefix)); err != nil || start < 0 || start > len(items) {
			return nil, nil, errorf(invalidTokenCode(op), "The nextToken is not valid.")
		}
	}
	end := min(start+max, len(items))
	var next *string
	if end < len(items) {
		t := base64.RawURLEncoding.EncodeToString([]byte(op + "/" + strconv.Itoa(end)))
		next = &t
	}
	return items[start:end], next, nil
}

func invalidTokenCode(op string) string {
	if strings.HasPrefix(op, "ssm:") {
		return "InvalidNextToken"
	}
	return "InvalidNextTokenException"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
