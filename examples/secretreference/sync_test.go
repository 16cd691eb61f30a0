package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/examples/secretreference/api/v1alpha1"
	"github.com/secretsync/secretsync/externalsecret"
)

// The ExternalSecret built from a SecretReference carries its spec, and
// the status the SecretReference records, so the engine can tell what it
// synced already; the status maps back unchanged.
func TestExternalSecretFor(t *testing.T) {
	synced := metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	ready := func(status metav1.ConditionStatus, generation int64) []metav1.Condition {
		return []metav1.Condition{{Type: "Ready", Status: status, ObservedGeneration: generation,
			Reason: "SecretSynced", Message: "Secret was synced", LastTransitionTime: synced}}
	}
	tests := map[string]struct {
		status       v1alpha1.SecretReferenceStatus
		wantSynced   bool
		wantStatus   corev1.ConditionStatus
		noConditions bool
	}{
		"never synced": {
			noConditions: true,
		},
		"synced this generation": {
			status:     v1alpha1.SecretReferenceStatus{Conditions: ready(metav1.ConditionTrue, 3), LastRefreshTime: synced, SecretName: "db"},
			wantSynced: true,
			wantStatus: corev1.ConditionTrue,
		},
		"synced an older generation": {
			status:     v1alpha1.SecretReferenceStatus{Conditions: ready(metav1.ConditionTrue, 2), LastRefreshTime: synced, SecretName: "db"},
			wantStatus: corev1.ConditionTrue,
		},
		"failed this generation": {
			status:     v1alpha1.SecretReferenceStatus{Conditions: ready(metav1.ConditionFalse, 3), LastRefreshTime: synced, SecretName: "db"},
			wantStatus: corev1.ConditionFalse,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sr := &v1alpha1.SecretReference{
				ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db", UID: "uid", Generation: 3},
				Spec: v1alpha1.SecretReferenceSpec{
					Template: v1alpha1.SecretTemplate{Type: corev1.SecretTypeBasicAuth, Metadata: v1alpha1.SecretMetadata{
						Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"team": "payments"}}},
					Data: []v1alpha1.SecretDataSource{
						{SecretKey: "username", RemoteRef: v1alpha1.RemoteReference{Key: "app/db", Property: "user", Version: "2"}},
					},
					RefreshInterval: &metav1.Duration{Duration: time.Minute},
					SecretStoreRef:  v1alpha1.StoreRef{Name: "vault", Kind: "ClusterSecretStore"},
				},
				Status: tc.status,
			}
			es := externalSecretFor(sr)

			wantSpec := externalsecret.ExternalSecretSpec{
				SecretStoreRef:  externalsecret.SecretStoreRef{Name: "vault", Kind: "ClusterSecretStore"},
				RefreshInterval: &metav1.Duration{Duration: time.Minute},
				Target: externalsecret.Target{Name: "db", Template: &externalsecret.Template{Type: corev1.SecretTypeBasicAuth,
					Metadata: externalsecret.TemplateMetadata{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"team": "payments"}}}},
				Data: []externalsecret.Data{{SecretKey: "username", RemoteRef: externalsecret.RemoteRef{Key: "app/db", Property: "user", Version: "2"}}},
			}
			if diff := cmp.Diff(wantSpec, es.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if es.Namespace != "app" || es.Name != "db" || es.UID != "uid" || es.Generation != 3 {
				t.Errorf("metadata: got %+v", es.ObjectMeta)
			}
			if got := es.Status.SyncedResourceVersion == es.SyncVersion(); got != tc.wantSynced {
				t.Errorf("synced: got %v, want %v", got, tc.wantSynced)
			}
			c := es.Status.ReadyCondition()
			if tc.noConditions {
				if c != nil {
					t.Errorf("Ready condition: got %+v, want none", c)
				}
				return
			}
			if c == nil || c.Status != tc.wantStatus || !c.LastTransitionTime.Equal(&synced) {
				t.Errorf("Ready condition: got %+v, want status %s since %v", c, tc.wantStatus, synced)
			}
			// The status the engine was given maps back to the same one,
			// stamped with the generation it was decided for: a sync that
			// changed nothing writes nothing.
			es.Status.Binding.Name = "db"
			want := tc.status.DeepCopy()
			want.Conditions[0].ObservedGeneration = sr.Generation
			if diff := cmp.Diff(*want, statusFor(sr, es.Status)); diff != "" {
				t.Errorf("status round trip (-want +got):\n%s", diff)
			}
		})
	}
}
