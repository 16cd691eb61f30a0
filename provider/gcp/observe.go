package gcp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretsync/secretsync/provider"
)

// Services a [Call] names.
const (
	serviceSecretManager  = "Secret Manager"
	serviceSTS            = "STS"
	serviceIAMCredentials = "IAM Credentials"
	serviceOAuth          = "OAuth 2.0"
)

// Call is one Google Cloud operation, observed by [WithCallObserver].
//
// Service is "Secret Manager", "STS", "IAM Credentials" or "OAuth 2.0"
// (the token endpoint of service-account keys). Operation is the API
// method: "AccessSecretVersion", "GetSecret", "ListSecrets" or
// "ListSecretVersions" of Secret Manager, and for PushSecret
// "CreateSecret", "UpdateSecret", "AddSecretVersion" and "DeleteSecret";
// "ExchangeToken" of STS,
// "GenerateAccessToken" of IAM Credentials, "Token" of OAuth 2.0.
// Throttled counts RESOURCE_EXHAUSTED from Secret Manager and HTTP 429
// from the others. Err is, for Secret Manager, the method, gRPC code and
// Google's message, as the provider reports them; for the others the
// HTTP status or the transport's error.
type Call = provider.Call

// operation counts the attempts of one Secret Manager call. It travels in
// the call's context to countAttempts, which sees each attempt of the
// client library's retry loop. The attempts of one call are sequential,
// made on the goroutine that made the call.
type operation struct {
	observe func(Call)
	call    Call
}

type operationKey struct{}

// observe starts observing a call of the Secret Manager method. Without an
// observer it returns ctx as it is and a nil operation, whose methods do
// nothing.
func (c *client) observe(ctx context.Context, method string) (context.Context, *operation) {
	if c.observer == nil {
		return ctx, nil
	}
	op := &operation{observe: c.observer, call: Call{Service: serviceSecretManager, Operation: method}}
	return context.WithValue(ctx, operationKey{}, op), op
}

// attempt counts an attempt that ended with err. A success ends the retry
// loop, so it reports the call: the pages of a listing, each a call with
// a retry loop of its own, share one operation.
func (op *operation) attempt(err error) {
	op.call.Attempts++
	if status.Code(err) == codes.ResourceExhausted {
		op.call.Throttled++
	}
	if err == nil {
		op.report(nil)
	}
}

// fail reports the call whose retry loop ended with err, the error as the
// provider describes it.
func (op *operation) fail(err error) {
	if op == nil || op.call.Attempts == 0 {
		return
	}
	op.report(err)
}

func (op *operation) report(err error) {
	call := op.call
	call.Err = err
	op.call.Attempts, op.call.Throttled = 0, 0
	op.observe(call)
}

// countAttempts is a gRPC client interceptor: each attempt passes through
// it once.
func countAttempts(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if op, _ := ctx.Value(operationKey{}).(*operation); op != nil {
		op.attempt(err)
	}
	return err
}

// observedTransport reports each token request: the OAuth 2.0 token
// endpoint, STS and IAM Credentials, which the oauth2 token sources call
// once per token, without retries. Requests to other URLs, such as those
// a credential file of Application Default Credentials may name, are not
// reported.
type observedTransport struct {
	base     http.RoundTripper
	observe  func(Call)
	tokenURL string
	stsURL   string
}

func (t *observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	service, op := t.endpoint(req.URL)
	resp, err := t.base.RoundTrip(req)
	if service == "" {
		return resp, err
	}
	call := Call{Service: service, Operation: op, Attempts: 1, Err: err}
	if err == nil {
		if resp.StatusCode == http.StatusTooManyRequests {
			call.Throttled = 1
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			// The status alone: the body of a refusal can quote the
			// request, which carries a credential.
			call.Err = fmt.Errorf("%s %s: %s", service, op, resp.Status)
		}
	}
	t.observe(call)
	return resp, err
}

// endpoint names the service and operation of a token request, or returns
// empty strings for any other request. Application Default Credentials
// can call Google's own endpoints even when the options name others.
func (t *observedTransport) endpoint(u *url.URL) (service, op string) {
	switch at := endpointOf(u); {
	case strings.HasSuffix(u.Path, ":generateAccessToken"):
		return serviceIAMCredentials, "GenerateAccessToken"
	case at == t.stsURL || at == defaultSTSURL:
		return serviceSTS, "ExchangeToken"
	case at == t.tokenURL || at == defaultTokenURL:
		return serviceOAuth, "Token"
	}
	return "", ""
}

// endpointURL is endpointOf the URL s, or s if it does not parse.
func endpointURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return endpointOf(u)
}

// endpointOf is u without its query, user and fragment, so that URLs
// compare as endpoints.
func endpointOf(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
