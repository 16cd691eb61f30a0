package secretstore

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/secretsync/secretsync/externalsecret"
)

// SecretStore says how to reach an external secret store from one namespace.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets},shortName=ss
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type SecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec,omitempty"`
	Status Status `json:"status,omitempty"`
}

// SecretStoreList is a list of SecretStores.
//
// +kubebuilder:object:root=true
type SecretStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecretStore `json:"items"`
}

// ClusterSecretStore is a SecretStore that ExternalSecrets in many
// namespaces may use, limited by its conditions.
//
// +genclient
// +genclient:nonNamespaced
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={external-secrets},shortName=css
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterSecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec,omitempty"`
	Status Status `json:"status,omitempty"`
}

// ClusterSecretStoreList is a list of ClusterSecretStores.
//
// +kubebuilder:object:root=true
type ClusterSecretStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSecretStore `json:"items"`
}

// Spec is the desired state of a store.
type Spec struct {
	// Controller is the class of controller that serves this store; a
	// controller started with another class ignores it. Empty matches a
	// controller started without a class.
	// +optional
	Controller string `json:"controller,omitempty"`

	// Provider configures the external store. Exactly one field is set.
	Provider *Provider `json:"provider"`

	// RetrySettings configure retries of failed provider calls.
	// +optional
	RetrySettings *RetrySettings `json:"retrySettings,omitempty"`

	// RefreshInterval is how often the store is validated again: an
	// integer number of seconds, as ESO first took it, or a Go duration
	// such as "1h" or "5m". Empty or zero uses the controller's default.
	// See [Spec.RefreshDuration].
	// +kubebuilder:validation:XIntOrString
	// +optional
	RefreshInterval *intstr.IntOrString `json:"refreshInterval,omitempty"`

	// Conditions limit the namespaces whose ExternalSecrets may use a
	// ClusterSecretStore. A namespace may use it when it matches any one
	// condition. Ignored on a SecretStore.
	// +optional
	Conditions []ClusterSecretStoreCondition `json:"conditions,omitempty"`
}

// ClusterSecretStoreCondition selects namespaces. A namespace matches when
// it matches any of the fields set.
type ClusterSecretStoreCondition struct {
	// NamespaceSelector matches namespaces by label.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Namespaces matches namespaces by name.
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceRegexes matches namespaces by RE2 regular expression.
	// +optional
	NamespaceRegexes []string `json:"namespaceRegexes,omitempty"`
}

// RetrySettings configure retries of failed provider calls.
type RetrySettings struct {
	// +optional
	MaxRetries *int32 `json:"maxRetries,omitempty"`
	// RetryInterval is a Go duration.
	// +optional
	RetryInterval *string `json:"retryInterval,omitempty"`
}

// Status is the observed state of a store.
type Status struct {
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
	// +optional
	Capabilities Capabilities `json:"capabilities,omitempty"`
}

// Condition is a condition of a store: the same type as an
// ExternalSecret's.
//
// +kubebuilder:object:generate=false
type Condition = externalsecret.Condition

// ConditionReady is True when the store can serve reads.
const ConditionReady = externalsecret.ConditionReady

// Reasons of the Ready condition.
const (
	ReasonValid                 = "Valid"
	ReasonInvalidProviderConfig = "InvalidProviderConfig"
	ReasonValidationFailed      = "ValidationFailed"
)

// Capabilities says which operations a store supports.
type Capabilities string

const (
	ReadOnly  Capabilities = "ReadOnly"
	WriteOnly Capabilities = "WriteOnly"
	ReadWrite Capabilities = "ReadWrite"
)

// SecretKeySelector names a key of a Secret holding a credential.
type SecretKeySelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace of the Secret. A SecretStore may only name its own
	// namespace; a ClusterSecretStore must name one.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// Key in the Secret.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// ServiceAccountSelector names a ServiceAccount whose token authenticates
// to the store.
type ServiceAccountSelector struct {
	// Name of the ServiceAccount.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the ServiceAccount, with the same rules as
	// SecretKeySelector.Namespace.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// Audiences of the token, in addition to the provider's own.
	// +optional
	Audiences []string `json:"audiences,omitempty"`
}

// CAProvider names a Secret or ConfigMap holding a PEM CA bundle.
type CAProvider struct {
	// Type is Secret or ConfigMap.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	Type CAProviderType `json:"type"`
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key holding the bundle.
	// +optional
	Key string `json:"key,omitempty"`
	// Namespace of the object; only a ClusterSecretStore may set it.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
}

// CAProviderType is the kind of object a CAProvider names.
type CAProviderType string

const (
	CAProviderTypeSecret    CAProviderType = "Secret"
	CAProviderTypeConfigMap CAProviderType = "ConfigMap"
)
