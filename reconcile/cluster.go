package reconcile

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/externalsecret"
)

// LabelClusterExternalSecret marks the ExternalSecrets a
// ClusterExternalSecret created with its name, so a host can find them
// with a label selector.
const LabelClusterExternalSecret = "secretsync.io/cluster-external-secret"

// ClusterInput is everything [ClusterExternalSecret] needs.
type ClusterInput struct {
	// ClusterExternalSecret to reconcile.
	ClusterExternalSecret *externalsecret.ClusterExternalSecret
	// Namespaces are all the namespaces of the cluster.
	Namespaces []*corev1.Namespace
	// Existing are the ExternalSecrets named as the ClusterExternalSecret's
	// in any namespace, and those labelled with its name: what it may
	// have to update, adopt or delete.
	Existing []*externalsecret.ExternalSecret
}

// ClusterOutput is what [ClusterExternalSecret] decided.
type ClusterOutput struct {
	// Create, Update and Delete are the ExternalSecrets to write. Update
	// holds the existing object with the new spec and metadata.
	Create, Update, Delete []*externalsecret.ExternalSecret
	// Status is the new status, to write when StatusChanged. It counts
	// the writes above as done; a failed write goes in FailedNamespaces of
	// the next status, which the host builds with [ClusterFailed].
	Status        externalsecret.ClusterExternalSecretStatus
	StatusChanged bool
}

// ClusterExternalSecret decides which ExternalSecrets a
// ClusterExternalSecret creates, updates and deletes: one in each namespace
// its selectors or names choose (a namespace being deleted is not
// chosen), none elsewhere. It touches only ExternalSecrets it controls
// (an owner reference with controller true): one of the same name that
// it does not control fails that namespace, and is left alone.
//
// It is pure: it does no I/O and never modifies its input.
func ClusterExternalSecret(in ClusterInput) (ClusterOutput, error) {
	ces := in.ClusterExternalSecret
	selectors, err := namespaceSelectors(ces)
	if err != nil {
		return ClusterOutput{}, err
	}
	name := ces.ExternalSecretName()
	byNamespace := map[string]*externalsecret.ExternalSecret{}
	var out ClusterOutput
	for _, es := range in.Existing {
		owned := controlledBy(es, ces)
		if es.Name == name && (owned || byNamespace[es.Namespace] == nil) {
			byNamespace[es.Namespace] = es
		}
		if owned && es.Name != name {
			// externalSecretName changed: the old ExternalSecrets go.
			out.Delete = append(out.Delete, es)
		}
	}

	var failed []externalsecret.ClusterExternalSecretNamespaceFailure
	var provisioned []string
	chosen := map[string]bool{}
	for _, ns := range in.Namespaces {
		if ns.DeletionTimestamp != nil || !selects(ces, selectors, ns) {
			continue
		}
		chosen[ns.Name] = true
		desired := desiredExternalSecret(ces, ns.Name)
		existing := byNamespace[ns.Name]
		switch {
		case existing == nil:
			out.Create = append(out.Create, desired)
		case !controlledBy(existing, ces):
			failed = append(failed, externalsecret.ClusterExternalSecretNamespaceFailure{
				Namespace: ns.Name,
				Reason:    fmt.Sprintf("ExternalSecret %s exists and is not controlled by ClusterExternalSecret %s; it is left alone", name, ces.Name),
			})
			continue
		default:
			if updated, changed := updateExternalSecret(existing, desired); changed {
				out.Update = append(out.Update, updated)
			}
		}
		provisioned = append(provisioned, ns.Name)
	}
	for ns, es := range byNamespace {
		if !chosen[ns] && controlledBy(es, ces) {
			out.Delete = append(out.Delete, es)
		}
	}
	sortByNamespace(out.Create)
	sortByNamespace(out.Update)
	sortByNamespace(out.Delete)

	out.Status = clusterStatus(ces, provisioned, failed)
	out.StatusChanged = !apiequality.Semantic.DeepEqual(ces.Status, out.Status)
	return out, nil
}

// ClusterFailed returns status with the namespaces of writes that failed
// moved from provisioned to failed.
func ClusterFailed(ces *externalsecret.ClusterExternalSecret, status externalsecret.ClusterExternalSecretStatus, writeErrs map[string]error) externalsecret.ClusterExternalSecretStatus {
	var provisioned []string
	for _, ns := range status.ProvisionedNamespaces {
		if writeErrs[ns] == nil {
			provisioned = append(provisioned, ns)
		}
	}
	failed := slices.Clone(status.FailedNamespaces)
	for ns, err := range writeErrs {
		failed = append(failed, externalsecret.ClusterExternalSecretNamespaceFailure{Namespace: ns, Reason: err.Error()})
	}
	return clusterStatus(ces, provisioned, failed)
}

