package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SecretReference names values in an external store, through a
// SecretStore or ClusterSecretStore already in the cluster, and the Secret
// of the same name they are written to.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SecretReference struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SecretReferenceSpec   `json:"spec,omitempty"`
	Status SecretReferenceStatus `json:"status,omitempty"`
}

// SecretReferenceList is a list of SecretReferences.
//
// +kubebuilder:object:root=true
type SecretReferenceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecretReference `json:"items"`
}

// SecretReferenceSpec says what to read and how to write it.
type SecretReferenceSpec struct {
	// Template shapes the Secret written.
	// +optional
	Template SecretTemplate `json:"template,omitempty"`

	// Data maps keys of the Secret to remote values.
	// +kubebuilder:validation:MinItems=1
	Data []SecretDataSource `json:"data"`

	// RefreshInterval is how often the remote values are read again.
	// +kubebuilder:default="1h"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// SecretStoreRef names the store, in the External Secrets Operator's
	// format, to read from.
	SecretStoreRef StoreRef `json:"secretStoreRef"`
}

// SecretTemplate shapes the Secret written.
type SecretTemplate struct {
	// Type of the Secret; Opaque when empty.
	// +optional
	Type corev1.SecretType `json:"type,omitempty"`

	// Metadata adds labels and annotations to the Secret.
	// +optional
	Metadata SecretMetadata `json:"metadata,omitempty"`
}

// SecretMetadata is the labels and annotations added to the Secret.
type SecretMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SecretDataSource maps one key of the Secret to a remote value.
type SecretDataSource struct {
	// SecretKey is the key in the Secret.
	// +kubebuilder:validation:MinLength=1
	SecretKey string `json:"secretKey"`

	// RemoteRef locates the value in the store.
	RemoteRef RemoteReference `json:"remoteRef"`
}

// RemoteReference locates a value in the store.
type RemoteReference struct {
	// Key is the path of the secret in the store.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`

	// Property is a field within the secret; the whole secret when empty.
	// +optional
	Property string `json:"property,omitempty"`

	// Version of the secret to read; the latest when empty.
	// +optional
	Version string `json:"version,omitempty"`
}

// StoreRef names a SecretStore in the SecretReference's namespace or a
// ClusterSecretStore.
type StoreRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Kind is SecretStore (the default) or ClusterSecretStore.
	// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
	// +kubebuilder:default=SecretStore
	// +optional
	Kind string `json:"kind,omitempty"`
}

// SecretReferenceStatus is what the last sync did.
type SecretReferenceStatus struct {
	// Conditions hold the Ready condition. When it is True and its
	// observedGeneration is the SecretReference's generation, the Secret
	// holds what this generation asks for.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastRefreshTime is when the Secret was last written from fresh
	// values.
	// +nullable
	// +optional
	LastRefreshTime metav1.Time `json:"lastRefreshTime,omitempty"`

	// SecretName is the Secret written.
	// +optional
	SecretName string `json:"secretName,omitempty"`
}
