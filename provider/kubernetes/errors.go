package kubernetes

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/provider"
)

// Errors a client returns, wrapped with the operation and the Secret or
// namespace, for the failures a store's Ready condition must tell apart.
// Check them with errors.Is. A missing Secret, key or property wraps
// [provider.ErrNotFound].
var (
	// ErrPermissionDenied: the apiserver's authorizer refused the
	// store's credentials (403), or a SelfSubjectAccessReview says they
	// may not get Secrets in the remote namespace.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnauthorized: the apiserver did not accept the store's
	// credentials at all (401): an expired or revoked token, a
	// ServiceAccount deleted since, or a client certificate from a CA
	// the server does not trust.
	ErrUnauthorized = errors.New("unauthorized: the apiserver did not accept the store's credentials")
)

// wrapErr turns an error of client-go into one of the errors above,
// prefixed with what was being done ("get Secret team-b/db").
//
// The apiserver's status messages are kept: they name the resource, the
// user and the namespace, never a request body. A 404 is a missing Secret
// only when the apiserver says so of a Secret; a 404 from anything else,
// such as a proxy in front of a wrong server.url, is not, lest deletion
// policies act on it.
func wrapErr(what string, err error) error {
	var te *tokenError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: %w", what, te)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return fmt.Errorf("%s: %w", what, err)
	}
	s := status.Status()
	switch {
	case apierrors.IsNotFound(err):
		if s.Details != nil && s.Details.Kind == "secrets" {
			return fmt.Errorf("%s: %w", what, provider.ErrNotFound)
		}
		return fmt.Errorf("%s: the server answered 404 Not Found, not about a Secret: is server.url a Kubernetes apiserver?", what)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: %w: %s", what, ErrPermissionDenied, s.Message)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: %w", what, ErrUnauthorized)
	case s.Message == "":
		return fmt.Errorf("%s: the apiserver answered %d %s", what, s.Code, http.StatusText(int(s.Code)))
	default:
		return fmt.Errorf("%s: the apiserver answered %d: %s", what, s.Code, s.Message)
	}
}