func clusterStatus(ces *externalsecret.ClusterExternalSecret, provisioned []string, failed []externalsecret.ClusterExternalSecretNamespaceFailure) externalsecret.ClusterExternalSecretStatus {
	slices.Sort(provisioned)
	slices.SortFunc(failed, func(a, b externalsecret.ClusterExternalSecretNamespaceFailure) int {
		return strings.Compare(a.Namespace, b.Namespace)
	})
	st := externalsecret.ClusterExternalSecretStatus{
		ExternalSecretName:    ces.ExternalSecretName(),
		ProvisionedNamespaces: provisioned,
		FailedNamespaces:      failed,
	}
	cond := externalsecret.ClusterExternalSecretStatusCondition{Type: externalsecret.ClusterExternalSecretReady, Status: corev1.ConditionTrue}
	if len(failed) > 0 {
		names := make([]string, len(failed))
		for i, f := range failed {
			names[i] = f.Namespace
		}
		cond.Status = corev1.ConditionFalse
		cond.Message = "the ExternalSecret could not be written in namespaces " + strings.Join(names, ", ")
	}
	st.Conditions = []externalsecret.ClusterExternalSecretStatusCondition{cond}
	return st
}

func namespaceSelectors(ces *externalsecret.ClusterExternalSecret) ([]labels.Selector, error) {
	all := ces.Spec.NamespaceSelectors
	if ces.Spec.NamespaceSelector != nil {
		all = append([]*metav1.LabelSelector{ces.Spec.NamespaceSelector}, all...)
	}
	var out []labels.Selector
	for i, ls := range all {
		if ls == nil {
			continue
		}
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return nil, fmt.Errorf("ClusterExternalSecret %s: namespace selector %d: %w", ces.Name, i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// selects reports whether ns is chosen by one of the selectors or by name.
// An empty selector ({}) chooses every namespace, as in Kubernetes.
func selects(ces *externalsecret.ClusterExternalSecret, selectors []labels.Selector, ns *corev1.Namespace) bool {
	if slices.Contains(ces.Spec.Namespaces, ns.Name) {
		return true
	}
	for _, s := range selectors {
		if s.Matches(labels.Set(ns.Labels)) {
			return true
		}
	}
	return false
}

func desiredExternalSecret(ces *externalsecret.ClusterExternalSecret, namespace string) *externalsecret.ExternalSecret {
	es := &externalsecret.ExternalSecret{
		TypeMeta: metav1.TypeMeta{APIVersion: externalsecret.SchemeGroupVersion.String(), Kind: externalsecret.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ces.ExternalSecretName(),
			Namespace:   namespace,
			Labels:      mergeMaps(ces.Spec.ExternalSecretMetadata.Labels, map[string]string{LabelClusterExternalSecret: ces.Name}),
			Annotations: mergeMaps(ces.Spec.ExternalSecretMetadata.Annotations),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         externalsecret.SchemeGroupVersion.String(),
				Kind:               externalsecret.KindClusterExternalSecret,
				Name:               ces.Name,
				UID:                ces.UID,
				Controller:         ptrTo(true),
				BlockOwnerDeletion: ptrTo(true),
			}},
		},
		Spec: *ces.Spec.ExternalSecretSpec.DeepCopy(),
	}
	return es
}

// updateExternalSecret returns existing with desired's spec, labels and
// annotations, and whether that changed it. Labels and annotations others
// added are kept.
func updateExternalSecret(existing, desired *externalsecret.ExternalSecret) (*externalsecret.ExternalSecret, bool) {
	es := existing.DeepCopy()
	es.Spec = desired.Spec
	es.Labels = mergeMaps(es.Labels, desired.Labels)
	es.Annotations = mergeMaps(es.Annotations, desired.Annotations)
	return es, !apiequality.Semantic.DeepEqual(existing.Spec, es.Spec) ||
		!apiequality.Semantic.DeepEqual(existing.Labels, es.Labels) ||
		!apiequality.Semantic.DeepEqual(existing.Annotations, es.Annotations)
}

func controlledBy(es *externalsecret.ExternalSecret, ces *externalsecret.ClusterExternalSecret) bool {
	owner := metav1.GetControllerOf(es)
	return owner != nil && owner.Kind == externalsecret.KindClusterExternalSecret && owner.UID == ces.UID
}

func sortByNamespace(ess []*externalsecret.ExternalSecret) {
	slices.SortFunc(ess, func(a, b *externalsecret.ExternalSecret) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
}
