package onepassword

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/secretsync/secretsync/provider"
)

// apiError is a Connect answer other than success, as users read it: the
// status, Connect's message, and what to check. It never holds a body
// other than Connect's error message.
type apiError struct {
	status  int
	message string
	// notFound is set by the caller when the status means the item or
	// file asked for does not exist, not that the store is wrong.
	notFound bool
	// write is set for the answer to a write, whose 403 means the token
	// may read the vault but not write it.
	write bool
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	if e.message != "" {
		msg += ": " + e.message
	}
	switch e.status {
	case http.StatusUnauthorized:
		msg += " (the Connect server refused the token: check the Secret that auth.secretRef.connectTokenSecretRef names)"
	case http.StatusForbidden:
		if e.write {
			msg += " (the Connect token may not write to this vault: give it read and write access to the vault)"
		} else {
			msg += " (the Connect token may not read this vault: grant it access, or remove the vault from spec.provider.onepassword.vaults)"
		}
	}
	return msg
}

func (e *apiError) Unwrap() error {
	if e.notFound {
		return provider.ErrNotFound
	}
	return nil
}

// isStatus reports whether err is a Connect answer with status code.
func isStatus(err error, code int) bool {
	var api *apiError
	return errors.As(err, &api) && api.status == code
}

// errorMessage returns Connect's message from an error body, shortened
// and stripped of control characters; "" if the body is not one.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msg := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, e.Message)
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}
