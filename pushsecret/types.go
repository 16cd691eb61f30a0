package pushsecret

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/secretsync/secretsync/externalsecret"
)

// SchemeGroupVersion is external-secrets.io/v1alpha1, the one version the
// External Secrets Operator serves PushSecret at.
var SchemeGroupVersion = schema.GroupVersion{Group: externalsecret.Group, Version: "v1alpha1"}

// Kind is the kind of a PushSecret.
const Kind = "PushSecret"

// KnownTypes are the types of this package a scheme registers, under
// SchemeGroupVersion.
func KnownTypes() []runtime.Object {
	return []runtime.Object{&PushSecret{}, &PushSecretList{}}
}

// PushSecret writes the values of a Secret in its namespace to external
// stores.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets},shortName=ps
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.refreshTime`
type PushSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec,omitempty"`
	Status Status `json:"status,omitempty"`
}

// PushSecretList is a list of PushSecrets.
//
// +kubebuilder:object:root=true
type PushSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PushSecret `json:"items"`
}

// Spec is what to push, from where and to where.
//
// +kubebuilder:validation:XValidation:rule="has(self.data) || has(self.dataTo)",message="either data or dataTo must be set"
type Spec struct {
	// RefreshInterval is how often the values are pushed again. Defaults
	// to 1h; 0 pushes only when the PushSecret or its Secret changes.
	// +kubebuilder:default="1h0m0s"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// SecretStoreRefs are the stores to push to.
	// +kubebuilder:validation:MinItems=1
	SecretStoreRefs []StoreRef `json:"secretStoreRefs"`

	// UpdatePolicy Replace overwrites a remote value that differs;
	// IfNotExists writes only remote secrets that do not exist yet.
	// +kubebuilder:default="Replace"
	// +optional
	UpdatePolicy UpdatePolicy `json:"updatePolicy,omitempty"`

	// DeletionPolicy Delete deletes what was pushed when the PushSecret
	// is deleted; None (the default) keeps it.
	// +kubebuilder:default="None"
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Selector names the Secret to push, in the PushSecret's namespace.
	Selector Selector `json:"selector"`

	// Data maps keys of the Secret to remote secrets.
	// +optional
	Data []Data `json:"data,omitempty"`

	// DataTo pushes many keys of the Secret to one store, each to the
	// remote secret of its name.
	// +optional
	DataTo []DataTo `json:"dataTo,omitempty"`

	// Template shapes the values before they are pushed, as an
	// ExternalSecret's target.template shapes a Secret.
	// +optional
	Template *externalsecret.Template `json:"template,omitempty"`
}

// StoreRef names stores to push to: one by name, or every store of the
// kind that a label selector selects.
//
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.labelSelector)",message="set exactly one of name and labelSelector"
type StoreRef struct {
	// Name of the store.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`
	// LabelSelector selects stores by label.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// Kind is SecretStore (the default) or ClusterSecretStore.
	// +kubebuilder:default="SecretStore"
	// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
	// +optional
	Kind string `json:"kind,omitempty"`
}

// UpdatePolicy says whether an existing remote secret is overwritten.
//
// +kubebuilder:validation:Enum=Replace;IfNotExists
type UpdatePolicy string

const (
	UpdatePolicyReplace     UpdatePolicy = "Replace"
	UpdatePolicyIfNotExists UpdatePolicy = "IfNotExists"
)

// DeletionPolicy says what happens to what was pushed when the PushSecret
// is deleted.
//
// +kubebuilder:validation:Enum=Delete;None
type DeletionPolicy string

const (
	DeletionPolicyDelete DeletionPolicy = "Delete"
	DeletionPolicyNone   DeletionPolicy = "None"
)

// ConversionStrategy converts the keys pushed.
//
// +kubebuilder:validation:Enum=None;ReverseUnicode
type ConversionStrategy string

const (
	ConversionNone           ConversionStrategy = "None"
	ConversionReverseUnicode ConversionStrategy = "ReverseUnicode"
)

// Selector names the source of the values: a Secret, or a generator.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type Selector struct {
	// Secret to push.
	// +optional
	Secret *SecretSelector `json:"secret,omitempty"`
	// GeneratorRef names a generator whose values are pushed.
	// +optional
	GeneratorRef *externalsecret.GeneratorRef `json:"generatorRef,omitempty"`
}

