package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/secretsync/secretsync/provider"
)

var _ provider.Pusher = &secretsManager{}

// The values of secretPushFormat.
const (
	pushFormatBinary = "binary"
	pushFormatString = "string"
)

// defaultSecretsManagerKey is the key ESO names when metadata names none:
// the AWS managed key of Secrets Manager.
const defaultSecretsManagerKey = "alias/aws/secretsmanager"

// secretsManagerMetadata is the spec of a Secrets Manager PushSecret
// entry's metadata, as in the External Secrets Operator.
type secretsManagerMetadata struct {
	// SecretPushFormat writes the value as SecretBinary ("binary", the
	// default) or SecretString ("string").
	SecretPushFormat string `json:"secretPushFormat"`
	// KMSKeyID encrypts a secret the push creates; default
	// alias/aws/secretsmanager.
	KMSKeyID string `json:"kmsKeyID"`
	// Description of the secret; ESO's default when it creates one.
	Description string            `json:"description"`
	Tags        map[string]string `json:"tags"`
	// ResourcePolicy, when set, makes the push manage the secret's
	// resource policy; when not, the push leaves the policy alone.
	ResourcePolicy *resourcePolicy `json:"resourcePolicy"`
	// ReplicationLocations is ESO's, and refused here.
	ReplicationLocations []string `json:"replicationLocations"`
}

type resourcePolicy struct {
	BlockPublicPolicy *bool `json:"blockPublicPolicy"`
	// PolicySourceRef names the key of a ConfigMap or Secret holding the
	// policy document. Without it, or when the key is empty, the secret
	// has no policy.
	PolicySourceRef *policySourceRef `json:"policySourceRef"`
}

type policySourceRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

func parseSecretsManagerMetadata(raw json.RawMessage) (*secretsManagerMetadata, error) {
	md := &secretsManagerMetadata{}
	if err := parseMetadata(raw, md); err != nil {
		return nil, err
	}
	switch md.SecretPushFormat {
	case "":
		md.SecretPushFormat = pushFormatBinary
	case pushFormatBinary, pushFormatString:
	default:
		return nil, fmt.Errorf("metadata.spec.secretPushFormat must be %s or %s, not %q", pushFormatBinary, pushFormatString, md.SecretPushFormat)
	}
	if len(md.ReplicationLocations) > 0 {
		return nil, errors.New("metadata.spec.replicationLocations is not supported: secretsync does not replicate secrets to other regions")
	}
	if ref := md.ResourcePolicy; ref != nil && ref.PolicySourceRef != nil {
		r := ref.PolicySourceRef
		if r.Kind != "ConfigMap" && r.Kind != "Secret" {
			return nil, fmt.Errorf("metadata.spec.resourcePolicy.policySourceRef.kind must be ConfigMap or Secret, not %q", r.Kind)
		}
		if r.Name == "" || r.Key == "" {
			return nil, errors.New("metadata.spec.resourcePolicy.policySourceRef needs name and key")
		}
	}
	return md, checkTags(md.Tags)
}

// secretValue returns the value as PutSecretValue and CreateSecret take
// it, in the metadata's format.
func (md *secretsManagerMetadata) secretValue(value []byte) (*string, []byte, error) {
	if md.SecretPushFormat == pushFormatBinary {
		if value == nil {
			value = []byte{}
		}
		return nil, value, nil
	}
	if !utf8.Valid(value) {
		return nil, nil, errors.New("secretPushFormat string needs a UTF-8 value, and the value is not; use binary")
	}
	s := string(value)
	return &s, nil, nil
}

func (c *secretsManager) pushError(verb string, p provider.Push, err error) error {
	if p.Property != "" {
		return fmt.Errorf("%s property %q of secret %q in %s: %w", verb, p.Property, p.RemoteKey, c.store, err)
	}
	return fmt.Errorf("%s secret %q in %s: %w", verb, p.RemoteKey, c.store, err)
}

// PushSecret writes value to the secret prefix+p.RemoteKey. A new secret
// is made with CreateSecret, with the metadata's tags, managed-by:
// external-secrets, description and KMS key (which, as in ESO, applies
// only to a secret the push creates). An existing one must carry
// managed-by: external-secrets; it is restored with RestoreSecret if it
// is scheduled for deletion, the value is written with PutSecretValue,
// after reading the current one with GetSecretValue when p.Property
// merges into it, and its tags are brought to the metadata's with
// UntagResource and TagResource. A description the metadata sets is
// applied with UpdateSecret. With metadata.spec.resourcePolicy the
// resource policy is read with GetResourcePolicy and written with
// PutResourcePolicy, or removed with DeleteResourcePolicy when the
// metadata names no policy; without it, the policy is never touched.
func (c *secretsManager) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	if err := c.push(ctx, value, p); err != nil {
		return c.pushError("push", p, err)
	}
	return nil
}

