package azure

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/secretsync/secretsync/provider"
)

// The object types of a key, named by its prefix as in the External
// Secrets Operator: "secret/name" (or just "name"), "cert/name",
// "key/name".
type objectType string

const (
	secretObject      objectType = "secret"
	certificateObject objectType = "cert"
	keyObject         objectType = "key"
)

var nameOK = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// parseKey splits a key into its object type and the Key Vault name.
func parseKey(key string) (objectType, string, error) {
	typ, name := secretObject, key
	if prefix, rest, ok := strings.Cut(key, "/"); ok {
		typ, name = objectType(prefix), rest
		switch typ {
		case secretObject, certificateObject, keyObject:
		default:
			return "", "", fmt.Errorf("key %q: unknown object type %q; prefix the name with secret/, cert/ or key/", key, prefix)
		}
	}
	if !nameOK.MatchString(name) {
		return "", "", fmt.Errorf("key %q: %q is not a Key Vault name: 1-127 letters, digits and dashes", key, name)
	}
	return typ, name, nil
}

func (t objectType) String() string {
	switch t {
	case certificateObject:
		return "certificate"
	case keyObject:
		return "key"
	}
	return "secret"
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf(" version %q", v)
}

// GetSecret reads the object ref.Key names, at ref.Version or the current
// version. A secret is returned as its value, whose properties are JSON
// paths. A certificate is returned as PEM: one CERTIFICATE block of Key
// Vault's CER, as the Secrets Store CSI driver's Azure provider returns
// it (the External Secrets Operator returns the bare DER, which no
// consumer of a Secret reads as it is); the certificate's private key is
// in the secret of the same name. A key is returned as its public JSON Web
// Key, whose properties are its fields. With ref.Metadata the object's tags
// are returned instead, as a JSON object.
func (c *client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	typ, name, err := parseKey(ref.Key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.store, err)
	}
	read := c.getSecret
	switch typ {
	case certificateObject:
		read = c.getCertificate
	case keyObject:
		read = c.getKey
	}
	s, tags, err := read(ctx, name, ref.Version)
	if err == nil && ref.Metadata {
		s, err = metadata(name, tags)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q%s in %s: %w", typ, name, versionSuffix(ref.Version), c.store, err)
	}
	return s, nil
}

