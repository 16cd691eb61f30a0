package azureemu

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TenantID is the Microsoft Entra tenant of every Server: its vault
// belongs to it, and its token endpoint issues tokens in it.
const TenantID = "5f3c9a1e-2b7d-4c8e-9f61-0a4b3c2d1e0f"

// cloud is one Azure cloud: the authority host that issues tokens, the DNS
// suffix of its vaults and the resource its vault tokens are for.
type cloud struct {
	login, vaultSuffix, resource string
}

var clouds = []cloud{
	{"login.microsoftonline.com", ".vault.azure.net", "https://vault.azure.net"},
	{"login.microsoftonline.us", ".vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net"},
	{"login.chinacloudapi.cn", ".vault.azure.cn", "https://vault.azure.cn"},
	// An Azure Stack Hub, a cloud only a custom cloud configuration
	// reaches.
	{"login.local.azurestack.external", ".vault.local.azurestack.external", "https://vault.local.azurestack.external"},
}

// imdsHost is the address of the Azure Instance Metadata Service.
const imdsHost = "169.254.169.254"

// Server is a running emulator. Create it with [New] and stop it with
// [Server.Close]. Its methods are safe for concurrent use.
type Server struct {
	// URL reaches every endpoint of the server directly, such as
	// https://127.0.0.1:1234; there the vault and the token endpoint act
	// as in the public cloud.
	URL string
	// VaultName is the vault's name, the first label of its DNS names.
	VaultName string
	// VaultURL is the vault in the public cloud, such as
	// https://name.vault.azure.net/. The same vault answers at
	// name.vault.usgovcloudapi.net and name.vault.azure.cn.
	VaultURL string

	srv, imds *httptest.Server
	roots     *x509.CertPool

	mu            sync.Mutex
	objects       map[string]map[string]*object // collection, name
	deleted       map[string]*deletedSecret     // soft-deleted secrets
	recovering    map[string]int                // requests until recovery completes
	recoveryPolls int
	apps          map[string]*App
	identities    []ManagedIdentity
	system        string
	issuers       map[string]crypto.PublicKey
	tokens        map[string]*accessToken
	grants        []Grant
	denied        map[[2]string]bool
	throttles     map[string]*throttle
	calls         map[string]int
	throttled     map[string]int
	pageSize      int
	tokenLifetime time.Duration
}

type throttle struct {
	n          int
	retryAfter time.Duration
}

// New starts a Server whose vault is called vaultName, such as
// "my-vault". It knows no application and holds no secret.
func New(vaultName string) *Server {
	s := &Server{
		VaultName:     vaultName,
		VaultURL:      "https://" + vaultName + clouds[0].vaultSuffix + "/",
		objects:       map[string]map[string]*object{Secrets: {}, Certificates: {}, Keys: {}},
		deleted:       map[string]*deletedSecret{},
		recovering:    map[string]int{},
		apps:          map[string]*App{},
		issuers:       map[string]crypto.PublicKey{},
		tokens:        map[string]*accessToken{},
		denied:        map[[2]string]bool{},
		throttles:     map[string]*throttle{},
		calls:         map[string]int{},
		throttled:     map[string]int{},
		pageSize:      25,
		tokenLifetime: time.Hour,
	}
	cert, roots := s.certificate()
	s.roots = roots
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// Handshakes a client abandons are not the server's errors.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	s.URL = s.srv.URL
	s.imds = httptest.NewServer(http.HandlerFunc(s.serveIMDS))
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.srv.Close()
	s.imds.Close()
}

// certificate makes the server's self-signed TLS certificate, valid for
// the loopback address and every name the server answers to.
func (s *Server) certificate() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("azureemu: generate TLS key: " + err.Error())
	}
	names := []string{"localhost"}
	for _, c := range clouds {
		names = append(names, c.login, "*"+c.vaultSuffix)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "azureemu"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("azureemu: create TLS certificate: " + err.Error())
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic("azureemu: parse TLS certificate: " + err.Error())
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// Client returns an HTTP client that trusts the server's certificate and
// resolves the names of the Azure endpoints the server plays to it: the
// vault's names, the authority hosts login.microsoftonline.com,
// login.microsoftonline.us, login.chinacloudapi.cn and, for an Azure
// Stack Hub, login.local.azurestack.external, and the Instance
// Metadata Service at 169.254.169.254. Every other name fails as an
// unknown host does. SDK clients given it run their production
// configuration unchanged: public-cloud authority, challenge resource
// verification, instance metadata.
func (s *Server) Client() *http.Client {
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			target, ok := s.resolve(host, port)
			if !ok {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}
			return d.DialContext(ctx, network, target)
		},
		TLSClientConfig:     &tls.Config{RootCAs: s.roots},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr}
}

