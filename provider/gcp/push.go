package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"reflect"
	"slices"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/secretsync/secretsync/provider"
)

// The label the External Secrets Operator puts on the secrets it pushes.
// PushSecret writes a whole secret only when it carries the label, and
// DeleteSecret deletes only secrets that carry it.
const (
	ManagedByLabel = "managed-by"
	ManagedByValue = "external-secrets"
)

// Values of mergePolicy in PushSecret metadata.
const (
	// MergeReplace makes the labels and annotations of the metadata the
	// secret's, in place of those it has. It is the default.
	MergeReplace = "Replace"
	// MergeMerge adds the labels and annotations of the metadata to those
	// the secret has; the metadata's win where both set a key.
	MergeMerge = "Merge"
)

// The apiVersion and kind of PushSecret metadata, as in the External
// Secrets Operator.
const (
	metadataAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	metadataKind       = "PushSecretMetadata"
)

// pushMetadata is a PushSecret's spec.data[].metadata for this provider,
// in the External Secrets Operator's shape.
type pushMetadata struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Spec       pushMetadataSpec `json:"spec"`
}

type pushMetadataSpec struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Topics are Pub/Sub topics, projects/P/topics/T, that Secret
	// Manager notifies of changes to the secret.
	Topics      []string `json:"topics,omitempty"`
	MergePolicy string   `json:"mergePolicy,omitempty"`
	// CMEKKeyName is the Cloud KMS key that encrypts the secret's
	// versions, set when the secret is created.
	CMEKKeyName string `json:"cmekKeyName,omitempty"`
	// ReplicationLocation is one replica location; ReplicationLocations,
	// when set, replaces it. Both apply when the secret is created.
	ReplicationLocation  string   `json:"replicationLocation,omitempty"`
	ReplicationLocations []string `json:"replicationLocations,omitempty"`
}

// parsePushMetadata parses and checks metadata; nil when it is unset.
// Unknown fields are errors, so that a misspelt one is not ignored.
func (c *client) parsePushMetadata(raw json.RawMessage) (*pushMetadataSpec, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m pushMetadata
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if dec.More() {
		return nil, errors.New("metadata: more than one JSON value")
	}
	if m.APIVersion != metadataAPIVersion || m.Kind != metadataKind {
		return nil, fmt.Errorf("metadata: apiVersion %q and kind %q must be %s and %s", m.APIVersion, m.Kind, metadataAPIVersion, metadataKind)
	}
	s := &m.Spec
	switch s.MergePolicy {
	case "", MergeReplace, MergeMerge:
	default:
		return nil, fmt.Errorf("metadata: spec.mergePolicy must be %s or %s, not %q", MergeReplace, MergeMerge, s.MergePolicy)
	}
	for k, v := range s.Labels {
		if !isLabelKey(k) || v != "" && !isLabelValue(v) {
			return nil, fmt.Errorf("metadata: spec.labels: %q: %q is not a GCP label: lowercase letters, digits, _ and -, at most 63, a key starting with a letter", k, v)
		}
	}
	if c.regional() && (s.ReplicationLocation != "" || len(s.ReplicationLocations) > 0) {
		return nil, errors.New("metadata: spec.replicationLocation(s): the store's spec.location makes its secrets regional, and regional secrets have no replication")
	}
	return s, nil
}

func (c *client) regional() bool { return c.location != "" }

