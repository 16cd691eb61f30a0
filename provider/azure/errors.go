package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/secretsync/secretsync/provider"
)

// azureError is an Azure error as users read it: the operation, the
// service's status, code and message, and how retries went. It leaves out
// what changes on every request (trace and correlation IDs, timestamps),
// so that a failing store's status does not change on every retry, and
// the request and response dumps of the SDK's messages. It unwraps to the
// SDK's error, and to provider.ErrNotFound when the object does not exist.
type azureError struct {
	msg      string
	err      error
	notFound bool
}

func (e *azureError) Error() string { return e.msg }

func (e *azureError) Unwrap() []error {
	if e.notFound {
		return []error{e.err, provider.ErrNotFound}
	}
	return []error{e.err}
}

// attempts counts the attempts of one operation, and those throttled.
type attempts struct {
	sent, throttled atomic.Int32
}

func (a *attempts) add(resp *http.Response) {
	a.sent.Add(1)
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		a.throttled.Add(1)
	}
}

type attemptsKey struct{}

func withAttempts(ctx context.Context) (context.Context, *attempts) {
	a := &attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

// attemptCounter is a per-retry policy that fills the attempts of the
// request's context. It runs after the challenge policy, whose first,
// unauthenticated request of a client, answered with Key Vault's 401
// challenge, is not an attempt: the request is sent again at once with a
// token, and a read would otherwise take one attempt more on a new
// client than later.
type attemptCounter struct{}

func (attemptCounter) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	a, ok := req.Raw().Context().Value(attemptsKey{}).(*attempts)
	if !ok || req.Raw().Header.Get("Authorization") == "" && resp != nil && resp.StatusCode == http.StatusUnauthorized {
		return resp, err
	}
	a.add(resp)
	return resp, err
}

// writes are the operations of PushSecret and DeleteSecret.
var writes = map[string]bool{"SetSecret": true, "UpdateSecretProperties": true, "DeleteSecret": true, "GetDeletedSecret": true, "RecoverDeletedSecret": true}

// describe makes err readable; see azureError. op names the Key Vault
// operation, such as "GetSecret". Errors that came neither from Azure nor
// from the network are returned as they are.
func describe(op string, err error, a *attempts, retry policy.RetryOptions) error {
	var (
		auth *azidentity.AuthenticationFailedError
		resp *azcore.ResponseError
		dns  *net.DNSError
	)
	switch {
	case errors.As(err, &auth):
		// Checked first: a failed token request is never a missing
		// secret, whatever its status.
		msg := "authentication failed"
		if auth.RawResponse != nil {
			msg += ": " + entraMessage(auth.RawResponse)
		} else {
			msg += ": " + firstLine(auth.Error())
		}
		return &azureError{msg: msg, err: err}
	case errors.As(err, &resp):
		msg := "Key Vault " + op + ": " + vaultMessage(resp)
		if resp.StatusCode == http.StatusTooManyRequests {
			msg += throttleHint(resp, a, retry)
		} else if resp.StatusCode == http.StatusForbidden && resp.ErrorCode == "Forbidden" && strings.Contains(msg, "permission") {
			role := "Key Vault Secrets User"
			if writes[op] {
				role = "Key Vault Secrets Officer, for PushSecret"
			}
			msg += " (grant the identity a Key Vault role, such as " + role + ", or an access policy)"
		}
		return &azureError{msg: msg, err: err, notFound: resp.StatusCode == http.StatusNotFound}
	case errors.As(err, &dns):
		return &azureError{msg: "cannot resolve " + dns.Name + ": check vaultUrl and environmentType", err: err}
	}
	// azidentity's advice here names options of its own that a store
	// cannot set.
	if m := otherTenant.FindStringSubmatch(err.Error()); m != nil {
		return &azureError{msg: "the vault belongs to tenant " + m[1] + ", not to the store's tenant: set spec.provider.azurekv.tenantId to it", err: err}
	}
	return err
}

var otherTenant = regexp.MustCompile(`isn't configured to acquire tokens for tenant "([^"]+)"`)

// vaultMessage is Key Vault's status, error code and message.
func vaultMessage(resp *azcore.ResponseError) string {
	msg := strconv.Itoa(resp.StatusCode)
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError *struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if b := responseBody(resp.RawResponse); b != nil && json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		msg += " " + body.Error.Code
		if in := body.Error.InnerError; in != nil && in.Code != "" && in.Code != body.Error.Code {
			msg += " (" + in.Code + ")"
		}
		if body.Error.Message != "" {
			msg += ": " + firstLine(body.Error.Message)
		}
		return msg
	}
	if resp.ErrorCode != "" {
		return msg + " " + resp.ErrorCode
	}
	return msg + " " + http.StatusText(resp.StatusCode)
}

// entraMessage is the OAuth error of Microsoft Entra ID, or of the
// Instance Metadata Service, without its trace, correlation and time lines.
func entraMessage(r *http.Response) string {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	b := responseBody(r)
	if b == nil || json.Unmarshal(b, &body) != nil || body.Error == "" {
		return strconv.Itoa(r.StatusCode) + " " + http.StatusText(r.StatusCode) + " from " + hostOf(r)
	}
	msg := body.Error
	if d := firstLine(body.Description); d != "" {
		msg += ": " + strings.TrimSpace(strings.Split(d, " Trace ID:")[0])
	}
	return msg
}

func hostOf(r *http.Response) string {
	if r.Request != nil && r.Request.URL != nil {
		return r.Request.URL.Host
	}
	return "the token endpoint"
}

// responseBody returns the body of an error response, which azcore keeps
// in memory, so that every reader sees all of it.
func responseBody(r *http.Response) []byte {
	if r == nil || r.Body == nil {
		return nil
	}
	b, err := runtime.Payload(r)
	if err != nil {
		return nil
	}
	return b
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimSuffix(s, "\r"))
}

// throttleHint says how retries of a throttled request went and how long
// Key Vault asked to wait.
func throttleHint(resp *azcore.ResponseError, a *attempts, retry policy.RetryOptions) string {
	var parts []string
	if a != nil {
		if n := a.sent.Load(); n == 1 {
			parts = append(parts, "gave up after 1 attempt")
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("gave up after %d attempts", n))
		}
	}
	if resp.RawResponse != nil {
		if ra := resp.RawResponse.Header.Get("Retry-After"); ra != "" {
			if secs, err := strconv.Atoi(ra); err == nil {
				d := time.Duration(secs) * time.Second
				hint := "Key Vault asks to retry after " + d.String()
				if d > retry.MaxRetryDelay {
					hint += ", longer than this client waits (" + retry.MaxRetryDelay.String() + ")"
				}
				parts = append(parts, hint)
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
