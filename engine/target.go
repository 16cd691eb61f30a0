package engine

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/reconcile"
)

// ErrGenericTargetsOff is wrapped by the sync error of an ExternalSecret
// with a manifest target when Config.AllowGenericTargets is false.
var ErrGenericTargetsOff = errors.New("targets other than Secrets are off")

// A manifest target (spec.target.manifest) is written through
// Config.Dynamic, to the resource Config.Mapper maps its kind to. It is
// read live from the API at each sync, not from a cache: such targets are
// expected to be few. Config.OnTarget lets the host watch them, so an
// edit by hand is undone at once.

func newMapper(cfg Config) meta.RESTMapper {
	if cfg.Mapper != nil || cfg.Kube == nil {
		return cfg.Mapper
	}
	// Discovery is read once and again only for a kind it did not know,
	// as for a CRD installed after the engine started.
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cfg.Kube.Discovery()))
}

// targetResource is the resource of es's manifest target, or why es may
// not write it.
func (e *Engine) targetResource(es *externalsecret.ExternalSecret) (schema.GroupVersionResource, error) {
	m := es.Spec.Target.Manifest
	if !e.cfg.AllowGenericTargets {
		return schema.GroupVersionResource{}, fmt.Errorf("target.manifest names a %s: %w; the controller allows them with --unsafe-allow-generic-targets (engine.Config.AllowGenericTargets)", m.Kind, ErrGenericTargetsOff)
	}
	gv, err := schema.ParseGroupVersion(m.APIVersion)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("target.manifest.apiVersion %q: %w", m.APIVersion, err)
	}
	if e.mapper == nil {
		// Plan without a cluster, as render does: the kind cannot be
		// checked, and nothing is written.
		return gv.WithResource(""), nil
	}
	mapping, err := e.mapper.RESTMapping(gv.WithKind(m.Kind).GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("target.manifest %s %s: %w", m.APIVersion, m.Kind, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return schema.GroupVersionResource{}, fmt.Errorf("target.manifest %s %s is cluster-scoped; a target must be in the ExternalSecret's namespace", m.APIVersion, m.Kind)
	}
	if e.cfg.OnTarget != nil {
		e.cfg.OnTarget(mapping.Resource)
	}
	return mapping.Resource, nil
}

// existingObject reads es's manifest target from the API; nil when it
// does not exist, or when there is no API to read, as for Plan.
func (e *Engine) existingObject(ctx context.Context, gvr schema.GroupVersionResource, es *externalsecret.ExternalSecret) (*unstructured.Unstructured, error) {
	if e.cfg.Dynamic == nil || gvr.Resource == "" {
		return nil, nil
	}
	obj, err := e.cfg.Dynamic.Resource(gvr).Namespace(es.Namespace).Get(ctx, es.TargetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", es.Spec.Target.Manifest.Kind, es.Namespace, es.TargetName(), err)
	}
	return obj, nil
}

// objectWriter writes es's manifest target.
func (e *Engine) objectWriter(es *externalsecret.ExternalSecret) (writer, error) {
	if e.cfg.Dynamic == nil {
		return nil, errors.New("engine.Config.Dynamic is nil: the engine cannot write a manifest target")
	}
	gvr, err := e.targetResource(es)
	if err != nil {
		return nil, err
	}
	return objectWriter{e: e, es: es, gvr: gvr}, nil
}

// objectWriter writes a manifest target.
type objectWriter struct {
	e   *Engine
	es  *externalsecret.ExternalSecret
	gvr schema.GroupVersionResource
}

func (w objectWriter) kind() string { return w.es.Spec.Target.Manifest.Kind }

func (w objectWriter) write(ctx context.Context, action reconcile.Action, _ reconcile.Input, out reconcile.Output) (string, error) {
	client := w.e.cfg.Dynamic.Resource(w.gvr).Namespace(w.es.Namespace)
	var (
		written *unstructured.Unstructured
		err     error
	)
	switch action {
	case reconcile.ActionCreate:
		written, err = client.Create(ctx, out.Object, metav1.CreateOptions{FieldManager: w.e.cfg.FieldManager})
	case reconcile.ActionUpdate:
		written, err = client.Update(ctx, out.Object, metav1.UpdateOptions{FieldManager: w.e.cfg.FieldManager})
	case reconcile.ActionDelete:
		uid := out.Object.GetUID()
		return "", client.Delete(ctx, out.Object.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	}
	if err != nil {
		return "", err
	}
	return written.GetResourceVersion(), nil
}

func (w objectWriter) reread(ctx context.Context, in *reconcile.Input) error {
	fresh, err := w.e.existingObject(ctx, w.gvr, w.es)
	in.ExistingObject = fresh
	return err
}
