package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/secretsync/secretsync/provider"
)

// The tag the External Secrets Operator puts on the secrets it pushes.
// PushSecret overwrites, and DeleteSecret deletes, only secrets that
// carry it.
const (
	ManagedByTag   = "managed-by"
	ManagedByValue = "external-secrets"
)

// The apiVersion and kind of PushSecret metadata, as in the External
// Secrets Operator.
const (
	metadataAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	metadataKind       = "PushSecretMetadata"
)

// maxTags is how many tags Key Vault allows on a secret.
const maxTags = 15

// How long PushSecret waits for Key Vault to finish recovering a
// soft-deleted secret, which it does after answering the request, and
// how often it looks.
const (
	recoveryTimeout   = time.Minute
	recoveryFirstPoll = 250 * time.Millisecond
	recoveryMaxPoll   = 4 * time.Second
)

var _ provider.Pusher = &client{}

// pushMetadata is a PushSecret's spec.data[].metadata for this provider,
// in the External Secrets Operator's shape.
type pushMetadata struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Spec       pushMetadataSpec `json:"spec"`
}

type pushMetadataSpec struct {
	// ExpirationDate is the secret's expiry, RFC 3339.
	ExpirationDate string            `json:"expirationDate,omitempty"`
	ContentType    string            `json:"contentType,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

// props are the properties of a secret version PushSecret sets.
type props struct {
	tags        map[string]string
	contentType string
	expires     *time.Time
}

// parsePushMetadata parses and checks metadata; nil when it is unset.
// Unknown fields are errors, so that a misspelt one is not ignored.
func parsePushMetadata(raw json.RawMessage) (*pushMetadataSpec, *time.Time, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m pushMetadata
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("metadata: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("metadata: more than one JSON value")
	}
	if m.APIVersion != metadataAPIVersion || m.Kind != metadataKind {
		return nil, nil, fmt.Errorf("metadata: apiVersion %q and kind %q must be %s and %s", m.APIVersion, m.Kind, metadataAPIVersion, metadataKind)
	}
	s := &m.Spec
	if _, ok := s.Tags[ManagedByTag]; ok {
		return nil, nil, fmt.Errorf("metadata: spec.tags: the %s tag is set by PushSecret and cannot be set in metadata", ManagedByTag)
	}
	if len(s.Tags) >= maxTags {
		return nil, nil, fmt.Errorf("metadata: spec.tags: %d tags, and Key Vault allows %d on a secret, %s included", len(s.Tags), maxTags, ManagedByTag)
	}
	var expires *time.Time
	if s.ExpirationDate != "" {
		t, err := time.Parse(time.RFC3339, s.ExpirationDate)
		if err != nil {
			return nil, nil, fmt.Errorf("metadata: spec.expirationDate %q is not an RFC 3339 time, such as 2030-12-31T20:00:00Z", s.ExpirationDate)
		}
		t = t.Truncate(time.Second)
		expires = &t
	}
	return s, expires, nil
}

// onlySecrets refuses keys that name certificates or keys.
func onlySecrets(key string) (string, error) {
	typ, name, err := parseKey(key)
	if err != nil {
		return "", err
	}
	if typ != secretObject {
		return "", fmt.Errorf("key %q names a %s: only secrets can be pushed to Key Vault, not certificates or keys; use secret/%s or %s", key, typ, name, name)
	}
	return name, nil
}

// PushSecret writes value to the secret p.RemoteKey, as the External
// Secrets Operator does: SetSecret makes it the secret's new current
// version, tagged managed-by: external-secrets and with the metadata's
// tags, contentType and expirationDate. A secret that exists without that
// tag is not overwritten. With p.Property, value is set in the current
// version's JSON object, whose tags, content type and expiry the new
// version keeps. When the current version already holds the value, no
// version is added: changed tags, content type or expiry are set on it
// with UpdateSecretProperties.
//
// A name whose secret is soft-deleted cannot be reused: if the deleted
// secret is PushSecret's, it is recovered (RecoverDeletedSecret) and
// written; otherwise the push fails, leaving it to be purged or
// recovered by hand. Only secrets can be pushed: keys with the prefixes
// cert/ and key/ are refused. Key Vault secrets are text, so the value
// must be UTF-8. Metadata cannot go with a property: a version's tags
// belong to all of its properties.
func (c *client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	name, err := onlySecrets(p.RemoteKey)
	if err == nil {
		err = c.push(ctx, name, value, p)
	}
	if err != nil {
		return fmt.Errorf("push to secret %q%s in %s: %w", p.RemoteKey, propertySuffix(p.Property), c.store, err)
	}
	return nil
}

func propertySuffix(property string) string {
	if property == "" {
		return ""
	}
	return fmt.Sprintf(" property %q", property)
}

func (c *client) push(ctx context.Context, name string, value []byte, p provider.Push) error {
	if !utf8.Valid(value) {
		return errors.New("the value is not UTF-8 text, which is all a Key Vault secret holds: encode it, for example as base64 with a template")
	}
	meta, expires, err := parsePushMetadata(p.Metadata)
	if err != nil {
		return err
	}
	if meta != nil && p.Property != "" {
		return errors.New("metadata cannot be set with a property: the tags of a secret are shared by all its properties")
	}
	if meta == nil {
		meta = &pushMetadataSpec{}
	}
	for recovered := false; ; recovered = true {
		err := c.write(ctx, name, value, p, meta, expires)
		if recovered || !deletedButRecoverable(err) {
			return err
		}
		if err := c.recover(ctx, name); err != nil {
			return err
		}
	}
}

// write makes one attempt at the push: it reads the current version,
// then sets a new one or updates the current one's properties.
func (c *client) write(ctx context.Context, name string, value []byte, p provider.Push, meta *pushMetadataSpec, expires *time.Time) error {
	cur, err := c.current(ctx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	if exists && !managed(cur.Tags) {
		return fmt.Errorf("the secret exists and is not managed by external-secrets: tag it %s=%s to let PushSecret write it", ManagedByTag, ManagedByValue)
	}
	var have props
	curValue := ""
	if exists {
		have = propsOf(cur.Secret)
		if cur.Value != nil {
			curValue = *cur.Value
		}
	}
	data := value
	want := props{tags: withManagedBy(meta.Tags), contentType: meta.ContentType, expires: expires}
	if meta.ContentType == "" {
		// As in ESO: a content type the metadata does not set is kept.
		want.contentType = have.contentType
	}
	if p.Property != "" {
		var existing []byte
		if exists {
			existing = []byte(curValue)
		}
		if data, err = provider.SetProperty(existing, p.Property, value); err != nil {
			return err
		}
		want = have
		want.tags = withManagedBy(have.tags)
	}
	if exists && sameValue(curValue, data, p.Property != "") {
		switch {
		case want.equal(have):
			return nil
		case want.expires != nil || have.expires == nil:
			return c.updateProperties(ctx, name, cur.ID.Version(), want)
		}
		// An update cannot remove an expiry; a new version has none.
	}
	return c.set(ctx, name, string(data), want)
}

func managed(tags map[string]*string) bool {
	v := tags[ManagedByTag]
	return v != nil && *v == ManagedByValue
}

func withManagedBy(tags map[string]string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	out[ManagedByTag] = ManagedByValue
	return out
}

func propsOf(s azsecrets.Secret) props {
	p := props{tags: map[string]string{}}
	for k, v := range s.Tags {
		if v != nil {
			p.tags[k] = *v
		}
	}
	if s.ContentType != nil {
		p.contentType = *s.ContentType
	}
	if a := s.Attributes; a != nil && a.Expires != nil {
		t := a.Expires.Truncate(time.Second)
		p.expires = &t
	}
	return p
}

func (p props) equal(o props) bool {
	sameExpiry := p.expires == nil && o.expires == nil || p.expires != nil && o.expires != nil && p.expires.Equal(*o.expires)
	return sameExpiry && p.contentType == o.contentType && maps.Equal(p.tags, o.tags)
}

func (p props) sdkTags() map[string]*string {
	out := make(map[string]*string, len(p.tags))
	for k, v := range p.tags {
		out[k] = &v
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// sameValue reports whether data, to be written, is what the current
// version holds: the same text, or for a property write the same JSON,
// since SetProperty re-encodes the object around the property.
func sameValue(current string, data []byte, object bool) bool {
	if !object {
		return current == string(data)
	}
	var a, b any
	da, db := json.NewDecoder(bytes.NewReader([]byte(current))), json.NewDecoder(bytes.NewReader(data))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&a) == nil && db.Decode(&b) == nil && reflect.DeepEqual(a, b)
}

// current reads the secret's current version.
func (c *client) current(ctx context.Context, name string) (azsecrets.GetSecretResponse, error) {
	var resp azsecrets.GetSecretResponse
	err := c.vaultCall(ctx, "GetSecret", func(ctx context.Context) (err error) {
		resp, err = c.secrets.GetSecret(ctx, name, "", nil)
		return err
	})
	return resp, err
}

// set adds a version holding value, enabled, with the properties p.
func (c *client) set(ctx context.Context, name, value string, p props) error {
	return c.vaultCall(ctx, "SetSecret", func(ctx context.Context) error {
		_, err := c.secrets.SetSecret(ctx, name, azsecrets.SetSecretParameters{
			Value:            &value,
			Tags:             p.sdkTags(),
			ContentType:      optional(p.contentType),
			SecretAttributes: &azsecrets.SecretAttributes{Enabled: ptr(true), Expires: p.expires},
		}, nil)
		return err
	})
}

func ptr[T any](v T) *T { return &v }

// updateProperties sets the tags, content type and expiry of a version,
// without a new one.
func (c *client) updateProperties(ctx context.Context, name, version string, p props) error {
	return c.vaultCall(ctx, "UpdateSecretProperties", func(ctx context.Context) error {
		_, err := c.secrets.UpdateSecretProperties(ctx, name, version, azsecrets.UpdateSecretPropertiesParameters{
			Tags:             p.sdkTags(),
			ContentType:      optional(p.contentType),
			SecretAttributes: &azsecrets.SecretAttributes{Expires: p.expires},
		}, nil)
		return err
	})
}

// deletedButRecoverable reports whether err is Key Vault's refusal to
// reuse the name of a soft-deleted secret.
func deletedButRecoverable(err error) bool {
	var resp *azcore.ResponseError
	if !errors.As(err, &resp) || resp.StatusCode != http.StatusConflict {
		return false
	}
	var body struct {
		Error struct {
			Code  string `json:"code"`
			Inner *struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	raw, perr := runtime.Payload(resp.RawResponse)
	if perr != nil || json.Unmarshal(raw, &body) != nil {
		return false
	}
	const code = "ObjectIsDeletedButRecoverable"
	return body.Error.Code == code || body.Error.Inner != nil && body.Error.Inner.Code == code
}

// recover recovers the soft-deleted secret name if PushSecret pushed it,
// and waits until Key Vault has finished.
func (c *client) recover(ctx context.Context, name string) error {
	var deleted azsecrets.GetDeletedSecretResponse
	err := c.vaultCall(ctx, "GetDeletedSecret", func(ctx context.Context) (err error) {
		deleted, err = c.secrets.GetDeletedSecret(ctx, name, nil)
		return err
	})
	if err != nil {
		return err
	}
	if !managed(deleted.Tags) {
		return fmt.Errorf("a soft-deleted secret of that name, not managed by external-secrets, holds the name: purge or recover it")
	}
	err = c.vaultCall(ctx, "RecoverDeletedSecret", func(ctx context.Context) error {
		_, err := c.secrets.RecoverDeletedSecret(ctx, name, nil)
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, recoveryTimeout)
	defer cancel()
	for wait := recoveryFirstPoll; ; wait = min(2*wait, recoveryMaxPoll) {
		_, err := c.current(ctx, name)
		if !errors.Is(err, provider.ErrNotFound) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("recovered the soft-deleted secret, which Key Vault has not finished recovering: %w", ctx.Err())
		}
	}
}

// DeleteSecret deletes the secret p.RemoteKey, or with p.Property removes
// that property from its current version's JSON object with a new
// version (SetSecret), deleting the secret when no property is left. As
// in the External Secrets Operator, the delete is Key Vault's soft
// delete, which keeps the secret recoverable for the vault's retention
// period, and a secret without the tag managed-by: external-secrets is
// refused. A missing secret or property is not an error.
func (c *client) DeleteSecret(ctx context.Context, p provider.Push) error {
	name, err := onlySecrets(p.RemoteKey)
	if err == nil {
		err = c.delete(ctx, name, p)
	}
	if err != nil {
		return fmt.Errorf("delete secret %q%s in %s: %w", p.RemoteKey, propertySuffix(p.Property), c.store, err)
	}
	return nil
}

func (c *client) delete(ctx context.Context, name string, p provider.Push) error {
	cur, err := c.current(ctx, name)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !managed(cur.Tags) {
		return fmt.Errorf("the secret is not managed by external-secrets (no tag %s=%s), so it is not deleted", ManagedByTag, ManagedByValue)
	}
	if p.Property != "" {
		value := ""
		if cur.Value != nil {
			value = *cur.Value
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(value), &obj) == nil && obj != nil {
			if _, ok := obj[p.Property]; !ok {
				return nil
			}
		}
		rest, left, err := provider.DeleteProperty([]byte(value), p.Property)
		if err != nil {
			return err
		}
		if left {
			return c.set(ctx, name, string(rest), propsOf(cur.Secret))
		}
	}
	err = c.vaultCall(ctx, "DeleteSecret", func(ctx context.Context) error {
		_, err := c.secrets.DeleteSecret(ctx, name, nil)
		return err
	})
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	return err
}
