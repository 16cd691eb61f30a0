package reconcile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

func TestClusterExternalSecret(t *testing.T) {
	ces := &externalsecret.ClusterExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", UID: "ces-uid"},
		Spec: externalsecret.ClusterExternalSecretSpec{
			ExternalSecretSpec: newES().Spec,
			NamespaceSelectors: []*metav1.LabelSelector{
				{MatchLabels: map[string]string{"team": "a"}},
				{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod"}}}},
			},
			Namespaces:             []string{"by-name"},
			ExternalSecretMetadata: externalsecret.ExternalSecretMetadata{Labels: map[string]string{"app": "web"}},
		},
	}
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	terminating := ns("going", map[string]string{"team": "a"})
	terminating.DeletionTimestamp = &metav1.Time{}
	namespaces := []*corev1.Namespace{
		ns("a1", map[string]string{"team": "a"}),
		ns("prod", map[string]string{"env": "prod"}),
		ns("by-name", nil),
		ns("other", map[string]string{"team": "b"}),
		ns("taken", map[string]string{"team": "a"}),
		ns("stale", map[string]string{"team": "a"}),
		terminating,
	}
	owned := func(namespace string) *externalsecret.ExternalSecret {
		return desiredExternalSecret(ces, namespace)
	}
	foreign := &externalsecret.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: "taken"}}
	stale := owned("stale")
	stale.Spec.RefreshInterval = &metav1.Duration{}
	gone := owned("other") // no longer selected

	out, err := ClusterExternalSecret(ClusterInput{ClusterExternalSecret: ces, Namespaces: namespaces, Existing: []*externalsecret.ExternalSecret{foreign, stale, gone, owned("a1")}})
	if err != nil {
		t.Fatal(err)
	}
	names := func(ess []*externalsecret.ExternalSecret) []string {
		var out []string
		for _, es := range ess {
			out = append(out, es.Namespace)
		}
		return out
	}
	if diff := cmp.Diff([]string{"by-name", "prod"}, names(out.Create)); diff != "" {
		t.Errorf("created in (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"stale"}, names(out.Update)); diff != "" {
		t.Errorf("updated in (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"other"}, names(out.Delete)); diff != "" {
		t.Errorf("deleted in (-want +got):\n%s", diff)
	}
	c := out.Create[0]
	if c.Labels["app"] != "web" || c.Labels[LabelClusterExternalSecret] != "shared" || metav1.GetControllerOf(c).UID != "ces-uid" {
		t.Errorf("created ExternalSecret metadata: labels %v, owner %v", c.Labels, metav1.GetControllerOf(c))
	}
	if diff := cmp.Diff([]string{"a1", "by-name", "prod", "stale"}, out.Status.ProvisionedNamespaces); diff != "" {
		t.Errorf("provisioned (-want +got):\n%s", diff)
	}
	if len(out.Status.FailedNamespaces) != 1 || out.Status.FailedNamespaces[0].Namespace != "taken" ||
		!strings.Contains(out.Status.FailedNamespaces[0].Reason, "not controlled by ClusterExternalSecret shared") {
		t.Errorf("failed: %+v", out.Status.FailedNamespaces)
	}
	if cond := out.Status.Conditions[0]; cond.Status != corev1.ConditionFalse || !strings.Contains(cond.Message, "taken") {
		t.Errorf("condition %+v", cond)
	}
	if !out.StatusChanged {
		t.Error("a new status is not reported as changed")
	}

	// Written as decided: nothing more to do, and the status stands.
	done := ces.DeepCopy()
	done.Status = out.Status
	existing := []*externalsecret.ExternalSecret{foreign, out.Update[0], owned("a1"), out.Create[0], out.Create[1]}
	again, err := ClusterExternalSecret(ClusterInput{ClusterExternalSecret: done, Namespaces: namespaces, Existing: existing})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Create)+len(again.Update)+len(again.Delete) != 0 || again.StatusChanged {
		t.Errorf("second pass: create %v update %v delete %v, status changed %v", names(again.Create), names(again.Update), names(again.Delete), again.StatusChanged)
	}

	// A failed write moves its namespace to failed.
	st := ClusterFailed(done, out.Status, map[string]error{"prod": errFake("forbidden")})
	if slices := st.ProvisionedNamespaces; strings.Join(slices, ",") != "a1,by-name,stale" || len(st.FailedNamespaces) != 2 {
		t.Errorf("after a failed write: provisioned %v, failed %+v", st.ProvisionedNamespaces, st.FailedNamespaces)
	}

	bad := ces.DeepCopy()
	bad.Spec.NamespaceSelectors = []*metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}}
	if _, err := ClusterExternalSecret(ClusterInput{ClusterExternalSecret: bad, Namespaces: namespaces}); err == nil {
		t.Error("an invalid selector gave no error")
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }
