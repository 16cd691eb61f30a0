// Package kubeapply creates or updates the objects of multi-document YAML
// manifests with a dynamic client, the way `kubectl apply` would for the
// simple cases tests and the demo need, and waits for CRDs to be served.
package kubeapply

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Applier applies manifests to one cluster.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper

	// FieldValidation is sent with every create and update: "Strict"
	// refuses unknown and duplicate fields, as `kubectl apply` does by
	// default; empty leaves the apiserver's default, which drops unknown
	// fields with a warning.
	FieldValidation string
	// Namespace is where namespaced objects that name none are applied;
	// empty means "default".
	Namespace string
}

// StrictFieldValidation is the FieldValidation `kubectl apply` uses.
const StrictFieldValidation = metav1.FieldValidationStrict

// New returns an Applier for cfg.
func New(cfg *rest.Config) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// Decode splits multi-document YAML into objects, skipping empty documents.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		obj := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, err
		}
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
}

// ApplyFiles applies every file matching the glob patterns, except
// kustomization.yaml files.
func (a *Applier) ApplyFiles(ctx context.Context, patterns ...string) error {
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("no file matches %s", p)
		}
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := a.Apply(ctx, data); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}
	return nil
}

// Apply creates each object of the manifests, or updates it if it exists.
// Objects of a CRD applied earlier in the same call are retried until the
// CRD is served.
func (a *Applier) Apply(ctx context.Context, data []byte) error {
	objs, err := Decode(data)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if obj.GetAPIVersion() == "" || obj.GetKind() == "" {
			return fmt.Errorf("a document has no apiVersion or kind")
		}
		if err := a.applyOne(ctx, obj); err != nil {
			return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

func (a *Applier) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = a.Namespace
		}
		if ns == "" {
			ns = "default"
		}
		return a.dyn.Resource(mapping.Resource).Namespace(ns), nil
	}
	return a.dyn.Resource(mapping.Resource), nil
}

func (a *Applier) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		res, err := a.resource(obj)
		if meta.IsNoMatchError(err) {
			a.mapper.Reset()
			lastErr = err
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, err = res.Create(ctx, obj, metav1.CreateOptions{FieldValidation: a.FieldValidation})
		if apierrors.IsAlreadyExists(err) {
			var cur *unstructured.Unstructured
			if cur, err = res.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
				return false, err
			}
			obj = obj.DeepCopy()
			obj.SetResourceVersion(cur.GetResourceVersion())
			_, err = res.Update(ctx, obj, metav1.UpdateOptions{FieldValidation: a.FieldValidation})
			if apierrors.IsConflict(err) {
				lastErr = err
				return false, nil
			}
		}
		if apierrors.IsNotFound(err) || apierrors.IsTooManyRequests(err) {
			// A CRD just created may not be served yet.
			lastErr = err
			return false, nil
		}
		return err == nil, err
	})
	if err != nil && lastErr != nil && !errors.Is(err, lastErr) {
		return fmt.Errorf("%w (last: %v)", err, lastErr)
	}
	return err
}

// WaitForCRDs waits until the resources of groupVersion are served.
func (a *Applier) WaitForCRDs(ctx context.Context, gv schema.GroupVersion, resources ...string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, r := range resources {
			if _, err := a.dyn.Resource(gv.WithResource(r)).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
}
