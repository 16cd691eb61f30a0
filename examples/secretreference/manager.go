package main

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/secretsync/secretsync"
	"github.com/secretsync/secretsync/examples/secretreference/api/v1alpha1"
	"github.com/secretsync/secretsync/reconcile"
	rollout "github.com/secretsync/secretsync/rollout/controller"
)

// schemeBuilder registers the built-in kinds, the SecretReference and the
// external-secrets.io kinds.
var schemeBuilder = runtime.NewSchemeBuilder(clientgoscheme.AddToScheme, secretsync.AddToScheme, v1alpha1.AddToScheme)

// newManager returns a manager whose cache holds only the Secrets the
// engine writes, not every Secret in the cluster.
func newManager(cfg *rest.Config, opts ctrl.Options) (ctrl.Manager, error) {
	opts.Scheme = runtime.NewScheme()
	if err := schemeBuilder.AddToScheme(opts.Scheme); err != nil {
		return nil, err
	}
	opts.Cache.ByObject = map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{reconcile.LabelManaged: "true"})},
	}
	return ctrl.NewManager(cfg, opts)
}

// addRollout adds to mgr the rollout controller, which restarts the
// Deployments, StatefulSets and DaemonSets that opt in when the data they
// read from Secrets changes: the OpenClaw pattern.
func addRollout(mgr ctrl.Manager) error {
	kube, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	return mgr.Add(manager.RunnableFunc(rollout.New(rollout.Config{Kube: kube, Metadata: meta, Registerer: metrics.Registry}).Run))
}
