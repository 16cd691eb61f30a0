package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretsync/secretsync/provider"
)

var _ provider.Pusher = &parameterStore{}

// defaultSSMKey is the key ESO names for a SecureString when metadata
// names none: the AWS managed key of SSM.
const defaultSSMKey = "alias/aws/ssm"

// parameterStoreMetadata is the spec of a Parameter Store PushSecret
// entry's metadata, as in the External Secrets Operator.
type parameterStoreMetadata struct {
	// SecretType is String (the default), StringList or SecureString.
	SecretType ssmtypes.ParameterType `json:"secretType"`
	// KMSKeyID encrypts a SecureString; default alias/aws/ssm.
	KMSKeyID string `json:"kmsKeyID"`
	Tier     struct {
		// Type is Standard or Advanced; a new parameter is Standard
		// when it is not set.
		Type ssmtypes.ParameterTier `json:"type"`
		// Policies are parameter policies, for the Advanced tier.
		Policies json.RawMessage `json:"policies"`
	} `json:"tier"`
	// EncodeAsDecoded is ESO's, for pushes of a whole Secret, which the
	// host encodes here; refused when true.
	EncodeAsDecoded bool              `json:"encodeAsDecoded"`
	Tags            map[string]string `json:"tags"`
	// Description of the parameter; ESO's default when empty.
	Description string `json:"description"`
}

func parseParameterStoreMetadata(raw json.RawMessage) (*parameterStoreMetadata, error) {
	md := &parameterStoreMetadata{}
	if err := parseMetadata(raw, md); err != nil {
		return nil, err
	}
	switch md.SecretType {
	case "":
		md.SecretType = ssmtypes.ParameterTypeString
	case ssmtypes.ParameterTypeString, ssmtypes.ParameterTypeStringList, ssmtypes.ParameterTypeSecureString:
	default:
		return nil, fmt.Errorf("metadata.spec.secretType must be String, StringList or SecureString, not %q", md.SecretType)
	}
	// An unset tier is not sent, so that a push keeps an advanced
	// parameter advanced (AWS refuses to make it standard), as ESO does.
	switch md.Tier.Type {
	case "", ssmtypes.ParameterTierStandard, ssmtypes.ParameterTierAdvanced:
	default:
		return nil, fmt.Errorf("metadata.spec.tier.type must be Standard or Advanced, not %q", md.Tier.Type)
	}
	if p := md.Tier.Policies; len(p) > 0 && string(p) != "null" {
		if md.Tier.Type != ssmtypes.ParameterTierAdvanced {
			return nil, errors.New("metadata.spec.tier.policies need tier.type Advanced: AWS takes parameter policies only for advanced parameters")
		}
		if !json.Valid(p) {
			return nil, errors.New("metadata.spec.tier.policies is not JSON")
		}
	}
	if md.EncodeAsDecoded {
		return nil, errors.New("metadata.spec.encodeAsDecoded is not supported: secretsync's host, not the provider, encodes a whole Secret pushed as one value")
	}
	if md.Description == "" {
		md.Description = defaultDescription
	}
	return md, checkTags(md.Tags)
}

// putInput is the PutParameter request that writes value as the metadata
// says.
func (md *parameterStoreMetadata) putInput(name string, value []byte) *ssm.PutParameterInput {
	in := &ssm.PutParameterInput{
		Name:        &name,
		Value:       sdkaws.String(string(value)),
		Type:        md.SecretType,
		Description: &md.Description,
		Tier:        md.Tier.Type,
	}
	if md.SecretType == ssmtypes.ParameterTypeSecureString {
		in.KeyId = sdkaws.String(defaultSSMKey)
		if md.KMSKeyID != "" {
			in.KeyId = &md.KMSKeyID
		}
	}
	if p := md.Tier.Policies; len(p) > 0 && string(p) != "null" {
		in.Policies = sdkaws.String(string(p))
	}
	return in
}

func (c *parameterStore) pushError(verb string, p provider.Push, err error) error {
	if p.Property != "" {
		return fmt.Errorf("%s property %q of parameter %q in %s: %w", verb, p.Property, p.RemoteKey, c.store, err)
	}
	return fmt.Errorf("%s parameter %q in %s: %w", verb, p.RemoteKey, c.store, err)
}

// PushSecret writes value to the parameter prefix+p.RemoteKey with
// PutParameter, with the metadata's type, KMS key, tier, policies and
// description. A new parameter is created without Overwrite and with the
// metadata's tags and managed-by: external-secrets (AWS takes tags only
// on creation). An existing one must carry managed-by: external-secrets,
// read with ListTagsForResource; it is overwritten, after reading the
// current value with GetParameter when p.Property merges into it, and its
// tags are brought to the metadata's with RemoveTagsFromResource and
// AddTagsToResource.
func (c *parameterStore) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	if err := c.push(ctx, value, p); err != nil {
		return c.pushError("push", p, err)
	}
	return nil
}

