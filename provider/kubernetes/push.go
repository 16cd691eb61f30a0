package kubernetes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/secretsync/secretsync/provider"
)

// DefaultFieldManager names secretsync in the managed fields of the
// Secrets PushSecret writes, unless [WithFieldManager] says otherwise.
const DefaultFieldManager = "secretsync"

// WithFieldManager names the writer in the managed fields of the Secrets
// PushSecret writes.
func WithFieldManager(name string) Option {
	return func(p *Provider) { p.fieldManager = name }
}

var _ provider.Pusher = &Client{}

// PushSecret writes value to the Secret p.RemoteKey of the remote
// namespace, as the store's credentials, creating the Secret (of type
// Opaque) when it does not exist. With p.Property, value becomes the data
// key p.Property and the other keys are kept; without, value must be a
// JSON object of strings, which becomes the Secret's data, every other key
// dropped. p.Metadata, if set, is a PushSecretMetadata that sets labels
// and annotations; see the package documentation.
//
// A conflict with another writer is retried from a fresh read. When the
// Secret already holds what would be written, nothing is written.
func (c *Client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	what := "push to Secret " + c.namespace + "/" + p.RemoteKey
	if err := checkSecretName(p.RemoteKey); err != nil {
		return err
	}
	meta, err := parsePushMetadata(p.Metadata)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if ns := meta.Spec.RemoteNamespace; ns != "" && ns != c.namespace {
		// GetSecret reads the store's remoteNamespace, and the host
		// compares through it: a Secret written elsewhere would never
		// read back, and would be written again on every push.
		return fmt.Errorf("%s: metadata spec.remoteNamespace %q differs from the store's remoteNamespace %q; use a store whose remoteNamespace is %q", what, ns, c.namespace, ns)
	}
	var data map[string][]byte
	if p.Property == "" {
		if data, err = objectData(value); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	} else if errs := validation.IsConfigMapKey(p.Property); len(errs) > 0 {
		return fmt.Errorf("%s: property %q is not a Secret data key: %s", what, p.Property, strings.Join(errs, "; "))
	}

	apply := func(s *corev1.Secret) {
		if p.Property == "" {
			s.Data = maps.Clone(data)
		} else {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[p.Property] = bytes.Clone(value)
		}
		s.Labels = meta.target(s.Labels, meta.Spec.Labels)
		s.Annotations = meta.target(s.Annotations, meta.Spec.Annotations)
	}
	err = retry.OnError(raceBackoff, isRace, func() error {
		cur, err := c.secrets.Get(ctx, p.RemoteKey, metav1.GetOptions{})
		if isSecretNotFound(err) {
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: p.RemoteKey, Namespace: c.namespace},
				Type:       corev1.SecretTypeOpaque,
			}
			apply(s)
			_, err = c.secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: c.fieldManager})
			return err
		}
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		apply(next)
		if equality.Semantic.DeepEqual(cur, next) {
			return nil
		}
		_, err = c.secrets.Update(ctx, next, metav1.UpdateOptions{FieldManager: c.fieldManager})
		return err
	})
	if err != nil {
		return wrapErr(what, err)
	}
	return nil
}