// PushSecret writes value to the secret p.RemoteKey, as the External
// Secrets Operator does:
//
//   - A missing secret is created (CreateSecret) with the label
//     managed-by: external-secrets, the metadata's labels, annotations
//     and topics, and automatic replication, or replicas in the
//     metadata's replicationLocations, encrypted with its cmekKeyName;
//     regional secrets take the key and no replication.
//   - An existing secret is written only if it carries that label, unless
//     p.Property is set, which writes into any secret and adds the label.
//     Its labels and annotations become the metadata's (with mergePolicy
//     Merge, are added to), and its topics the metadata's when it lists
//     some, with one UpdateSecret when any of them changes. Replication
//     and encryption, fixed at creation, are left alone.
//   - The value is the data of a new version (AddSecretVersion), or with
//     p.Property the latest version's JSON object with that property set.
//     When the latest version already holds it, no version is added, so a
//     push that changes only labels adds none.
//
// Metadata cannot go with a property: a secret's labels belong to all of
// its properties.
func (c *client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	if err := c.push(ctx, value, p); err != nil {
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

func (c *client) push(ctx context.Context, value []byte, p provider.Push) error {
	if err := checkRef(provider.Ref{Key: p.RemoteKey}); err != nil {
		return err
	}
	meta, err := c.parsePushMetadata(p.Metadata)
	if err != nil {
		return err
	}
	if meta != nil && p.Property != "" {
		return errors.New("metadata cannot be set with a property: the labels and annotations of a secret are shared by all its properties")
	}
	sec, err := c.getSecret(ctx, p.RemoteKey)
	if errors.Is(err, provider.ErrNotFound) {
		return c.create(ctx, value, p, meta)
	}
	if err != nil {
		return err
	}
	if p.Property == "" && !managed(sec) {
		return fmt.Errorf("the secret exists and is not managed by external-secrets: label it %s=%s to let PushSecret write it", ManagedByLabel, ManagedByValue)
	}
	if err := c.updateMetadata(ctx, sec, p, meta); err != nil {
		return err
	}
	current, err := c.access(ctx, p.RemoteKey, "")
	switch {
	case errors.Is(err, provider.ErrNotFound):
		current = nil // no versions yet
	case err != nil && p.Property == "" && unusableVersion(err):
		current = nil // the new version replaces the unusable latest
	case err != nil:
		return err
	}
	data := value
	if p.Property != "" {
		if data, err = provider.SetProperty(current, p.Property, value); err != nil {
			return err
		}
	}
	if current != nil && sameData(current, data, p.Property != "") {
		return nil
	}
	return c.addVersion(ctx, p.RemoteKey, data)
}

func managed(sec *secretmanagerpb.Secret) bool {
	return sec.GetLabels()[ManagedByLabel] == ManagedByValue
}

// sameData reports whether data, to be written, is what the latest version
// holds: the same bytes, or for a property write the same JSON, since
// SetProperty re-encodes the object around the property.
func sameData(current, data []byte, object bool) bool {
	if !object {
		return bytes.Equal(current, data)
	}
	var a, b any
	da, db := json.NewDecoder(bytes.NewReader(current)), json.NewDecoder(bytes.NewReader(data))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&a) == nil && db.Decode(&b) == nil && reflect.DeepEqual(a, b)
}

// create creates the secret with the metadata, then its first version.
func (c *client) create(ctx context.Context, value []byte, p provider.Push, meta *pushMetadataSpec) error {
	if meta == nil {
		meta = &pushMetadataSpec{}
	}
	sec := &secretmanagerpb.Secret{
		Labels:      withManagedBy(meta.Labels),
		Annotations: meta.Annotations,
		Topics:      topics(meta.Topics),
	}
	if c.regional() {
		if meta.CMEKKeyName != "" {
			sec.CustomerManagedEncryption = &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: meta.CMEKKeyName}
		}
	} else {
		sec.Replication = replication(meta)
	}
	err := c.call(ctx, "CreateSecret", func(ctx context.Context) error {
		_, err := c.sm.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: c.parent, SecretId: p.RemoteKey, Secret: sec})
		return err
	})
	if err != nil {
		return err
	}
	data := value
	if p.Property != "" {
		if data, err = provider.SetProperty(nil, p.Property, value); err != nil {
			return err
		}
	}
	return c.addVersion(ctx, p.RemoteKey, data)
}

// replication is automatic, or user-managed in the metadata's locations;
// either encrypted with its CMEK key when it names one.
func replication(meta *pushMetadataSpec) *secretmanagerpb.Replication {
	var cmek *secretmanagerpb.CustomerManagedEncryption
	if meta.CMEKKeyName != "" {
		cmek = &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: meta.CMEKKeyName}
	}
	locations := meta.ReplicationLocations
	if len(locations) == 0 && meta.ReplicationLocation != "" {
		locations = []string{meta.ReplicationLocation}
	}
	if len(locations) == 0 {
		return &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{
			Automatic: &secretmanagerpb.Replication_Automatic{CustomerManagedEncryption: cmek},
		}}
	}
	um := &secretmanagerpb.Replication_UserManaged{}
	for _, l := range locations {
		um.Replicas = append(um.Replicas, &secretmanagerpb.Replication_UserManaged_Replica{Location: l, CustomerManagedEncryption: cmek})
	}
	return &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_UserManaged_{UserManaged: um}}
}

func withManagedBy(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[ManagedByLabel] = ManagedByValue
	return out
}

func topics(names []string) []*secretmanagerpb.Topic {
	var out []*secretmanagerpb.Topic
	for _, n := range names {
		out = append(out, &secretmanagerpb.Topic{Name: n})
	}
	return out
}

