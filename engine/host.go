package engine

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

// A host that syncs a resource of its own keeps, on that resource's
// status, what the engine needs to know on the next sync: whether this
// generation was synced, and when. [Conditions] gives what to keep, in
// the metav1.Condition form most resources use, and [Restore] gives it
// back. Without it every reconcile reads the stores, and every refresh
// rewrites the status.

// Conditions returns the Ready condition of st as a metav1.Condition
// observed at generation, for the status of a host's own resource. It is
// empty when st has no Ready condition.
func Conditions(st externalsecret.ExternalSecretStatus, generation int64) []metav1.Condition {
	c := st.ReadyCondition()
	if c == nil {
		return nil
	}
	return []metav1.Condition{{
		Type:               string(c.Type),
		Status:             metav1.ConditionStatus(c.Status),
		ObservedGeneration: generation,
		Reason:             c.Reason,
		Message:            c.Message,
		LastTransitionTime: c.LastTransitionTime,
	}}
}

// Restore sets the status of es, built in memory from a host's resource
// with that resource's generation, from the conditions (see [Conditions])
// and refresh time the host kept. A True Ready condition observed at
// es's generation marks that generation synced.
func Restore(es *externalsecret.ExternalSecret, conditions []metav1.Condition, refreshTime metav1.Time) {
	es.Status = externalsecret.ExternalSecretStatus{RefreshTime: refreshTime}
	for _, c := range conditions {
		if c.Type != string(externalsecret.ConditionReady) {
			continue
		}
		es.Status.Conditions = []externalsecret.Condition{{
			Type:               externalsecret.ConditionReady,
			Status:             corev1.ConditionStatus(c.Status),
			Reason:             c.Reason,
			Message:            c.Message,
			LastTransitionTime: c.LastTransitionTime,
		}}
		if c.Status == metav1.ConditionTrue && c.ObservedGeneration == es.Generation {
			es.Status.SyncedResourceVersion = es.SyncVersion()
		}
		if es.CreationPolicy() != externalsecret.CreatePolicyNone {
			es.Status.Binding.Name = es.TargetName()
		}
	}
}