func (c *parameterStore) push(ctx context.Context, value []byte, p provider.Push) error {
	md, err := parseParameterStoreMetadata(p.Metadata)
	if err != nil {
		return err
	}
	name := c.prefix + p.RemoteKey
	if p.Property != "" {
		defer c.locks.lock(name)()
	}
	current, exists, err := c.tagsOf(ctx, name)
	if err != nil {
		return err
	}
	if !exists {
		if p.Property != "" {
			if value, err = provider.SetProperty(nil, p.Property, value); err != nil {
				return err
			}
		}
		in := md.putInput(name, value)
		for k, v := range planTags(nil, md.Tags).set {
			in.Tags = append(in.Tags, ssmtypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(v)})
		}
		if _, err := c.api.PutParameter(ctx, in); err != nil {
			return writeError(err)
		}
		return nil
	}
	if !isManaged(current) {
		return ErrNotManaged
	}
	if p.Property != "" {
		old, _, err := c.currentValue(ctx, name)
		if err != nil {
			return err
		}
		if value, err = provider.SetProperty(old, p.Property, value); err != nil {
			return err
		}
	}
	in := md.putInput(name, value)
	in.Overwrite = sdkaws.Bool(true)
	if _, err := c.api.PutParameter(ctx, in); err != nil {
		return writeError(err)
	}
	return c.applyTags(ctx, name, current, md.Tags)
}

// tagsOf reads a parameter's tags, and whether it exists.
func (c *parameterStore) tagsOf(ctx context.Context, name string) (map[string]string, bool, error) {
	out, err := c.api.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter,
		ResourceId:   &name,
	})
	// ListTagsForResource reports a missing parameter as an invalid
	// resource ID.
	if apiCode(err) == "InvalidResourceId" {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, writeError(err)
	}
	m := make(map[string]string, len(out.TagList))
	for _, t := range out.TagList {
		m[sdkaws.ToString(t.Key)] = sdkaws.ToString(t.Value)
	}
	return m, true, nil
}

// currentValue reads a parameter's decrypted value, and whether it
// exists.
func (c *parameterStore) currentValue(ctx context.Context, name string) ([]byte, bool, error) {
	out, err := c.api.GetParameter(ctx, &ssm.GetParameterInput{Name: &name, WithDecryption: sdkaws.Bool(true)})
	if apiCode(err) == "ParameterNotFound" {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, writeError(err)
	}
	return []byte(sdkaws.ToString(out.Parameter.Value)), true, nil
}

func (c *parameterStore) applyTags(ctx context.Context, name string, current, tags map[string]string) error {
	ch := planTags(current, tags)
	if len(ch.remove) > 0 {
		_, err := c.api.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{
			ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: &name, TagKeys: ch.remove,
		})
		if err != nil {
			return writeError(err)
		}
	}
	if len(ch.set) == 0 {
		return nil
	}
	in := &ssm.AddTagsToResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: &name}
	for k, v := range ch.set {
		in.Tags = append(in.Tags, ssmtypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(v)})
	}
	if _, err := c.api.AddTagsToResource(ctx, in); err != nil {
		return writeError(err)
	}
	return nil
}

// DeleteSecret deletes the parameter prefix+p.RemoteKey with
// DeleteParameter. With p.Property it removes that property, reading the
// value with GetParameter and writing the rest with PutParameter, and
// deletes the parameter when no property is left. A parameter that does
// not exist is not an error; one without managed-by: external-secrets,
// read with ListTagsForResource, is [ErrNotManaged], and left alone.
func (c *parameterStore) DeleteSecret(ctx context.Context, p provider.Push) error {
	if err := c.delete(ctx, p); err != nil {
		return c.pushError("delete", p, err)
	}
	return nil
}

func (c *parameterStore) delete(ctx context.Context, p provider.Push) error {
	name := c.prefix + p.RemoteKey
	if p.Property != "" {
		defer c.locks.lock(name)()
	}
	tags, exists, err := c.tagsOf(ctx, name)
	if err != nil || !exists {
		return err
	}
	if !isManaged(tags) {
		return ErrNotManaged
	}
	if p.Property != "" {
		old, exists, err := c.currentValue(ctx, name)
		if err != nil || !exists {
			return err
		}
		rest, left, err := provider.DeleteProperty(old, p.Property)
		if err != nil {
			return err
		}
		if left && !hasProperty(old, p.Property) {
			return nil
		}
		if left {
			md, err := parseParameterStoreMetadata(p.Metadata)
			if err != nil {
				return err
			}
			in := md.putInput(name, rest)
			in.Overwrite = sdkaws.Bool(true)
			if _, err := c.api.PutParameter(ctx, in); err != nil {
				return writeError(err)
			}
			return nil
		}
	}
	if _, err := c.api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: &name}); err != nil && apiCode(err) != "ParameterNotFound" {
		return writeError(err)
	}
	return nil
}
