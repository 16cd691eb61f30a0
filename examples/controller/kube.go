package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// scheme knows the built-in types and ours, for the REST client and the
// event recorder.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, externalsecret.AddToScheme, secretstore.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // only on a programming error in the type registrations
		}
	}
	return s
}()

// crdClient is a typed client for the external-secrets.io resources. The
// resources are few and simple, so a REST client over the scheme serves
// where a generated clientset would add thousands of lines.
type crdClient struct {
	rest rest.Interface
}

func newCRDClient(cfg *rest.Config) (*crdClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &externalsecret.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("build client for %s: %w", externalsecret.SchemeGroupVersion, err)
	}
	return &crdClient{rest: rc}, nil
}

// Resource names.
const (
	resExternalSecrets      = "externalsecrets"
	resSecretStores         = "secretstores"
	resClusterSecretStores  = "clustersecretstores"
	requestTimeoutForUpdate = 30 * time.Second
)

// listWatch lists and watches one resource in namespace ("" for all).
func (c *crdClient) listWatch(resource, namespace string, newList func() runtime.Object) *cache.ListWatch {
	return &cache.ListWatch{
		ListFunc: func(opts metav1.ListOptions) (runtime.Object, error) {
			out := newList()
			err := c.rest.Get().Namespace(namespace).Resource(resource).
				VersionedParams(&opts, metav1.ParameterCodec).Do(context.TODO()).Into(out)
			return out, err
		},
		WatchFunc: func(opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			return c.rest.Get().Namespace(namespace).Resource(resource).
				VersionedParams(&opts, metav1.ParameterCodec).Watch(context.TODO())
		},
	}
}

// updateStatus writes obj's status subresource and decodes the result
// into obj.
func (c *crdClient) updateStatus(ctx context.Context, resource, namespace, name string, obj runtime.Object, fieldManager string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeoutForUpdate)
	defer cancel()
	req := c.rest.Put()
	if namespace != "" { // cluster-scoped: client-go refuses a name in the empty namespace
		req = req.Namespace(namespace)
	}
	return req.Resource(resource).Name(name).SubResource("status").
		VersionedParams(&metav1.UpdateOptions{FieldManager: fieldManager}, metav1.ParameterCodec).
		Body(obj).Do(ctx).Into(obj)
}
