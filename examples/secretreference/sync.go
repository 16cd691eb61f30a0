package main

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/examples/secretreference/api/v1alpha1"
	"github.com/secretsync/secretsync/provider"
)

// setup adds to mgr the SecretReference controller, which syncs through an
// engine. The caller closes the engine on shutdown. This file and
// convert.go are all the code that connects the operator to secretsync.
func setup(mgr ctrl.Manager, registry *provider.Registry) (*engine.Engine, error) {
	kube, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	c := mgr.GetClient()
	get := engine.GetFunc(func(ctx context.Context, namespace, name string, obj engine.Object) error {
		return c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
	})
	eng, err := engine.New(engine.Config{
		// Config.Objects is left nil: store credentials are read live
		// through Kube, as the manager caches only the managed Secrets.
		Kube:     kube,
		Registry: registry,
		Recorder: mgr.GetEventRecorderFor("secretsync"),
		Stores:   get,
		Secrets:  get,
	})
	if err != nil {
		return nil, err
	}
	return eng, ctrl.NewControllerManagedBy(mgr).
		// Status writes bring no event back: the engine decided them.
		For(&v1alpha1.SecretReference{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.Secret{}).
		WithOptions(controller.Options{RateLimiter: engine.NewRetryLimiter[ctrl.Request](time.Second, 5*time.Minute)}).
		Complete(&reconciler{client: c, engine: eng})
}

// reconciler syncs a SecretReference through an ExternalSecret built in
// memory; no ExternalSecret exists in the cluster.
type reconciler struct {
	client client.Client
	engine *engine.Engine
}

func (r *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sr := &v1alpha1.SecretReference{}
	if err := r.client.Get(ctx, req.NamespacedName, sr); err != nil {
		if apierrors.IsNotFound(err) {
			r.engine.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	es := externalSecretFor(sr)
	owner := metav1.NewControllerRef(sr, v1alpha1.GroupVersion.WithKind("SecretReference"))
	res, err := r.engine.Sync(ctx, engine.Request{ExternalSecret: es, Owner: owner, EventObject: sr})
	if status := statusFor(sr, res.Status); res.StatusChanged && !equality.Semantic.DeepEqual(status, sr.Status) {
		patch := client.MergeFrom(sr.DeepCopy())
		sr.Status = status
		if perr := r.client.Status().Patch(ctx, sr, patch); perr != nil {
			return ctrl.Result{}, perr
		}
	}
	return ctrl.Result{RequeueAfter: res.RequeueAfter}, err
}
