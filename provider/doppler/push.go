package doppler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/secretsync/secretsync/provider"
)

var _ provider.Pusher = &client{}

// pushName is the form Doppler requires of a secret's name: uppercase
// letters, digits and underscores, not starting with a digit.
var pushName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// checkPush refuses what Doppler cannot hold before any request.
func checkPush(p provider.Push) error {
	if p.Property != "" {
		// ESO's Doppler provider ignores the property and writes the
		// whole secret; refusing it keeps a manifest from meaning what it
		// does not do.
		return fmt.Errorf("Doppler secrets are plain values and have no properties; remove remoteRef.property %q", p.Property)
	}
	if !pushName.MatchString(p.RemoteKey) {
		return errors.New("Doppler names secrets with uppercase letters, digits and underscores, not starting with a digit")
	}
	return nil
}

// PushSecret sets the secret p.RemoteKey of the config to value, creating
// it if needed, with POST /v3/configs/config/secrets and
// {"secrets": {name: value}}, as the External Secrets Operator does.
// Doppler secrets have no properties, so p.Property is refused, and take
// no metadata, so p.Metadata is ignored. A value must be UTF-8 text.
//
// GetSecret reads computed values: a value holding a reference such as
// ${OTHER} reads back with it expanded, so differs from what was pushed.
func (c *client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	what := fmt.Sprintf("push secret %q to %s", p.RemoteKey, c.store)
	if err := checkPush(p); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !utf8.Valid(value) {
		return fmt.Errorf("%s: the value is not UTF-8 text, which a Doppler secret holds", what)
	}
	body, err := json.Marshal(struct {
		Project string            `json:"project,omitempty"`
		Config  string            `json:"config,omitempty"`
		Secrets map[string]string `json:"secrets"`
	}{c.project, c.config, map[string]string{p.RemoteKey: string(value)}})
	if err != nil {
		return fmt.Errorf("%s: encode the request", what)
	}
	// Doppler answers with every secret of the config, values included:
	// the answer is dropped unread.
	a, err := c.send(ctx, http.MethodPost, "/v3/configs/config/secrets", nil, nil, body)
	if err == nil && a.status != http.StatusOK {
		err = a.err()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// DeleteSecret deletes the secret p.RemoteKey from the config with
// DELETE /v3/configs/config/secret. It first reads the config's download,
// as GetSecret does and usually answered 304, so that a secret the config
// does not have costs no write. A missing project or config is an error,
// as for reads; a missing secret is not.
func (c *client) DeleteSecret(ctx context.Context, p provider.Push) error {
	what := fmt.Sprintf("delete secret %q from %s", p.RemoteKey, c.store)
	if err := checkPush(p); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	doc, err := c.downloadAll(ctx, c.rawKey())
	if err != nil {
		return fmt.Errorf("%s: download the config: %w", what, err)
	}
	if doc.secrets == nil {
		return fmt.Errorf("%s: the download is not a JSON object", what)
	}
	if _, ok := doc.secrets[p.RemoteKey]; !ok {
		return nil
	}
	q := c.configQuery()
	q.Set("name", p.RemoteKey)
	a, err := c.send(ctx, http.MethodDelete, "/v3/configs/config/secret", q, nil, nil)
	switch {
	case err != nil:
	case a.status == http.StatusNotFound:
		// The download just showed the config: the secret went since.
		return nil
	case a.status < 200 || a.status > 299:
		err = a.err()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
