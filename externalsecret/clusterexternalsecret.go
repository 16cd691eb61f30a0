package externalsecret

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KindClusterExternalSecret is the kind of a ClusterExternalSecret.
const KindClusterExternalSecret = "ClusterExternalSecret"

// ClusterExternalSecret stamps one ExternalSecret into every namespace it
// selects, and removes it from a namespace it no longer selects.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={external-secrets},shortName=ces
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.externalSecretSpec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterExternalSecretSpec   `json:"spec,omitempty"`
	Status ClusterExternalSecretStatus `json:"status,omitempty"`
}

// ClusterExternalSecretSpec says which ExternalSecret to create and where.
type ClusterExternalSecretSpec struct {
	// ExternalSecretSpec is the spec of the ExternalSecrets created.
	ExternalSecretSpec ExternalSecretSpec `json:"externalSecretSpec"`

	// ExternalSecretName is the name of the ExternalSecrets created.
	// Defaults to the name of the ClusterExternalSecret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	ExternalSecretName string `json:"externalSecretName,omitempty"`

	// ExternalSecretMetadata are labels and annotations of the
	// ExternalSecrets created.
	// +optional
	ExternalSecretMetadata ExternalSecretMetadata `json:"externalSecretMetadata,omitempty"`

	// NamespaceSelector selects namespaces by label.
	// Deprecated: use namespaceSelectors.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// NamespaceSelectors select namespaces by label; a namespace any of
	// them selects gets the ExternalSecret.
	// +optional
	NamespaceSelectors []*metav1.LabelSelector `json:"namespaceSelectors,omitempty"`

	// Namespaces are namespaces chosen by name, besides those the
	// selectors choose.
	// Deprecated: use namespaceSelectors.
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// RefreshInterval is how often the namespaces are checked again. A
	// controller that watches namespaces, as secretsync's does, reacts to
	// a namespace change at once and needs no refresh.
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshTime,omitempty"`
}

// ExternalSecretMetadata are labels and annotations of the ExternalSecrets
// a ClusterExternalSecret creates.
type ExternalSecretMetadata struct {
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// ClusterExternalSecretConditionType is the type of a ClusterExternalSecret
// condition.
type ClusterExternalSecretConditionType string

// ClusterExternalSecretReady is true when every selected namespace has the
// ExternalSecret.
const ClusterExternalSecretReady ClusterExternalSecretConditionType = "Ready"

// ClusterExternalSecretStatusCondition is a condition of a
// ClusterExternalSecret.
type ClusterExternalSecretStatusCondition struct {
	Type   ClusterExternalSecretConditionType `json:"type"`
	Status corev1.ConditionStatus             `json:"status"`
	// +optional
	Message string `json:"message,omitempty"`
}

// ClusterExternalSecretNamespaceFailure is a namespace the ExternalSecret
// could not be written to, and why.
type ClusterExternalSecretNamespaceFailure struct {
	// Namespace that failed.
	Namespace string `json:"namespace"`
	// Reason it failed.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ClusterExternalSecretStatus is where the ExternalSecrets were created.
type ClusterExternalSecretStatus struct {
	// ExternalSecretName is the name of the ExternalSecrets created.
	ExternalSecretName string `json:"externalSecretName,omitempty"`
	// FailedNamespaces are the namespaces the ExternalSecret could not be
	// written to.
	// +optional
	FailedNamespaces []ClusterExternalSecretNamespaceFailure `json:"failedNamespaces,omitempty"`
	// ProvisionedNamespaces are the namespaces that have the ExternalSecret.
	// +optional
	ProvisionedNamespaces []string `json:"provisionedNamespaces,omitempty"`
	// +optional
	Conditions []ClusterExternalSecretStatusCondition `json:"conditions,omitempty"`
}

// ClusterExternalSecretList is a list of ClusterExternalSecrets.
//
// +kubebuilder:object:root=true
type ClusterExternalSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterExternalSecret `json:"items"`
}

// ExternalSecretName returns the name of the ExternalSecrets ces creates.
func (ces *ClusterExternalSecret) ExternalSecretName() string {
	if ces.Spec.ExternalSecretName != "" {
		return ces.Spec.ExternalSecretName
	}
	return ces.Name
}