func (c *secretsManager) push(ctx context.Context, value []byte, p provider.Push) error {
	md, err := parseSecretsManagerMetadata(p.Metadata)
	if err != nil {
		return err
	}
	// Read the policy before writing anything, so that a policy that
	// cannot be read leaves the secret as it was.
	var policy string
	if md.ResourcePolicy != nil {
		if policy, err = c.policyDocument(ctx, md.ResourcePolicy.PolicySourceRef); err != nil {
			return err
		}
	}
	name := c.prefix + p.RemoteKey
	if p.Property != "" {
		defer c.locks.lock(name)()
	}
	desc, err := c.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	if apiCode(err) == "ResourceNotFoundException" {
		return c.create(ctx, name, value, p.Property, md, policy)
	}
	if err != nil {
		return writeError(err)
	}
	current := smTags(desc.Tags)
	if !isManaged(current) {
		return ErrNotManaged
	}
	if desc.DeletedDate != nil {
		// The push says the secret should exist: undo a deletion still
		// in its recovery window rather than fail until it ends.
		if _, err := c.api.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: &name}); err != nil {
			return writeError(err)
		}
	}
	if p.Property != "" {
		old, err := c.currentValue(ctx, name, desc)
		if err != nil {
			return err
		}
		if value, err = provider.SetProperty(old, p.Property, value); err != nil {
			return err
		}
	}
	str, bin, err := md.secretValue(value)
	if err != nil {
		return err
	}
	if _, err := c.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &name, SecretString: str, SecretBinary: bin}); err != nil {
		return writeError(err)
	}
	if err := c.applyTags(ctx, name, current, md.Tags); err != nil {
		return err
	}
	if md.Description != "" && md.Description != sdkaws.ToString(desc.Description) {
		if _, err := c.api.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: &name, Description: &md.Description}); err != nil {
			return writeError(err)
		}
	}
	if md.ResourcePolicy != nil {
		return c.syncPolicy(ctx, name, md.ResourcePolicy, policy)
	}
	return nil
}

func (c *secretsManager) create(ctx context.Context, name string, value []byte, property string, md *secretsManagerMetadata, policy string) error {
	if property != "" {
		var err error
		if value, err = provider.SetProperty(nil, property, value); err != nil {
			return err
		}
	}
	str, bin, err := md.secretValue(value)
	if err != nil {
		return err
	}
	in := &secretsmanager.CreateSecretInput{
		Name:         &name,
		SecretString: str,
		SecretBinary: bin,
		Description:  sdkaws.String(defaultDescription),
		KmsKeyId:     sdkaws.String(defaultSecretsManagerKey),
	}
	if md.Description != "" {
		in.Description = &md.Description
	}
	if md.KMSKeyID != "" {
		in.KmsKeyId = &md.KMSKeyID
	}
	for k, v := range planTags(nil, md.Tags).set {
		in.Tags = append(in.Tags, smtypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(v)})
	}
	if _, err := c.api.CreateSecret(ctx, in); err != nil {
		return writeError(err)
	}
	if policy != "" {
		return c.putPolicy(ctx, name, md.ResourcePolicy, policy)
	}
	return nil
}

// currentValue reads the AWSCURRENT value of a secret, nil when it has
// none.
func (c *secretsManager) currentValue(ctx context.Context, name string, desc *secretsmanager.DescribeSecretOutput) ([]byte, error) {
	hasCurrent := false
	for _, stages := range desc.VersionIdsToStages {
		for _, s := range stages {
			hasCurrent = hasCurrent || s == "AWSCURRENT"
		}
	}
	if !hasCurrent {
		return nil, nil
	}
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &name})
	if err != nil {
		return nil, writeError(err)
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	return out.SecretBinary, nil
}

func smTags(tags []smtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[sdkaws.ToString(t.Key)] = sdkaws.ToString(t.Value)
	}
	return m
}

func (c *secretsManager) applyTags(ctx context.Context, name string, current, tags map[string]string) error {
	ch := planTags(current, tags)
	if len(ch.remove) > 0 {
		if _, err := c.api.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: &name, TagKeys: ch.remove}); err != nil {
			return writeError(err)
		}
	}
	if len(ch.set) == 0 {
		return nil
	}
	in := &secretsmanager.TagResourceInput{SecretId: &name}
	for k, v := range ch.set {
		in.Tags = append(in.Tags, smtypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(v)})
	}
	if _, err := c.api.TagResource(ctx, in); err != nil {
		return writeError(err)
	}
	return nil
}

