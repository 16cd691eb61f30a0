package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/secretsync/secretsync/provider"
)

// vaultCall runs f, one Key Vault operation of the SDK, and returns its
// error described. The operation is named here rather than found by a
// policy: azcore does not tell policies which API a request belongs to,
// and only here is the error the provider returns known.
func (c *client) vaultCall(ctx context.Context, op string, f func(context.Context) error) error {
	ctx, a := withAttempts(ctx)
	err := f(ctx)
	if err != nil {
		err = describe(op, err, a, c.retry)
	}
	if c.observe != nil {
		c.observe(Call{Service: "Key Vault", Operation: op, Attempts: int(a.sent.Load()), Throttled: int(a.throttled.Load()), Err: callError(err)})
	}
	return err
}

type tokenAttemptsKey struct{}

// tokenAttemptCounter is a per-retry policy of the credential's pipeline
// that fills the attempts of the token request in the request's context.
// MSAL's requests for the authority's aliases and endpoints, made once
// before its first token request, are not attempts of it.
type tokenAttemptCounter struct{}

func (tokenAttemptCounter) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	a, ok := req.Raw().Context().Value(tokenAttemptsKey{}).(*attempts)
	if path := req.Raw().URL.Path; !ok || strings.HasSuffix(path, "/.well-known/openid-configuration") || strings.HasSuffix(path, "/discovery/instance") {
		return resp, err
	}
	a.add(resp)
	return resp, err
}

// observedCredential reports the token requests of cred: the GetToken
// calls that sent one, not those its cache answered. The SDK's bearer
// token policy passes the Key Vault request's context to GetToken, and
// azidentity passes it on to the requests of its pipeline, where
// tokenAttemptCounter counts them.
type observedCredential struct {
	cred    azcore.TokenCredential
	service string
	observe func(Call)
	retry   policy.RetryOptions
}

func (c *observedCredential) GetToken(ctx context.Context, tro policy.TokenRequestOptions) (azcore.AccessToken, error) {
	a := &attempts{}
	tk, err := c.cred.GetToken(context.WithValue(ctx, tokenAttemptsKey{}, a), tro)
	if n := a.sent.Load(); n > 0 {
		call := Call{Service: c.service, Operation: "Token", Attempts: int(n), Throttled: int(a.throttled.Load())}
		if err != nil {
			call.Err = callError(describe("", err, nil, c.retry))
		}
		c.observe(call)
	}
	return tk, err
}

// observedError is an error as a Call carries it: the provider's message
// and the sentinels it wraps, without the SDK's error, whose response
// holds the request, and with it the bearer token or client secret.
type observedError struct {
	msg   string
	wraps []error
}

func (e *observedError) Error() string   { return e.msg }
func (e *observedError) Unwrap() []error { return e.wraps }

func callError(err error) error {
	if err == nil {
		return nil
	}
	e := &observedError{msg: err.Error()}
	for _, s := range []error{provider.ErrNotFound, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			e.wraps = append(e.wraps, s)
		}
	}
	return e
}
