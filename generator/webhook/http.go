package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	// MaxResponseSize is the most bytes of a response body read; a longer
	// response is an error.
	MaxResponseSize = 1 << 20
	// MaxRedirects is the most redirects one call follows.
	MaxRedirects = 5
	// DefaultTimeout bounds a call whose spec sets no timeout.
	DefaultTimeout = 30 * time.Second
)

// Option configures the generators of this package.
type Option func(*options)

type options struct {
	client *http.Client
	now    func() time.Time
}

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithHTTPClient makes requests go through c's Transport, such as one
// that trusts a test server's certificate. The redirect policy and the
// timeout stay the generator's own. A Webhook whose spec sets caBundle or
// caProvider uses a clone of the Transport, which must then be an
// *http.Transport, with those roots.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithClock sets the clock that dates the GitHub App JWT and measures
// the token's TTL; time.Now when unset.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// newClient returns the client for one call: base's transport, with its
// TLS roots replaced by roots when roots is not nil, and the redirect
// policy of checkRedirect. Call done when the call is over.
func newClient(base *http.Client, roots *x509.CertPool) (c *http.Client, done func(), err error) {
	rt := http.DefaultTransport
	if base != nil && base.Transport != nil {
		rt = base.Transport
	}
	done = func() {}
	if roots != nil {
		tr, ok := rt.(*http.Transport)
		if !ok {
			return nil, nil, fmt.Errorf("a CA bundle needs an *http.Transport, and the HTTP client has a %T", rt)
		}
		tr = tr.Clone()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = roots
		rt, done = tr, tr.CloseIdleConnections
	}
	return &http.Client{Transport: rt, CheckRedirect: checkRedirect}, done, nil
}

// checkRedirect follows a redirect only to the host of the first request
// and never from https to http: Go sends every header but a few it knows
// to be credentials on to another host, and templated headers may hold
// any secret.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) > MaxRedirects:
		return fmt.Errorf("stopped after %d redirects", MaxRedirects)
	case req.URL.Host != first.Host:
		return fmt.Errorf("refused a redirect from host %s to host %s", first.Host, req.URL.Host)
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("refused a redirect from https to %s", req.URL.Scheme)
	}
	return nil
}

// statusError is a non-2xx response. Its message has the method, the host
// and the status; body, which may hold secrets, is kept for callers that
// know how to read a safe part of it.
type statusError struct {
	where string
	code  int
	body  []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: status %d %s", e.where, e.code, http.StatusText(e.code))
}

// call sends req and returns the body of a 2xx response, or a
// *statusError. Errors never hold the URL, whose query may hold a
// templated secret.
func call(c *http.Client, req *http.Request) ([]byte, error) {
	where := fmt.Sprintf("%s to host %s", req.Method, req.URL.Host)
	resp, err := c.Do(req)
	if err != nil {
		// A *url.Error quotes the whole URL; what went wrong is in Err.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &statusError{where: where, code: resp.StatusCode, body: body}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read the response: %w", where, err)
	}
	if len(body) > MaxResponseSize {
		return nil, fmt.Errorf("%s: the response is larger than %d bytes", where, MaxResponseSize)
	}
	return body, nil
}

// scope is the stand-in for a store that [provider.SecretKey] and
// [provider.CredentialNamespace] take: a generator resource is
// namespaced, so what it names is read as a SecretStore's would be, in
// the namespace it serves and no other.
func scope(namespace, name string) secretstore.GenericStore {
	s := &secretstore.SecretStore{}
	s.Namespace, s.Name = namespace, name
	return s
}

// caPool returns the roots of caBundle and caProvider, or nil for the
// system roots.
func caPool(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials, caBundle []byte, cp *secretstore.CAProvider) (*x509.CertPool, error) {
	if len(caBundle) == 0 && cp == nil {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if len(caBundle) > 0 && !pool.AppendCertsFromPEM(caBundle) {
		return nil, errors.New("spec.caBundle holds no PEM certificate")
	}
	if cp == nil {
		return pool, nil
	}
	ns, err := provider.CredentialNamespace(store, cp.Namespace)
	if err != nil {
		return nil, fmt.Errorf("spec.caProvider: %w", err)
	}
	if cp.Name == "" || cp.Key == "" {
		return nil, errors.New("spec.caProvider: name and key are required")
	}
	if creds == nil {
		return nil, errors.New("spec.caProvider: no credentials reader")
	}
	var pem []byte
	switch cp.Type {
	case secretstore.CAProviderTypeSecret:
		pem, err = creds.SecretValue(ctx, ns, cp.Name, cp.Key)
	case secretstore.CAProviderTypeConfigMap:
		pem, err = creds.ConfigMapValue(ctx, ns, cp.Name, cp.Key)
	default:
		return nil, fmt.Errorf("spec.caProvider: type %q is not Secret or ConfigMap", cp.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("spec.caProvider: read key %q of %s %s/%s: %w", cp.Key, cp.Type, ns, cp.Name, err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("spec.caProvider: key %q of %s %s/%s holds no PEM certificate", cp.Key, cp.Type, ns, cp.Name)
	}
	return pool, nil
}

// describe names a generator resource in messages: "Kind namespace/name",
// or only what of it is set, since a ClusterGenerator's spec may come
// without a name.
func describe(kind, namespace, name string) string {
	switch {
	case name == "":
		return kind
	case namespace == "":
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}
