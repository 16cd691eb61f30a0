package doppler

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// apiError is a Doppler answer other than success, as users read it: the
// status, Doppler's messages, and what to check. It never holds a body
// other than Doppler's error messages.
type apiError struct {
	status  int
	message string
	write   bool
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	if e.message != "" {
		msg += ": " + e.message
	}
	switch {
	case e.status == http.StatusUnauthorized:
		msg += " (Doppler refused the token: check the Secret that auth.secretRef.dopplerToken names)"
	case e.status == http.StatusNotFound:
		// Secrets are read from the config's download, so a 404 is the
		// project or the config, never a secret.
		msg += " (check the store's project and config)"
	case e.status == http.StatusForbidden && e.write:
		msg += " (the token may not write to this config: a service token needs read/write access, and writes only its own config)"
	case e.status == http.StatusForbidden:
		msg += " (the token may not read this project or config: a service token reads only its own config)"
	case e.status == http.StatusTooManyRequests:
		msg += " (Doppler's rate limit: refresh less often, or share one store among ExternalSecrets)"
	}
	return msg
}

// clean shortens a message and strips control characters.
func clean(msg string) string {
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}
