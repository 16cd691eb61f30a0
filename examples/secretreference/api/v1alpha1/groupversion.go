// Package v1alpha1 holds the SecretReference API of the example operator,
// group example.secretsync.io: a resource shaped like OpenChoreo's
// SecretReference, which names remote values in an existing store and the
// Secret to write them to.
//
// +kubebuilder:object:generate=true
// +groupName=example.secretsync.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of the SecretReference API.
var GroupVersion = schema.GroupVersion{Group: "example.secretsync.io", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the kinds of this package.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds SecretReference and SecretReferenceList to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &SecretReference{}, &SecretReferenceList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
