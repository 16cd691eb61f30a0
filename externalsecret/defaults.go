package externalsecret

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"time"
)

// DefaultRefreshInterval is the refresh interval when none is set.
const DefaultRefreshInterval = time.Hour

// RefreshInterval returns spec.refreshInterval, or its default of one hour.
// Zero means the values are read once.
func (es *ExternalSecret) RefreshInterval() time.Duration {
	if es.Spec.RefreshInterval == nil {
		return DefaultRefreshInterval
	}
	if es.Spec.RefreshInterval.Duration < 0 {
		return 0
	}
	return es.Spec.RefreshInterval.Duration
}

// RefreshPolicy returns spec.refreshPolicy, or Periodic when unset.
func (es *ExternalSecret) RefreshPolicy() RefreshPolicy {
	if es.Spec.RefreshPolicy == "" {
		return RefreshPolicyPeriodic
	}
	return es.Spec.RefreshPolicy
}

// TargetName returns the name of the Secret to write: spec.target.name, or
// the ExternalSecret's own name.
func (es *ExternalSecret) TargetName() string {
	if es.Spec.Target.Name != "" {
		return es.Spec.Target.Name
	}
	return es.Name
}

// GenericTarget reports whether es writes a resource other than a Secret:
// spec.target.manifest names a kind other than the v1 Secret. A manifest
// naming the v1 Secret is the same as no manifest.
func (es *ExternalSecret) GenericTarget() bool {
	m := es.Spec.Target.Manifest
	return m != nil && !(m.APIVersion == "v1" && m.Kind == "Secret")
}

// CreationPolicy returns spec.target.creationPolicy, or Owner when unset.
func (es *ExternalSecret) CreationPolicy() CreationPolicy {
	if es.Spec.Target.CreationPolicy == "" {
		return CreatePolicyOwner
	}
	return es.Spec.Target.CreationPolicy
}

// DeletionPolicy returns spec.target.deletionPolicy, or Retain when unset.
func (es *ExternalSecret) DeletionPolicy() DeletionPolicy {
	if es.Spec.Target.DeletionPolicy == "" {
		return DeletionPolicyRetain
	}
	return es.Spec.Target.DeletionPolicy
}

// StoreKind returns the kind of ref, SecretStore when unset.
func (ref SecretStoreRef) StoreKind() string {
	if ref.Kind == "" {
		return KindSecretStore
	}
	return ref.Kind
}

// SyncVersion identifies the spec and metadata of es that a sync used: its
// generation and a hash of its labels and annotations, the format ESO
// writes to status.syncedResourceVersion. A new version means the
// ExternalSecret changed since the last sync.
func (es *ExternalSecret) SyncVersion() string {
	h := sha256.New()
	for _, m := range []map[string]string{es.Labels, es.Annotations} {
		keys := make([]string, 0, len(m))
		for k := range m {
			if k == "kubectl.kubernetes.io/last-applied-configuration" {
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h.Write([]byte(k))
			h.Write([]byte{0})
			h.Write([]byte(m[k]))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return strconv.FormatInt(es.Generation, 10) + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// ReadyCondition returns the Ready condition, or nil.
func (s *ExternalSecretStatus) ReadyCondition() *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == ConditionReady {
			return &s.Conditions[i]
		}
	}
	return nil
}
