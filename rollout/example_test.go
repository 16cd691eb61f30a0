package rollout_test

import (
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/rollout"
)

// An operator that owns a StatefulSet (OpenClaw, say) puts the hash of the
// Secrets its pod template reads on that template, in the reconcile that
// builds it. It watches those Secrets, so their changes run the reconcile
// again: when a value rotates the hash changes and the StatefulSet rolls;
// when nothing the pods read changed, the operator writes the template it
// wrote before and nothing rolls.
func Example() {
	// The Secrets as the operator's cache holds them. ESO, secretsync or a
	// person may have written them: only their data counts.
	secrets := map[string]*corev1.Secret{
		"openclaw-api-keys": {
			ObjectMeta: metav1.ObjectMeta{Name: "openclaw-api-keys", ResourceVersion: "41"},
			Data:       map[string][]byte{"ANTHROPIC_API_KEY": []byte("sk-1"), "UNUSED": []byte("x")},
		},
	}
	get := func(name string) (*corev1.Secret, bool) { s, ok := secrets[name]; return s, ok }

	reconcile := func() (*appsv1.StatefulSet, error) {
		sts := desiredStatefulSet()
		template := &sts.Spec.Template

		refs := rollout.SecretRefs(template)
		found := map[string]*corev1.Secret{}
		for _, ref := range refs {
			if s, ok := get(ref.Name); ok {
				found[ref.Name] = s
			}
		}
		// Rolling onto a Secret that is not there yet would leave pods
		// that cannot start: wait for it, and keep the pods running.
		if err := rollout.Check(refs, found); err != nil {
			return nil, err
		}
		if template.Annotations == nil {
			template.Annotations = map[string]string{}
		}
		template.Annotations[rollout.AnnotationConfigHash] = rollout.Hash(refs, found)
		return sts, nil // the operator creates or updates it
	}

	sts, _ := reconcile()
	for _, ref := range rollout.SecretRefs(&sts.Spec.Template) {
		fmt.Printf("references %s keys %v optional %v\n", ref.Name, ref.Keys, ref.Optional)
	}
	first := sts.Spec.Template.Annotations[rollout.AnnotationConfigHash]
	fmt.Println("config hash:", first)

	// Metadata churn and a key the pods do not read: same hash, no roll.
	secrets["openclaw-api-keys"] = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "openclaw-api-keys", ResourceVersion: "42", Labels: map[string]string{"refreshed": "now"}},
		Data:       map[string][]byte{"ANTHROPIC_API_KEY": []byte("sk-1"), "UNUSED": []byte("y")},
	}
	sts, _ = reconcile()
	fmt.Println("unchanged:", sts.Spec.Template.Annotations[rollout.AnnotationConfigHash] == first)

	// The store rotates the key: a new hash, and the StatefulSet rolls.
	secrets["openclaw-api-keys"] = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "openclaw-api-keys", ResourceVersion: "43"},
		Data:       map[string][]byte{"ANTHROPIC_API_KEY": []byte("sk-2"), "UNUSED": []byte("y")},
	}
	sts, _ = reconcile()
	fmt.Println("rolls:", sts.Spec.Template.Annotations[rollout.AnnotationConfigHash] != first)

	// The Secret is deleted: the reconcile waits rather than roll.
	delete(secrets, "openclaw-api-keys")
	_, err := reconcile()
	fmt.Println("wait:", errors.Is(err, rollout.ErrMissing), err)

	// Output:
	// references openclaw-api-keys keys [ANTHROPIC_API_KEY] optional false
	// config hash: b9f7440ae76f30717f221bcf47ac9eba
	// unchanged: true
	// rolls: true
	// wait: true Secret openclaw-api-keys: missing
}

// desiredStatefulSet is the StatefulSet the operator's reconcile builds.
func desiredStatefulSet() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "openclaw", Namespace: "openclaw"},
		Spec: appsv1.StatefulSetSpec{
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  "openclaw",
						Image: "ghcr.io/openclaw/openclaw:latest",
						Env: []corev1.EnvVar{{
							Name: "ANTHROPIC_API_KEY",
							ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: "openclaw-api-keys"},
								Key:                  "ANTHROPIC_API_KEY",
							}},
						}},
					}},
				},
			},
		},
	}
}
