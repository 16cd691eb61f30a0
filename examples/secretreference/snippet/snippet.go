// Package snippet holds the controller-runtime reconciler the top-level
// README quotes: an operator that syncs the ExternalSecrets in the cluster
// with the secretsync engine. It is compiled, and tested, with the example
// module, so the quote cannot go stale.
package snippet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
)

// ExternalSecretReconciler syncs the ExternalSecrets in the cluster. Its
// Engine needs Config.CRD, to write their status.
type ExternalSecretReconciler struct {
	client.Client
	Engine *engine.Engine
}

func (r *ExternalSecretReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	es := &externalsecret.ExternalSecret{}
	if err := r.Get(ctx, req.NamespacedName, es); apierrors.IsNotFound(err) {
		r.Engine.Forget(req.NamespacedName)
		return ctrl.Result{}, nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	res, err := r.Engine.Sync(ctx, engine.Request{ExternalSecret: es})
	if res.StatusChanged {
		if serr := r.Engine.UpdateStatus(ctx, es, res.Status); serr != nil {
			return ctrl.Result{}, serr
		}
	}
	return ctrl.Result{RequeueAfter: res.RequeueAfter}, err
}

// SetupWithManager watches ExternalSecrets, and the Secrets they own so
// that a deleted or edited Secret is restored. The manager's scheme must
// have the external-secrets.io kinds: secretsync.AddToScheme.
func (r *ExternalSecretReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&externalsecret.ExternalSecret{}).Owns(&corev1.Secret{}).Complete(r)
}