func (c *client) getSecret(ctx context.Context, name, version string) (provider.Secret, map[string]*string, error) {
	var resp azsecrets.GetSecretResponse
	err := c.vaultCall(ctx, "GetSecret", func(ctx context.Context) (err error) {
		resp, err = c.secrets.GetSecret(ctx, name, version, nil)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	value := ""
	if resp.Value != nil {
		value = *resp.Value
	}
	return provider.NewJSONSecret([]byte(value)), resp.Tags, nil
}

func (c *client) getCertificate(ctx context.Context, name, version string) (provider.Secret, map[string]*string, error) {
	var resp azcertificates.GetCertificateResponse
	err := c.vaultCall(ctx, "GetCertificate", func(ctx context.Context) (err error) {
		resp, err = c.certs.GetCertificate(ctx, name, version, nil)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return &certificate{pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: resp.CER}), name: name}, resp.Tags, nil
}

func (c *client) getKey(ctx context.Context, name, version string) (provider.Secret, map[string]*string, error) {
	var resp azkeys.GetKeyResponse
	err := c.vaultCall(ctx, "GetKey", func(ctx context.Context) (err error) {
		resp, err = c.keys.GetKey(ctx, name, version, nil)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if resp.Key == nil {
		return nil, nil, errors.New("Key Vault returned no key")
	}
	// azkeys encodes the key's fields as a JSON Web Key (RFC 7517).
	b, err := json.Marshal(resp.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key as JSON: %w", err)
	}
	return provider.NewJSONSecret(b), resp.Tags, nil
}

// Find lists the vault's secrets and reads the current value of each
// enabled one whose name matches find.Name, starts with find.Path and
// carries find.Tags, as the External Secrets Operator's dataFrom.find
// does; Key Vault names have no paths, so find.Path is a name prefix.
// Results are keyed by secret name. Listing needs the secrets list
// permission.
func (c *client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find in %s: name %q is not a regular expression: %v", c.store, find.Name, err)
		}
	}
	out := map[string][]byte{}
	pager := c.secrets.NewListSecretPropertiesPager(nil)
	for pager.More() {
		var page azsecrets.ListSecretPropertiesResponse
		err := c.vaultCall(ctx, "ListSecretProperties", func(ctx context.Context) (err error) {
			page, err = pager.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("find secrets in %s: %w", c.store, err)
		}
	secrets:
		for _, p := range page.Value {
			if p == nil || p.ID == nil {
				continue
			}
			if p.Attributes != nil && p.Attributes.Enabled != nil && !*p.Attributes.Enabled {
				continue
			}
			name := p.ID.Name()
			if !strings.HasPrefix(name, find.Path) || re != nil && !re.MatchString(name) {
				continue
			}
			for k, v := range find.Tags {
				if t, ok := p.Tags[k]; !ok || t == nil || *t != v {
					continue secrets
				}
			}
			var resp azsecrets.GetSecretResponse
			err := c.vaultCall(ctx, "GetSecret", func(ctx context.Context) (err error) {
				resp, err = c.secrets.GetSecret(ctx, name, "", nil)
				return err
			})
			if err != nil {
				if errors.Is(err, provider.ErrNotFound) {
					// Deleted since it was listed.
					continue
				}
				return nil, fmt.Errorf("find secrets in %s: secret %q: %w", c.store, name, err)
			}
			value := ""
			if resp.Value != nil {
				value = *resp.Value
			}
			out[name] = []byte(value)
		}
	}
	return out, nil
}

// certificate is a certificate as PEM. It has no properties.
type certificate struct {
	pem  []byte
	name string
}

func (c *certificate) Value() ([]byte, error) { return c.pem, nil }

func (c *certificate) Property(name string) ([]byte, error) {
	return nil, fmt.Errorf("property %q: a certificate is PEM, not JSON: read it without a property, or read secret/%s for the certificate with its private key", name, c.name)
}

func (c *certificate) Map() (map[string][]byte, error) {
	return nil, fmt.Errorf("a certificate is PEM, not a JSON object: read secret/%s for the certificate with its private key", c.name)
}

// metadataSecret is an object's tags, read as the External Secrets
// Operator's metadataPolicy Fetch reads them: the value is the tags as a
// JSON object; a property is a tag, or with a dot a JSON path into a tag
// whose value is JSON; extracted, each tag becomes name_tag, and a tag
// whose value is a JSON object of strings becomes name_tag_key for each
// of its keys.
type metadataSecret struct {
	*provider.JSONSecret
	name string
	tags map[string]string
}

func metadata(name string, tags map[string]*string) (provider.Secret, error) {
	m := make(map[string]string, len(tags))
	obj := make(map[string]any, len(tags))
	for k, v := range tags {
		if v != nil {
			m[k], obj[k] = *v, *v
		}
	}
	js, err := provider.MapSecret(obj)
	if err != nil {
		return nil, err
	}
	return &metadataSecret{JSONSecret: js, name: name, tags: m}, nil
}

func (m *metadataSecret) Property(name string) ([]byte, error) {
	if v, ok := m.tags[name]; ok {
		return []byte(v), nil
	}
	if tag, path, ok := strings.Cut(name, "."); ok {
		if v, ok := m.tags[tag]; ok {
			b, err := provider.NewJSONSecret([]byte(v)).Property(path)
			if err != nil {
				return nil, fmt.Errorf("tag %q: %w", tag, err)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("tag %q: %w", name, provider.ErrNotFound)
}

func (m *metadataSecret) Map() (map[string][]byte, error) {
	out := make(map[string][]byte, len(m.tags))
	for k, v := range m.tags {
		var obj map[string]string
		if json.Unmarshal([]byte(v), &obj) == nil {
			for ok, ov := range obj {
				out[m.name+"_"+k+"_"+ok] = []byte(ov)
			}
			continue
		}
		out[m.name+"_"+k] = []byte(v)
	}
	return out, nil
}