// DeleteSecret deletes the Secret p.RemoteKey or, with p.Property, that
// key of its data, and the Secret with it when it was the last key. A
// Secret or key that does not exist is not an error.
func (c *Client) DeleteSecret(ctx context.Context, p provider.Push) error {
	what := "delete Secret " + c.namespace + "/" + p.RemoteKey
	if err := checkSecretName(p.RemoteKey); err != nil {
		return err
	}
	if p.Property == "" {
		err := c.secrets.Delete(ctx, p.RemoteKey, metav1.DeleteOptions{})
		if err != nil && !isSecretNotFound(err) {
			return wrapErr(what, err)
		}
		return nil
	}
	what = "delete key " + p.Property + " of Secret " + c.namespace + "/" + p.RemoteKey
	err := retry.OnError(raceBackoff, isRace, func() error {
		cur, err := c.secrets.Get(ctx, p.RemoteKey, metav1.GetOptions{})
		if isSecretNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, ok := cur.Data[p.Property]; !ok {
			return nil
		}
		if len(cur.Data) == 1 {
			// The precondition keeps a key another writer has added
			// since the read: the delete then conflicts and is retried.
			rv := cur.ResourceVersion
			err := c.secrets.Delete(ctx, p.RemoteKey, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			if isSecretNotFound(err) {
				return nil
			}
			return err
		}
		next := cur.DeepCopy()
		delete(next.Data, p.Property)
		_, err = c.secrets.Update(ctx, next, metav1.UpdateOptions{FieldManager: c.fieldManager})
		return err
	})
	if err != nil {
		return wrapErr(what, err)
	}
	return nil
}

func checkSecretName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("key %q is not a Secret name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// raceBackoff spaces the retries of a write that lost a race. Each round
// of racing writers lets at least one through, so ten tries outlast as
// many writers of one Secret; jitter keeps them from meeting again.
var raceBackoff = wait.Backoff{Steps: 10, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1}

// isRace reports whether err is a write that lost to another writer: an
// update or delete of a stale resourceVersion, or the create of a Secret
// created since the read. Both are retried from a fresh read.
func isRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

// isSecretNotFound reports whether the apiserver said a Secret does not
// exist; a 404 from anything else is not that (see [wrapErr]).
func isSecretNotFound(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "secrets"
}

// objectData returns the data a push without a property writes: value
// must be a JSON object whose values are strings, the shape GetSecret's
// Value reads. Errors name keys, never values: those of encoding/json
// can quote the input.
func objectData(value []byte) (map[string][]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(value, &obj); err != nil || obj == nil {
		return nil, errors.New("without a property the value must be a JSON object of strings, the Secret's data; it is not a JSON object")
	}
	data := make(map[string][]byte, len(obj))
	for k, raw := range obj {
		if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
			return nil, fmt.Errorf("key %q of the value is not a Secret data key: %s", k, strings.Join(errs, "; "))
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("key %q of the value is not a JSON string: Secret data are strings; set a property to push JSON as one key", k)
		}
		data[k] = []byte(s)
	}
	return data, nil
}

// The apiVersion and kind of data[].metadata, as in ESO.
const (
	metadataAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	metadataKind       = "PushSecretMetadata"
)

// pushMetadata is data[].metadata of a PushSecret for a kubernetes store,
// ESO's PushSecretMetadata.
type pushMetadata struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Spec       pushMetadataSpec `json:"spec"`
}

type pushMetadataSpec struct {
	// SourceMergePolicy, Merge or Replace, says in ESO how Labels and
	// Annotations merge with those of the source Secret. The host passes
	// values only, never the source Secret's metadata, so both mean
	// "Labels and Annotations"; the field is checked and kept for
	// manifests written for ESO.
	SourceMergePolicy string `json:"sourceMergePolicy,omitempty"`
	// TargetMergePolicy says how Labels and Annotations merge with those
	// of the remote Secret: Merge (the default) adds and overwrites,
	// Replace replaces them all, Ignore leaves the remote's alone.
	TargetMergePolicy string            `json:"targetMergePolicy,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	// RemoteNamespace may only repeat the store's remoteNamespace: see
	// PushSecret.
	RemoteNamespace string `json:"remoteNamespace,omitempty"`
}

// parsePushMetadata parses raw, which may be empty. A field it does not
// know is an error that names it, not ignored.
func parsePushMetadata(raw json.RawMessage) (*pushMetadata, error) {
	m := &pushMetadata{}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		// Metadata is configuration, not a secret: its errors may quote it.
		return nil, fmt.Errorf("metadata is not a %s %s: %w", metadataAPIVersion, metadataKind, err)
	}
	if m.APIVersion != metadataAPIVersion || m.Kind != metadataKind {
		return nil, fmt.Errorf("metadata has apiVersion %q and kind %q; want %q and %q", m.APIVersion, m.Kind, metadataAPIVersion, metadataKind)
	}
	switch m.Spec.SourceMergePolicy {
	case "", "Merge", "Replace":
	default:
		return nil, fmt.Errorf("metadata spec.sourceMergePolicy is %q; want Merge or Replace", m.Spec.SourceMergePolicy)
	}
	switch m.Spec.TargetMergePolicy {
	case "", "Merge", "Replace", "Ignore":
	default:
		return nil, fmt.Errorf("metadata spec.targetMergePolicy is %q; want Merge, Replace or Ignore", m.Spec.TargetMergePolicy)
	}
	return m, nil
}

// target returns the labels or annotations the remote Secret gets, from
// those it has and those pushed, by spec.targetMergePolicy.
func (m *pushMetadata) target(remote, pushed map[string]string) map[string]string {
	switch m.Spec.TargetMergePolicy {
	case "Ignore":
		return remote
	case "Replace":
		return maps.Clone(pushed)
	default:
		if len(pushed) == 0 {
			return remote
		}
		out := maps.Clone(remote)
		if out == nil {
			out = map[string]string{}
		}
		maps.Copy(out, pushed)
		return out
	}
}