// policyDocument reads the resource policy ref names from the store's
// namespace, which is the PushSecret's; "" when ref is nil.
func (c *secretsManager) policyDocument(ctx context.Context, ref *policySourceRef) (string, error) {
	if ref == nil {
		return "", nil
	}
	if c.namespace == "" {
		// ESO reads it from the PushSecret's namespace, which the
		// provider contract does not carry, and a ClusterSecretStore
		// has no namespace to stand in for it.
		return "", errors.New("metadata.spec.resourcePolicy.policySourceRef cannot be read through a ClusterSecretStore: it names an object of the PushSecret's namespace, which secretsync does not pass to providers; use a SecretStore")
	}
	if c.creds == nil {
		return "", errors.New("metadata.spec.resourcePolicy.policySourceRef: the host gave no credentials reader")
	}
	read := c.creds.SecretValue
	if ref.Kind == "ConfigMap" {
		read = c.creds.ConfigMapValue
	}
	doc, err := read(ctx, c.namespace, ref.Name, ref.Key)
	if err != nil {
		// Not %w: a missing policy source is not a missing remote secret.
		return "", fmt.Errorf("read the resource policy from key %q of %s %s/%s: %v", ref.Key, ref.Kind, c.namespace, ref.Name, err)
	}
	return string(doc), nil
}

// syncPolicy brings the resource policy to doc, making no write when it
// is already there: no policy when doc is empty.
func (c *secretsManager) syncPolicy(ctx context.Context, name string, rp *resourcePolicy, doc string) error {
	out, err := c.api.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: &name})
	if err != nil {
		return writeError(err)
	}
	current := sdkaws.ToString(out.ResourcePolicy)
	switch {
	case doc == "" && current == "":
		return nil
	case doc == "":
		if _, err := c.api.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: &name}); err != nil {
			return writeError(err)
		}
		return nil
	case sameJSON(current, doc):
		return nil
	}
	return c.putPolicy(ctx, name, rp, doc)
}

func (c *secretsManager) putPolicy(ctx context.Context, name string, rp *resourcePolicy, doc string) error {
	_, err := c.api.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId:          &name,
		ResourcePolicy:    &doc,
		BlockPublicPolicy: rp.BlockPublicPolicy,
	})
	if err != nil {
		return writeError(err)
	}
	return nil
}

// sameJSON reports whether two policy documents are equal as JSON; AWS
// may return a policy reformatted.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}

// DeleteSecret deletes the secret prefix+p.RemoteKey with DeleteSecret,
// with the recovery window or forced deletion of the store's
// spec.provider.aws.secretsManager (AWS's default window of 30 days when
// it sets neither). With p.Property it removes that property, reading
// the value with GetSecretValue and writing the rest with PutSecretValue,
// and deletes the secret when no property is left. A secret that does not
// exist or is already scheduled for deletion is not an error; one without
// managed-by: external-secrets is [ErrNotManaged], and left alone.
func (c *secretsManager) DeleteSecret(ctx context.Context, p provider.Push) error {
	if err := c.delete(ctx, p); err != nil {
		return c.pushError("delete", p, err)
	}
	return nil
}

func (c *secretsManager) delete(ctx context.Context, p provider.Push) error {
	name := c.prefix + p.RemoteKey
	if p.Property != "" {
		defer c.locks.lock(name)()
	}
	desc, err := c.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	if apiCode(err) == "ResourceNotFoundException" {
		return nil
	}
	if err != nil {
		return writeError(err)
	}
	if desc.DeletedDate != nil {
		return nil
	}
	if !isManaged(smTags(desc.Tags)) {
		return ErrNotManaged
	}
	if p.Property != "" {
		old, err := c.currentValue(ctx, name, desc)
		if err != nil {
			return err
		}
		if old != nil {
			rest, left, err := provider.DeleteProperty(old, p.Property)
			if err != nil {
				return err
			}
			if left && !hasProperty(old, p.Property) {
				return nil
			}
			if left {
				return c.putRest(ctx, name, rest, p.Metadata)
			}
		}
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: &name}
	if d := c.deletion; d != nil && d.ForceDeleteWithoutRecovery {
		in.ForceDeleteWithoutRecovery = sdkaws.Bool(true)
	} else if d != nil && d.RecoveryWindowInDays != 0 {
		in.RecoveryWindowInDays = sdkaws.Int64(d.RecoveryWindowInDays)
	}
	if _, err := c.api.DeleteSecret(ctx, in); err != nil && apiCode(err) != "ResourceNotFoundException" {
		return writeError(err)
	}
	return nil
}

// putRest writes what is left of a secret after a property is deleted, in
// the format the entry's metadata pushes.
func (c *secretsManager) putRest(ctx context.Context, name string, rest []byte, metadata json.RawMessage) error {
	md, err := parseSecretsManagerMetadata(metadata)
	if err != nil {
		return err
	}
	str, bin, err := md.secretValue(rest)
	if err != nil {
		return err
	}
	if _, err := c.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &name, SecretString: str, SecretBinary: bin}); err != nil {
		return writeError(err)
	}
	return nil
}
