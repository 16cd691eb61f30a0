package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/secretsync/secretsync"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// Scheme knows the built-in kinds and the external-secrets.io kinds, for
// REST clients and event recorders.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, secretsync.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // only on a programming error in the type registrations
		}
	}
	return s
}()

// Resource names of the external-secrets.io kinds.
const (
	ResourceExternalSecrets     = "externalsecrets"
	ResourceSecretStores        = "secretstores"
	ResourceClusterSecretStores = "clustersecretstores"
	// ResourceClusterExternalSecrets are cluster-scoped.
	ResourceClusterExternalSecrets = "clusterexternalsecrets"
	// ResourcePushSecrets are served at v1alpha1.
	ResourcePushSecrets = "pushsecrets"
)

// CRDClient reads and writes the external-secrets.io resources. The
// resources are few and simple, so a REST client over the scheme serves
// where a generated clientset would add thousands of lines. It is a
// [StoreGetter] that reads the API on every call.
type CRDClient struct {
	rest rest.Interface
	// alpha serves the kinds served at v1alpha1 only: PushSecret.
	alpha rest.Interface
	// generators serves generators.external-secrets.io.
	generators rest.Interface
}

// NewCRDClient returns a CRDClient for the cluster cfg points at.
func NewCRDClient(cfg *rest.Config) (*CRDClient, error) {
	v1, err := restClientFor(cfg, externalsecret.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	alpha, err := restClientFor(cfg, pushsecret.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	gens, err := restClientFor(cfg, generators.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	return &CRDClient{rest: v1, alpha: alpha, generators: gens}, nil
}

func restClientFor(cfg *rest.Config, gv schema.GroupVersion) (rest.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(Scheme).WithoutConversion()
	c.ContentType, c.AcceptContentTypes = "application/json", "application/json"
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("build client for %s: %w", gv, err)
	}
	return rc, nil
}

// client returns the REST client of resource's version.
func (c *CRDClient) client(resource string) rest.Interface {
	if resource == ResourcePushSecrets {
		return c.alpha
	}
	return c.rest
}

// ListWatch lists and watches one resource in namespace ("" for all), for
// an informer.
func (c *CRDClient) ListWatch(resource, namespace string, newList func() runtime.Object) *cache.ListWatch {
	return &cache.ListWatch{
		ListFunc: func(opts metav1.ListOptions) (runtime.Object, error) {
			out := newList()
			err := c.client(resource).Get().Namespace(namespace).Resource(resource).
				VersionedParams(&opts, metav1.ParameterCodec).Do(context.TODO()).Into(out)
			return out, err
		},
		WatchFunc: func(opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			return c.client(resource).Get().Namespace(namespace).Resource(resource).
				VersionedParams(&opts, metav1.ParameterCodec).Watch(context.TODO())
		},
	}
}

// Get reads one object of resource into into.
func (c *CRDClient) Get(ctx context.Context, resource, namespace, name string, into runtime.Object) error {
	req := c.client(resource).Get()
	if namespace != "" {
		req = req.Namespace(namespace)
	}
	return req.Resource(resource).Name(name).Do(ctx).Into(into)
}

// Store reads a SecretStore or ClusterSecretStore.
func (c *CRDClient) Store(ctx context.Context, key StoreKey) (secretstore.GenericStore, error) {
	if key.Kind == secretstore.KindClusterSecretStore {
		s := &secretstore.ClusterSecretStore{}
		return s, c.Get(ctx, ResourceClusterSecretStores, "", key.Name, s)
	}
	s := &secretstore.SecretStore{}
	return s, c.Get(ctx, ResourceSecretStores, key.Namespace, key.Name, s)
}

// requestTimeout bounds one status write.
const requestTimeout = 30 * time.Second

func resourceOf(obj runtime.Object) (string, error) {
	switch obj.(type) {
	case *externalsecret.ExternalSecret:
		return ResourceExternalSecrets, nil
	case *externalsecret.ClusterExternalSecret:
		return ResourceClusterExternalSecrets, nil
	case *secretstore.SecretStore:
		return ResourceSecretStores, nil
	case *secretstore.ClusterSecretStore:
		return ResourceClusterSecretStores, nil
	case *pushsecret.PushSecret:
		return ResourcePushSecrets, nil
	}
	return "", fmt.Errorf("%T is not an external-secrets.io kind", obj)
}

// write sends obj with verb to its resource, or to its subresource, and
// decodes the result into obj.
func (c *CRDClient) write(ctx context.Context, verb string, obj runtime.Object, subresource string, opts runtime.Object) error {
	_, create := opts.(*metav1.CreateOptions)
	resource, err := resourceOf(obj)
	if err != nil {
		return err
	}
	req := c.client(resource).Verb(verb)
	m := obj.(metav1.Object)
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if ns := m.GetNamespace(); ns != "" { // cluster-scoped: client-go refuses a name in the empty namespace
		req = req.Namespace(ns)
	}
	req = req.Resource(resource)
	if !create {
		req = req.Name(m.GetName())
	}
	if subresource != "" {
		req = req.SubResource(subresource)
	}
	return req.VersionedParams(opts, metav1.ParameterCodec).Body(obj).Do(ctx).Into(obj)
}

// UpdateStatus writes the status subresource of obj, an ExternalSecret,
// ClusterExternalSecret, SecretStore or ClusterSecretStore, and decodes
// the result into obj.
func (c *CRDClient) UpdateStatus(ctx context.Context, obj runtime.Object, fieldManager string) error {
	return c.write(ctx, "PUT", obj, "status", &metav1.UpdateOptions{FieldManager: fieldManager})
}

// Create creates obj, an object of an external-secrets.io v1 kind, and
// decodes the result into obj.
func (c *CRDClient) Create(ctx context.Context, obj runtime.Object, fieldManager string) error {
	return c.write(ctx, "POST", obj, "", &metav1.CreateOptions{FieldManager: fieldManager})
}

// Update updates obj, as Create.
func (c *CRDClient) Update(ctx context.Context, obj runtime.Object, fieldManager string) error {
	return c.write(ctx, "PUT", obj, "", &metav1.UpdateOptions{FieldManager: fieldManager})
}

// Delete deletes obj if it is still the object of obj's UID.
func (c *CRDClient) Delete(ctx context.Context, obj runtime.Object) error {
	resource, err := resourceOf(obj)
	if err != nil {
		return err
	}
	m := obj.(metav1.Object)
	uid := m.GetUID()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req := c.client(resource).Delete()
	if ns := m.GetNamespace(); ns != "" {
		req = req.Namespace(ns)
	}
	return req.Resource(resource).Name(m.GetName()).Body(&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}).Do(ctx).Error()
}

// Generator reads the generator ref names, in namespace unless it is a
// ClusterGenerator: a [GeneratorGetter].
func (c *CRDClient) Generator(ctx context.Context, ref externalsecret.GeneratorRef, namespace string) (runtime.Object, error) {
	obj, resource, err := newGenerator(ref.Kind)
	if err != nil {
		return nil, err
	}
	req := c.generators.Get()
	if ref.Kind != generators.KindClusterGenerator {
		req = req.Namespace(namespace)
	}
	return obj, req.Resource(resource).Name(ref.Name).Do(ctx).Into(obj)
}

// newGenerator returns an empty object of a generator kind and its
// resource name.
func newGenerator(kind string) (runtime.Object, string, error) {
	gvk := generators.SchemeGroupVersion.WithKind(kind)
	obj, err := Scheme.New(gvk)
	if err != nil {
		return nil, "", fmt.Errorf("generator kind %s is not a kind of %s", kind, generators.SchemeGroupVersion)
	}
	return obj, strings.ToLower(kind) + "s", nil
}

// REST returns the REST client under c, for requests it has no method for.
func (c *CRDClient) REST() rest.Interface { return c.rest }

// setFinalizer adds finalizer to obj, or removes it, with an update
// through Config.CRD; nothing when obj is already so. Removing it from an
// object already gone is not an error.
func (e *Engine) setFinalizer(ctx context.Context, obj Object, finalizer string, want bool) error {
	if slices.Contains(obj.GetFinalizers(), finalizer) == want {
		return nil
	}
	if e.cfg.CRD == nil {
		return fmt.Errorf("engine.Config.CRD is nil: the engine cannot set finalizer %s", finalizer)
	}
	updated := obj.DeepCopyObject().(Object)
	if want {
		updated.SetFinalizers(append(updated.GetFinalizers(), finalizer))
	} else {
		updated.SetFinalizers(slices.DeleteFunc(updated.GetFinalizers(), func(f string) bool { return f == finalizer }))
	}
	err := e.cfg.CRD.Update(ctx, updated, e.cfg.FieldManager)
	if err != nil && !(apierrors.IsNotFound(err) && !want) {
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		if kind == "" {
			kind = fmt.Sprintf("%T", obj)
		}
		return fmt.Errorf("set finalizer %s of %s %s/%s: %w", finalizer, kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
