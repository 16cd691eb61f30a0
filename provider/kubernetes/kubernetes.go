package kubernetes

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	coreclient "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field Kubernetes stores use.
const Name = "kubernetes"

// listPage is how many Secrets one list request of Find returns.
const listPage = 500

// Provider builds clients for Kubernetes stores. A zero Provider is valid:
// it serves stores that name a server.url, and refuses those that mean the
// local cluster.
type Provider struct {
	local        *rest.Config
	now          func() time.Time
	fieldManager string
}

// Option configures a [Provider].
type Option func(*Provider)

// New returns a Provider.
func New(opts ...Option) *Provider {
	p := &Provider{}
	for _, o := range opts {
		o(p)
	}
	return p
}

// WithLocalCluster names the cluster that stores without a server.url
// read, usually the one the controller runs in. Only the address and the
// settings that decide how to reach and trust it are taken from cfg: its
// credentials, and any transport that could carry them, are dropped,
// so that a store never reads with the controller's identity.
func WithLocalCluster(cfg *rest.Config) Option {
	return func(p *Provider) {
		if cfg == nil {
			p.local = nil
			return
		}
		local := rest.AnonymousClientConfig(cfg)
		// Each client limits its own rate, not the controller's.
		local.RateLimiter = nil
		p.local = local
	}
}

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
	_ provider.Finder        = &Client{}
	_ provider.Validator     = &Client{}
)

// Name returns "kubernetes".
func (*Provider) Name() string { return Name }

// ValidateStore checks spec.provider.kubernetes without contacting any
// cluster.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := kubeSpec(store)
	return err
}

// NewClient reads the credentials the store names and returns a client
// for it. With auth.serviceAccount it requests the first token, so that a
// ServiceAccount that does not exist fails here; it reads no Secret of the
// remote namespace.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, err := kubeSpec(store)
	if err != nil {
		return nil, err
	}
	ref := secretstore.Ref(store)
	cfg, err := p.restConfig(ctx, store, spec, creds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: build HTTP client: %w", ref, err)
	}
	core, err := coreclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("%s: build client: %w", ref, err)
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("%s: build client: %w", ref, err)
	}
	ns := remoteNamespace(spec)
	fieldManager := p.fieldManager
	if fieldManager == "" {
		fieldManager = DefaultFieldManager
	}
	return &Client{
		store:        ref,
		namespace:    ns,
		fieldManager: fieldManager,
		secrets:      core.Secrets(ns),
		reviews:      authz.SelfSubjectAccessReviews(),
	}, nil
}

// Client reads, and for PushSecret writes, the Secrets of one namespace
// with one store's credentials. It is safe for concurrent use.
type Client struct {
	store        string
	namespace    string
	fieldManager string
	secrets      coreclient.SecretInterface
	reviews      authorizationclient.SelfSubjectAccessReviewInterface
}

// GetSecret reads the Secret named ref.Key or, with ref.Metadata, its
// labels and annotations.
func (c *Client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	if ref.Version != "" {
		return nil, fmt.Errorf("key %q: Secrets have no versions; remove remoteRef.version", ref.Key)
	}
	if errs := validation.IsDNS1123Subdomain(ref.Key); len(errs) > 0 {
		return nil, fmt.Errorf("key %q is not a Secret name: %s", ref.Key, strings.Join(errs, "; "))
	}
	what := "get Secret " + c.namespace + "/" + ref.Key
	s, err := c.secrets.Get(ctx, ref.Key, metav1.GetOptions{})
	if err != nil {
		return nil, wrapErr(what, err)
	}
	if ref.Metadata {
		return metadataSecret(s)
	}
	return &secretData{name: c.namespace + "/" + s.Name, data: s.Data}, nil
}

// Find returns the data, as a JSON object of strings, of every Secret of
// the remote namespace whose labels hold find.Tags and whose name matches
// find.Name. Names are Secret names.
func (c *Client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	if find.Path != "" {
		return nil, fmt.Errorf("find: the kubernetes store has no paths; match names with find.name instead of find.path")
	}
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find: name regexp: %w", err)
		}
	}
	sel, err := labels.ValidatedSelectorFromSet(find.Tags)
	if err != nil {
		return nil, fmt.Errorf("find: tags are not a label selector: %w", err)
	}
	what := "list Secrets in namespace " + c.namespace
	opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: listPage}
	out := make(map[string][]byte)
	for {
		list, err := c.secrets.List(ctx, opts)
		if err != nil {
			return nil, wrapErr(what, err)
		}
		for i := range list.Items {
			s := &list.Items[i]
			if re != nil && !re.MatchString(s.Name) {
				continue
			}
			v, err := dataJSON(s.Data)
			if err != nil {
				return nil, fmt.Errorf("Secret %s/%s: %w", c.namespace, s.Name, err)
			}
			out[s.Name] = v
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// Validate asks the apiserver whether the store's credentials may get
// Secrets in the remote namespace. It proves that the server is reachable
// and trusted and accepts the credentials, and reads no Secret.
func (c *Client) Validate(ctx context.Context) error {
	review := &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: c.namespace,
				Verb:      "get",
				Resource:  "secrets",
			},
		},
	}
	res, err := c.reviews.Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", c.store, wrapErr("review access to Secrets in namespace "+c.namespace, err))
	}
	if !res.Status.Allowed {
		err := fmt.Errorf("%s: %w: the store's credentials may not get Secrets in namespace %q", c.store, ErrPermissionDenied, c.namespace)
		if r := res.Status.Reason; r != "" {
			err = fmt.Errorf("%w: %s", err, r)
		}
		return err
	}
	return nil
}
