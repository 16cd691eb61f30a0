package secretstore

import (
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// GenericStore is what SecretStore and ClusterSecretStore have in common,
// so that code reading a store need not care which kind it is.
//
// +kubebuilder:object:generate=false
type GenericStore interface {
	runtime.Object
	metav1.Object

	// Kind returns KindSecretStore or KindClusterSecretStore.
	Kind() string
	// StoreSpec returns the spec. Do not modify it.
	StoreSpec() *Spec
	// StoreStatus returns the status. Do not modify it.
	StoreStatus() *Status
	// SetStoreStatus replaces the status.
	SetStoreStatus(Status)
	// Copy returns a deep copy.
	Copy() GenericStore
}

var (
	_ GenericStore = &SecretStore{}
	_ GenericStore = &ClusterSecretStore{}
)

// Kind returns KindSecretStore.
func (*SecretStore) Kind() string { return KindSecretStore }

// StoreSpec returns the spec.
func (s *SecretStore) StoreSpec() *Spec { return &s.Spec }

// StoreStatus returns the status.
func (s *SecretStore) StoreStatus() *Status { return &s.Status }

// SetStoreStatus replaces the status.
func (s *SecretStore) SetStoreStatus(st Status) { s.Status = st }

// Copy returns a deep copy.
func (s *SecretStore) Copy() GenericStore { return s.DeepCopy() }

// Kind returns KindClusterSecretStore.
func (*ClusterSecretStore) Kind() string { return KindClusterSecretStore }

// StoreSpec returns the spec.
func (s *ClusterSecretStore) StoreSpec() *Spec { return &s.Spec }

// StoreStatus returns the status.
func (s *ClusterSecretStore) StoreStatus() *Status { return &s.Status }

// SetStoreStatus replaces the status.
func (s *ClusterSecretStore) SetStoreStatus(st Status) { s.Status = st }

// Copy returns a deep copy.
func (s *ClusterSecretStore) Copy() GenericStore { return s.DeepCopy() }

// Ref returns "Kind/name" or "Kind/namespace/name", for messages.
func Ref(s GenericStore) string {
	if s.GetNamespace() == "" {
		return s.Kind() + "/" + s.GetName()
	}
	return s.Kind() + "/" + s.GetNamespace() + "/" + s.GetName()
}

// ProviderName returns the name of the one provider field set in spec,
// such as "vault" or "fake".
func ProviderName(spec *Spec) (string, error) {
	if spec == nil || spec.Provider == nil {
		return "", fmt.Errorf("spec.provider is not set")
	}
	names := spec.Provider.set()
	switch len(names) {
	case 0:
		return "", fmt.Errorf("spec.provider names no provider")
	case 1:
		return names[0], nil
	default:
		return "", fmt.Errorf("spec.provider sets %d providers %v; set exactly one", len(names), names)
	}
}

// ReadyCondition returns the Ready condition, or nil.
func (s *Status) ReadyCondition() *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == ConditionReady {
			return &s.Conditions[i]
		}
	}
	return nil
}

// RefreshDuration returns spec.refreshInterval as a duration, or zero when
// it is unset or zero. An integer, or a string of digits, counts seconds,
// as in ESO's first API; any other string is a Go duration such as "1h".
func (s *Spec) RefreshDuration() (time.Duration, error) {
	ri := s.RefreshInterval
	if ri == nil {
		return 0, nil
	}
	if ri.Type == intstr.Int {
		if ri.IntVal < 0 {
			return 0, fmt.Errorf("spec.refreshInterval %d is negative", ri.IntVal)
		}
		return time.Duration(ri.IntVal) * time.Second, nil
	}
	if ri.StrVal == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(ri.StrVal, 10, 32); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("spec.refreshInterval %q is negative", ri.StrVal)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(ri.StrVal)
	if err != nil {
		return 0, fmt.Errorf("spec.refreshInterval %q is neither a number of seconds nor a duration such as 1h", ri.StrVal)
	}
	if d < 0 {
		return 0, fmt.Errorf("spec.refreshInterval %q is negative", ri.StrVal)
	}
	return d, nil
}
