package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

func TestStripForStatusWrites(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		want        map[string]string
	}{
		"kubectl's copy of the object is dropped": {
			annotations: map[string]string{corev1.LastAppliedConfigAnnotation: `{"spec":{}}`, "team": "a"},
			want:        map[string]string{"team": "a"},
		},
		"other annotations are kept": {
			annotations: map[string]string{"team": "a"},
			want:        map[string]string{"team": "a"},
		},
		"no annotations stay none": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			es := &externalsecret.ExternalSecret{ObjectMeta: metav1.ObjectMeta{
				Annotations:   tc.annotations,
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			}}
			before := es.SyncVersion()
			orig := map[string]string{}
			for k, v := range tc.annotations {
				orig[k] = v
			}
			got, err := StripForStatusWrites(es)
			if err != nil {
				t.Fatal(err)
			}
			out := got.(*externalsecret.ExternalSecret)
			if diff := cmp.Diff(tc.want, out.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if out.ManagedFields != nil {
				t.Errorf("managedFields kept: %v", out.ManagedFields)
			}
			if out.SyncVersion() != before {
				t.Errorf("SyncVersion changed from %s to %s: every ExternalSecret would look unsynced", before, out.SyncVersion())
			}
			if len(tc.annotations) > 0 && cmp.Diff(orig, tc.annotations) != "" {
				t.Errorf("the caller's annotation map was modified")
			}
		})
	}
}
