package engine

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/reconcile"
)

// SyncClusterExternalSecret writes the ExternalSecrets of ces as
// reconcile.ClusterExternalSecret decides, through Config.CRD, and its
// status when that changed. namespaces are all the namespaces of the
// cluster; existing are the ExternalSecrets named as ces's in any
// namespace and those labelled reconcile.LabelClusterExternalSecret with
// its name, typically from an informer's index.
//
// A namespace whose write fails is named in the status's failedNamespaces
// and the error, joined for all of them, is returned for the host to retry.
func (e *Engine) SyncClusterExternalSecret(ctx context.Context, ces *externalsecret.ClusterExternalSecret, namespaces []*corev1.Namespace, existing []*externalsecret.ExternalSecret) (externalsecret.ClusterExternalSecretStatus, error) {
	if e.cfg.CRD == nil {
		return ces.Status, errors.New("engine.Config.CRD is nil: the engine cannot write ExternalSecrets")
	}
	out, err := reconcile.ClusterExternalSecret(reconcile.ClusterInput{ClusterExternalSecret: ces, Namespaces: namespaces, Existing: existing})
	if err != nil {
		return ces.Status, err
	}
	failed := map[string]error{}
	write := func(verb string, es *externalsecret.ExternalSecret, do func() error) {
		err := do()
		if verb == "delete" && apierrors.IsNotFound(err) {
			return
		}
		if err != nil {
			failed[es.Namespace] = fmt.Errorf("%s ExternalSecret %s/%s: %w", verb, es.Namespace, es.Name, err)
		}
	}
	for _, es := range out.Create {
		write("create", es, func() error { return e.cfg.CRD.Create(ctx, es, e.cfg.FieldManager) })
	}
	for _, es := range out.Update {
		write("update", es, func() error { return e.cfg.CRD.Update(ctx, es, e.cfg.FieldManager) })
	}
	for _, es := range out.Delete {
		write("delete", es, func() error { return e.cfg.CRD.Delete(ctx, es) })
	}
	status := out.Status
	var errs []error
	if len(failed) > 0 {
		status = reconcile.ClusterFailed(ces, status, failed)
		for _, err := range failed {
			errs = append(errs, err)
		}
	}
	if !apiequality.Semantic.DeepEqual(ces.Status, status) {
		updated := ces.DeepCopy()
		updated.Status = status
		if err := e.cfg.CRD.UpdateStatus(ctx, updated, e.cfg.FieldManager); err != nil {
			errs = append(errs, fmt.Errorf("update status of ClusterExternalSecret %s: %w", ces.Name, err))
		}
	}
	return status, errors.Join(errs...)
}
