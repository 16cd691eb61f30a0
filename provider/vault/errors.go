package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
)

// Errors a client returns, wrapped with the operation and path, for the
// failures a store's Ready condition must tell apart. Check them with
// errors.Is. A missing secret or property wraps [provider.ErrNotFound].
var (
	// ErrPermissionDenied: Vault refused the token, or the token's
	// policies do not allow the request.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrSealed: Vault is sealed and serves no request until unsealed.
	ErrSealed = errors.New("vault is sealed")
	// ErrUnreachable: no connection to Vault could be made.
	ErrUnreachable = errors.New("vault is unreachable")
	// ErrClosed: the client was closed and its token revoked.
	ErrClosed = errors.New("vault client is closed")
)

// wrapErr turns an error of the Vault API client into one of the errors
// above, prefixed with what was being done ("read secret at kv/data/app").
//
// It never uses the error strings of the API client itself: those hold the
// full request URL, and a future version could add more. Vault's own error
// messages are kept, because they name the failure ("invalid role or secret
// ID") and Vault does not echo request bodies into them.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %w", what, responseErr(re))
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		// "dial tcp 127.0.0.1:8200: connect: connection refused"
		return fmt.Errorf("%s: %w: %v", what, ErrUnreachable, opErr)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("%s: %w: %v", what, ErrUnreachable, dnsErr)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// TLS failures and timeouts: the innermost error is readable and
		// carries no request data.
		return fmt.Errorf("%s: %w", what, urlErr.Err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func responseErr(re *api.ResponseError) error {
	msgs := re.Errors
	if re.RawError {
		// A body Vault did not format as errors, perhaps from a proxy:
		// it could hold anything, so it is not repeated.
		msgs = nil
	}
	detail := strings.Join(msgs, "; ")
	switch {
	case re.StatusCode == http.StatusForbidden:
		return ErrPermissionDenied
	case re.StatusCode == http.StatusServiceUnavailable && strings.Contains(detail, "sealed"):
		return ErrSealed
	case re.StatusCode == http.StatusNotFound:
		return provider.ErrNotFound
	case detail == "":
		return fmt.Errorf("vault responded %d %s", re.StatusCode, http.StatusText(re.StatusCode))
	default:
		return fmt.Errorf("vault responded %d: %s", re.StatusCode, detail)
	}
}

func isPermissionDenied(err error) bool {
	return errors.Is(err, ErrPermissionDenied)
}