// resolve maps a host and port a client dials to the listener that plays
// it.
func (s *Server) resolve(host, port string) (string, bool) {
	tlsAddr := s.srv.Listener.Addr().String()
	switch {
	case host == imdsHost && port == "80":
		return s.imds.Listener.Addr().String(), true
	case net.JoinHostPort(host, port) == tlsAddr:
		return tlsAddr, true
	case port != "443":
		return "", false
	}
	if _, ok := s.cloudOf(host); ok {
		return tlsAddr, true
	}
	return "", false
}

// cloudOf returns the cloud whose authority host or vault host is host,
// without a port. The loopback address plays the public cloud.
func (s *Server) cloudOf(host string) (cloud, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "127.0.0.1" || host == "localhost" {
		return clouds[0], true
	}
	for _, c := range clouds {
		if host == c.login || host == s.VaultName+c.vaultSuffix {
			return c, true
		}
	}
	return cloud{}, false
}

func (s *Server) isVaultHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "127.0.0.1" || host == "localhost" {
		return true
	}
	for _, c := range clouds {
		if host == s.VaultName+c.vaultSuffix {
			return true
		}
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cloudOf(r.Host)
	if !ok {
		http.Error(w, "azureemu: unknown host "+r.Host, http.StatusMisdirectedRequest)
		return
	}
	path := r.URL.Path
	if s.isVaultHost(r.Host) {
		for _, coll := range []string{Secrets, Certificates, Keys, DeletedSecrets} {
			if path == "/"+coll || strings.HasPrefix(path, "/"+coll+"/") {
				s.serveVault(w, r, c)
				return
			}
		}
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/common/discovery/instance":
		s.serveInstanceDiscovery(w, r)
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		s.serveOpenIDConfiguration(w, r, parts[0])
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		s.serveToken(w, r, c, parts[0])
	default:
		http.NotFound(w, r)
	}
}

// Deny refuses op, such as "secrets/get", to principal: the client ID of an
// application or managed identity, or "*" for everyone. Key Vault answers
// 403 Forbidden, as when an access policy or role assignment is missing.
func (s *Server) Deny(principal, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[[2]string{principal, op}] = true
}

// Allow undoes [Server.Deny].
func (s *Server) Allow(principal, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, [2]string{principal, op})
}

// Throttle makes the next n calls of op, such as "secrets/get" or
// "token", fail with 429 Too Many Requests and a Retry-After header of
// retryAfter, rounded up to whole seconds as Azure sends it. A negative n
// throttles until Throttle is called again.
func (s *Server) Throttle(op string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == 0 {
		delete(s.throttles, op)
		return
	}
	s.throttles[op] = &throttle{n: n, retryAfter: retryAfter}
}

// SetPageSize sets how many items a list page holds when the client asks
// for no fewer; Key Vault's default and maximum is 25.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetTokenLifetime sets how long the access tokens issued from now on
// are valid; an hour unless set.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

// Calls returns how many requests reached op. Vault operations ("secrets/get",
// "secrets/list", "secrets/set", "secrets/update", "secrets/delete",
// "deletedsecrets/get", "deletedsecrets/recover", "deletedsecrets/purge",
// "certificates/get", "keys/get") count the
// requests that carried a bearer token, whatever their outcome; "challenge"
// counts those that did not and were answered with the authentication
// challenge. "token", "openid-configuration", "instance-discovery" and
// "imds" count requests to Microsoft Entra ID and the Instance Metadata
// Service.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// CallCounts returns the requests per operation since the start or the
// last [Server.ResetCalls].
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Throttled returns how many requests of op [Server.Throttle] refused.
func (s *Server) Throttled(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled[op]
}

// ResetCalls sets every counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.throttled = map[string]int{}
}

func (s *Server) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
}

// takeThrottle consumes one injected throttle of op, if any, and returns
// the Retry-After to send.
func (s *Server) takeThrottle(op string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.throttles[op]
	if t == nil {
		return 0, false
	}
	if t.n > 0 {
		if t.n--; t.n == 0 {
			delete(s.throttles, op)
		}
	}
	s.throttled[op]++
	return t.retryAfter, true
}

func writeTooManyRequests(w http.ResponseWriter, retryAfter time.Duration, body any) {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
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