// SecretSelector names the Secret to push, in the PushSecret's namespace.
type SecretSelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`
	// Selector selects Secrets by label.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// RemoteRef names where a value goes in the store.
type RemoteRef struct {
	// RemoteKey names the remote secret.
	// +kubebuilder:validation:MinLength=1
	RemoteKey string `json:"remoteKey"`
	// Property of the remote secret the value becomes; the whole remote
	// secret when empty.
	// +optional
	Property string `json:"property,omitempty"`
}

// Match maps one key of the Secret, or all of it, to a remote secret.
type Match struct {
	// SecretKey is the key of the Secret to push. When empty the whole
	// Secret is pushed, as a JSON object of its keys.
	// +optional
	SecretKey string `json:"secretKey,omitempty"`
	// RemoteRef is where it goes.
	RemoteRef RemoteRef `json:"remoteRef"`
}

// Data is one value to push.
type Data struct {
	// Match says which value goes where.
	Match Match `json:"match"`
	// Metadata is provider-specific, as in the External Secrets Operator:
	// usually apiVersion kubernetes.external-secrets.io/v1alpha1, kind
	// PushSecretMetadata and a spec of the provider's own.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Metadata *runtime.RawExtension `json:"metadata,omitempty"`
	// ConversionStrategy converts the key. Defaults to None.
	// +kubebuilder:default="None"
	// +optional
	ConversionStrategy ConversionStrategy `json:"conversionStrategy,omitempty"`
}

// DataTo pushes many keys of the Secret to one store.
//
// +kubebuilder:validation:XValidation:rule="has(self.storeRef) && (has(self.storeRef.name) || has(self.storeRef.labelSelector))",message="storeRef must specify either name or labelSelector"
type DataTo struct {
	// StoreRef names the store.
	StoreRef *StoreRef `json:"storeRef,omitempty"`
	// Match selects the keys; all of them when unset.
	// +optional
	Match *DataToMatch `json:"match,omitempty"`
	// Rewrite renames keys before they are pushed, in order.
	// +optional
	Rewrite []Rewrite `json:"rewrite,omitempty"`
	// Metadata, as in Data.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Metadata *runtime.RawExtension `json:"metadata,omitempty"`
	// ConversionStrategy converts the keys. Defaults to None.
	// +kubebuilder:default="None"
	// +optional
	ConversionStrategy ConversionStrategy `json:"conversionStrategy,omitempty"`
}

// DataToMatch selects keys by regular expression.
type DataToMatch struct {
	// RegExp the keys must match; all keys when empty.
	// +optional
	RegExp string `json:"regexp,omitempty"`
}

// Rewrite renames keys: by regular expression, or by template.
//
// +kubebuilder:validation:XValidation:rule="(has(self.regexp) && !has(self.transform)) || (!has(self.regexp) && has(self.transform))",message="exactly one of regexp or transform must be set"
type Rewrite struct {
	// +optional
	Regexp *externalsecret.RewriteRegexp `json:"regexp,omitempty"`
	// +optional
	Transform *externalsecret.RewriteTransform `json:"transform,omitempty"`
}

// Status is what was pushed where.
type Status struct {
	// RefreshTime is when the values were last pushed.
	// +nullable
	// +optional
	RefreshTime metav1.Time `json:"refreshTime,omitempty"`
	// SyncedResourceVersion is the generation and labels hash of the
	// PushSecret last pushed.
	// +optional
	SyncedResourceVersion string `json:"syncedResourceVersion,omitempty"`
	// SyncedPushSecrets are the entries pushed, by store ("Kind/name", or
	// "Kind/namespace/name") and remote key: what a deletion with
	// deletionPolicy Delete removes.
	// +optional
	SyncedPushSecrets map[string]map[string]Data `json:"syncedPushSecrets,omitempty"`
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
}

// Condition is a condition of a PushSecret.
type Condition struct {
	Type   string                 `json:"type"`
	Status corev1.ConditionStatus `json:"status"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// Condition types and reasons.
const (
	ConditionReady = "Ready"
	ReasonSynced   = "Synced"
	ReasonErrored  = "Errored"
)

// RefreshInterval returns spec.refreshInterval, or one hour when unset.
func (ps *PushSecret) RefreshInterval() time.Duration {
	if ps.Spec.RefreshInterval == nil {
		return time.Hour
	}
	return ps.Spec.RefreshInterval.Duration
}

// ReadyCondition returns the Ready condition, or nil.
func (st *Status) ReadyCondition() *Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == ConditionReady {
			return &st.Conditions[i]
		}
	}
	return nil
}