// updateMetadata brings the labels, annotations and topics of the
// existing secret sec to what the push wants, with one UpdateSecret of
// the fields that differ, guarded by the etag read with sec.
func (c *client) updateMetadata(ctx context.Context, sec *secretmanagerpb.Secret, p provider.Push, meta *pushMetadataSpec) error {
	labels, annotations := withManagedBy(sec.GetLabels()), sec.GetAnnotations()
	var wantTopics []string
	if p.Property == "" {
		if meta == nil {
			meta = &pushMetadataSpec{}
		}
		if meta.MergePolicy == MergeMerge {
			labels = withManagedBy(merge(sec.GetLabels(), meta.Labels))
			annotations = merge(sec.GetAnnotations(), meta.Annotations)
		} else {
			labels = withManagedBy(meta.Labels)
			annotations = meta.Annotations
		}
		wantTopics = meta.Topics
	}
	update := &secretmanagerpb.Secret{Name: c.secretName(p.RemoteKey), Etag: sec.GetEtag()}
	var mask []string
	if !maps.Equal(labels, sec.GetLabels()) {
		mask = append(mask, "labels")
		update.Labels = labels
	}
	if !maps.Equal(annotations, sec.GetAnnotations()) {
		mask = append(mask, "annotations")
		update.Annotations = annotations
	}
	if wantTopics != nil {
		var have []string
		for _, t := range sec.GetTopics() {
			have = append(have, t.GetName())
		}
		if !slices.Equal(have, wantTopics) {
			mask = append(mask, "topics")
			update.Topics = topics(wantTopics)
		}
	}
	if len(mask) == 0 {
		return nil
	}
	return c.call(ctx, "UpdateSecret", func(ctx context.Context) error {
		_, err := c.sm.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{Secret: update, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
		return err
	})
}

func merge(have, add map[string]string) map[string]string {
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	return out
}

// addVersion adds a version holding data, with its checksum, which
// Secret Manager verifies.
func (c *client) addVersion(ctx context.Context, id string, data []byte) error {
	sum := int64(crc32.Checksum(data, castagnoli))
	return c.call(ctx, "AddSecretVersion", func(ctx context.Context) error {
		_, err := c.sm.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{
			Parent:  c.secretName(id),
			Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &sum},
		})
		return err
	})
}

// getSecret reads a secret's metadata: its labels, etag and the like.
func (c *client) getSecret(ctx context.Context, id string) (*secretmanagerpb.Secret, error) {
	var sec *secretmanagerpb.Secret
	err := c.call(ctx, "GetSecret", func(ctx context.Context) error {
		var err error
		sec, err = c.sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: c.secretName(id)})
		return err
	})
	return sec, err
}

// call makes one Secret Manager call, observed and with its error
// described.
func (c *client) call(ctx context.Context, method string, fn func(context.Context) error) error {
	ctx, op := c.observe(ctx, method)
	if err := fn(ctx); err != nil {
		err = describe(method, err)
		op.fail(err)
		return err
	}
	return nil
}

// DeleteSecret deletes the secret p.RemoteKey (DeleteSecret), or with
// p.Property removes that property from its latest version's JSON object
// by adding a version without it, and deletes the secret when no
// property is left. As in the External Secrets Operator, a secret
// without the label managed-by: external-secrets is left alone, without
// an error: it is not PushSecret's to delete. A missing secret or
// property is not an error.
func (c *client) DeleteSecret(ctx context.Context, p provider.Push) error {
	if err := c.delete(ctx, p); err != nil {
		return fmt.Errorf("delete secret %q%s in %s: %w", p.RemoteKey, propertySuffix(p.Property), c.store, err)
	}
	return nil
}

func (c *client) delete(ctx context.Context, p provider.Push) error {
	if err := checkRef(provider.Ref{Key: p.RemoteKey}); err != nil {
		return err
	}
	sec, err := c.getSecret(ctx, p.RemoteKey)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil || !managed(sec) {
		return err
	}
	if p.Property != "" {
		current, err := c.access(ctx, p.RemoteKey, "")
		if errors.Is(err, provider.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(current, &obj) == nil && obj != nil {
			if _, ok := obj[p.Property]; !ok {
				return nil
			}
		}
		rest, left, err := provider.DeleteProperty(current, p.Property)
		if err != nil {
			return err
		}
		if left {
			return c.addVersion(ctx, p.RemoteKey, rest)
		}
	}
	err = c.call(ctx, "DeleteSecret", func(ctx context.Context) error {
		return c.sm.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: c.secretName(p.RemoteKey), Etag: sec.GetEtag()})
	})
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	return err
}
