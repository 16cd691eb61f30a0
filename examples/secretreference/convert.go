package main

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/examples/secretreference/api/v1alpha1"
	"github.com/secretsync/secretsync/externalsecret"
)

// externalSecretFor returns the ExternalSecret sr stands for, with the
// status sr records, so that the engine knows what it synced already.
func externalSecretFor(sr *v1alpha1.SecretReference) *externalsecret.ExternalSecret {
	tpl := sr.Spec.Template
	es := &externalsecret.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: sr.Namespace, Name: sr.Name, UID: sr.UID, Generation: sr.Generation},
		Spec: externalsecret.ExternalSecretSpec{
			SecretStoreRef:  externalsecret.SecretStoreRef{Name: sr.Spec.SecretStoreRef.Name, Kind: sr.Spec.SecretStoreRef.Kind},
			RefreshInterval: sr.Spec.RefreshInterval,
			Target: externalsecret.Target{Name: sr.Name, Template: &externalsecret.Template{
				Type: tpl.Type, Metadata: externalsecret.TemplateMetadata{Labels: tpl.Metadata.Labels, Annotations: tpl.Metadata.Annotations}}},
		},
	}
	for _, d := range sr.Spec.Data {
		ref := externalsecret.RemoteRef{Key: d.RemoteRef.Key, Property: d.RemoteRef.Property, Version: d.RemoteRef.Version}
		es.Spec.Data = append(es.Spec.Data, externalsecret.Data{SecretKey: d.SecretKey, RemoteRef: ref})
	}
	engine.Restore(es, sr.Status.Conditions, sr.Status.LastRefreshTime)
	return es
}

// statusFor returns the status of sr that says what st, the status the
// engine decided, says.
func statusFor(sr *v1alpha1.SecretReference, st externalsecret.ExternalSecretStatus) v1alpha1.SecretReferenceStatus {
	return v1alpha1.SecretReferenceStatus{Conditions: engine.Conditions(st, sr.Generation), LastRefreshTime: st.RefreshTime, SecretName: st.Binding.Name}
}
