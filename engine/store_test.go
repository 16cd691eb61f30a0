package engine

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// A store is validated again after spec.refreshInterval, in either of
// ESO's forms, and reports the fake store's validationResult as ESO does.
func TestSyncStore(t *testing.T) {
	type ready struct {
		Status  corev1.ConditionStatus
		Reason  string
		Message string
	}
	result := func(v secretstore.ValidationResult) *secretstore.ValidationResult { return &v }
	tests := map[string]struct {
		refresh     *intstr.IntOrString
		validation  *secretstore.ValidationResult
		wantRequeue time.Duration
		want        ready
	}{
		"the default interval": {wantRequeue: DefaultStoreRefresh,
			want: ready{corev1.ConditionTrue, secretstore.ReasonValid, "store validated"}},
		"seconds": {refresh: ptr(intstr.FromInt32(300)), wantRequeue: 5 * time.Minute,
			want: ready{corev1.ConditionTrue, secretstore.ReasonValid, "store validated"}},
		"a duration": {refresh: ptr(intstr.FromString("1h")), wantRequeue: time.Hour,
			want: ready{corev1.ConditionTrue, secretstore.ReasonValid, "store validated"}},
		"an interval that is neither": {refresh: ptr(intstr.FromString("hourly")), wantRequeue: DefaultStoreRefresh,
			want: ready{corev1.ConditionFalse, secretstore.ReasonInvalidProviderConfig,
				`invalid store configuration: spec.refreshInterval "hourly" is neither a number of seconds nor a duration such as 1h`}},
		"validationResult Unknown": {validation: result(secretstore.ValidationResultUnknown), wantRequeue: DefaultStoreRefresh,
			want: ready{corev1.ConditionTrue, secretstore.ReasonValid,
				"store validated: SecretStore/app/s: spec.provider.fake.validationResult is Unknown: validation result Unknown"}},
		"validationResult Error": {validation: result(secretstore.ValidationResultError), wantRequeue: DefaultStoreRefresh,
			want: ready{corev1.ConditionFalse, secretstore.ReasonValidationFailed,
				"could not validate store: SecretStore/app/s: spec.provider.fake.validationResult is Error"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			store := testStore("s")
			store.Spec.RefreshInterval = tc.refresh
			store.Spec.Provider.Fake.ValidationResult = tc.validation
			reg, err := provider.NewRegistry(fake.New())
			if err != nil {
				t.Fatal(err)
			}
			eng, err := New(Config{Kube: kubefake.NewSimpleClientset(), Registry: reg, Stores: storesOf(store)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.SyncStore(context.Background(), store)
			if err != nil {
				t.Fatal(err)
			}
			if res.RequeueAfter != tc.wantRequeue {
				t.Errorf("RequeueAfter %v, want %v", res.RequeueAfter, tc.wantRequeue)
			}
			c := res.Status.ReadyCondition()
			if c == nil {
				t.Fatal("no Ready condition")
			}
			if diff := cmp.Diff(tc.want, ready{c.Status, c.Reason, c.Message}); diff != "" {
				t.Errorf("Ready (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
