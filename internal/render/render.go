// Package render runs the real fetch, reconcile and template path over
// manifests read from a file, with no cluster: the `render` command of the
// reference controller. It prints the Secret each ExternalSecret would
// produce, or says why it would fail to sync.
package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// DefaultNamespace is the namespace of objects that name none.
const DefaultNamespace = "default"

// Options configure a render.
type Options struct {
	// Registry holds the providers stores may use.
	Registry *provider.Registry
	// Now is the time of the render.
	Now time.Time
	// Warnings receives notes that do not stop the render, such as
	// fields that are not understood. Nil discards them.
	Warnings io.Writer
}

// Render reads manifests from r and writes to w the Secret manifest of
// each ExternalSecret among them, as YAML documents. It fails, naming the
// ExternalSecret and the key, if any of them would fail to sync; what it
// wrote for the others stands.
func Render(ctx context.Context, r io.Reader, w io.Writer, opts Options) error {
	if opts.Warnings == nil {
		opts.Warnings = io.Discard
	}
	objs, err := decodeAll(r, opts.Warnings)
	if err != nil {
		return err
	}
	if len(objs.externalSecrets) == 0 {
		return errors.New("no ExternalSecret in the input")
	}
	var errs []error
	for i, es := range objs.externalSecrets {
		out, err := renderOne(ctx, objs, es, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("ExternalSecret %s/%s: %w", es.Namespace, es.Name, err))
			continue
		}
		if out == nil {
			fmt.Fprintf(opts.Warnings, "ExternalSecret %s/%s writes no Secret (creationPolicy None)\n", es.Namespace, es.Name)
			continue
		}
		if i > 0 {
			io.WriteString(w, "---\n")
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

type objects struct {
	externalSecrets []*externalsecret.ExternalSecret
	stores          map[engine.StoreKey]secretstore.GenericStore
	secrets         map[types.NamespacedName]*corev1.Secret
	configMaps      map[types.NamespacedName]*corev1.ConfigMap
	namespaces      map[string]*corev1.Namespace
}

func decodeAll(r io.Reader, warn io.Writer) (*objects, error) {
	objs := &objects{
		stores:     map[engine.StoreKey]secretstore.GenericStore{},
		secrets:    map[types.NamespacedName]*corev1.Secret{},
		configMaps: map[types.NamespacedName]*corev1.ConfigMap{},
		namespaces: map[string]*corev1.Namespace{},
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			doc--
			continue
		}
		if err := objs.add(doc, raw, warn); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
	}
	return objs, nil
}

func (o *objects) add(doc int, raw []byte, warn io.Writer) error {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("not a Kubernetes manifest: %w", err)
	}
	if meta.Kind == "" || meta.APIVersion == "" {
		return errors.New("not a Kubernetes manifest: apiVersion and kind are required")
	}
	group, version, _ := strings.Cut(meta.APIVersion, "/")
	if group == externalsecret.Group {
		switch version {
		case "v1", "v1beta1":
		case "v1alpha1":
			converted, err := fromV1alpha1(meta.Kind, raw)
			if err != nil {
				return err
			}
			raw = converted
		default:
			return fmt.Errorf("%s %s is not supported; use external-secrets.io/v1", meta.Kind, meta.APIVersion)
		}
	}
	switch {
	case group == externalsecret.Group && meta.Kind == externalsecret.Kind:
		es, err := decodeExternalSecret(raw)
		if err != nil {
			return err
		}
		o.externalSecrets = append(o.externalSecrets, es)
	case group == secretstore.Group && meta.Kind == secretstore.KindSecretStore:
		s := &secretstore.SecretStore{}
		if err := decode(raw, s, warn, doc); err != nil {
			return err
		}
		defaultNamespace(&s.ObjectMeta)
		o.stores[engine.StoreKeyOf(s)] = s
	case group == secretstore.Group && meta.Kind == secretstore.KindClusterSecretStore:
		s := &secretstore.ClusterSecretStore{}
		if err := decode(raw, s, warn, doc); err != nil {
			return err
		}
		o.stores[engine.StoreKeyOf(s)] = s
	case meta.APIVersion == "v1" && meta.Kind == "Secret":
		s := &corev1.Secret{}
		if err := decode(raw, s, warn, doc); err != nil {
			return err
		}
		defaultNamespace(&s.ObjectMeta)
		// The apiserver defaults the type and folds stringData into
		// data; do the same.
		if s.Type == "" {
			s.Type = corev1.SecretTypeOpaque
		}
		for k, v := range s.StringData {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = []byte(v)
		}
		s.StringData = nil
		o.secrets[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	case meta.APIVersion == "v1" && meta.Kind == "ConfigMap":
		c := &corev1.ConfigMap{}
		if err := decode(raw, c, warn, doc); err != nil {
			return err
		}
		defaultNamespace(&c.ObjectMeta)
		o.configMaps[types.NamespacedName{Namespace: c.Namespace, Name: c.Name}] = c
	case meta.APIVersion == "v1" && meta.Kind == "Namespace":
		n := &corev1.Namespace{}
		if err := decode(raw, n, warn, doc); err != nil {
			return err
		}
		o.namespaces[n.Name] = n
	case group == externalsecret.Group:
		return fmt.Errorf("kind %s of %s is not supported", meta.Kind, meta.APIVersion)
	default:
		fmt.Fprintf(warn, "document %d: skipping %s %s, which render does not use\n", doc, meta.APIVersion, meta.Kind)
	}
	return nil
}

// decodeExternalSecret decodes an ExternalSecret and refuses it, as
// `kubectl apply` would, when the CRD's schema or the External Secrets
// Operator's admission checks do: for a field it does not know, a
// required field left out, or a value the schema does not allow.
func decodeExternalSecret(raw []byte) (*externalsecret.ExternalSecret, error) {
	es := &externalsecret.ExternalSecret{}
	if err := yaml.UnmarshalStrict(raw, es); err != nil {
		return nil, fmt.Errorf("invalid ExternalSecret: %w", err)
	}
	if err := checkRequired(raw, es); err != nil {
		return nil, fmt.Errorf("invalid ExternalSecret %s: %w", es.Name, err)
	}
	defaultNamespace(&es.ObjectMeta)
	if err := externalsecret.Validate(es); err != nil {
		return nil, fmt.Errorf("invalid ExternalSecret %s/%s: %w", es.Namespace, es.Name, err)
	}
	if es.UID == "" {
		es.UID = types.UID("render-" + es.Namespace + "-" + es.Name)
	}
	return es, nil
}

// decode decodes raw into obj. Fields obj does not know are reported as
// warnings, not errors, so manifests written for a newer schema still
// render.
func decode(raw []byte, obj any, warn io.Writer, doc int) error {
	if err := yaml.Unmarshal(raw, obj); err != nil {
		return fmt.Errorf("invalid manifest: %w", err)
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		fmt.Fprintf(warn, "document %d: warning: %v\n", doc, err)
	}
	if o, ok := obj.(metav1.Object); ok {
		if errs := validation.IsDNS1123Subdomain(o.GetName()); len(errs) > 0 {
			return fmt.Errorf("metadata.name %q: %s", o.GetName(), strings.Join(errs, "; "))
		}
	}
	return nil
}

func defaultNamespace(m *metav1.ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
}

// renderOne returns the manifest of the target es would write, nil for
// none.
func renderOne(ctx context.Context, objs *objects, es *externalsecret.ExternalSecret, opts Options) ([]byte, error) {
	// Render serves whichever controller class the ExternalSecret's store
	// names: it shows what the controller of that class would write.
	class := ""
	if s, ok := objs.stores[engine.StoreKeyFor(es.Spec.SecretStoreRef, es.Namespace)]; ok {
		class = s.StoreSpec().Controller
	}
	eng, err := engine.New(engine.Config{
		Registry:        opts.Registry,
		Stores:          engine.StoreGetterFunc(objs.store),
		Secrets:         objs,
		Namespaces:      objs,
		Objects:         objs,
		ControllerClass: class,
		// Render shows what a manifest target would hold; writing one is
		// the controller's decision.
		AllowGenericTargets: true,
		Now:                 func() time.Time { return opts.Now },
	})
	if err != nil {
		return nil, err
	}
	res, err := eng.Plan(ctx, engine.Request{ExternalSecret: es, Force: true})
	if err != nil {
		return nil, err
	}
	if es.GenericTarget() {
		switch res.Action {
		case reconcile.ActionCreate:
			return yaml.Marshal(res.Object.Object)
		case reconcile.ActionDelete:
			return nil, fmt.Errorf("every remote value is gone; deletionPolicy Delete would delete the %s", es.Spec.Target.Manifest.Kind)
		}
		return nil, nil
	}
	existing, _ := objs.Secret(ctx, es.Namespace, es.TargetName())
	switch res.Action {
	case reconcile.ActionCreate, reconcile.ActionUpdate:
		return marshalSecret(res.Secret)
	case reconcile.ActionDelete:
		return nil, errors.New("every remote value is gone; deletionPolicy Delete would delete the Secret")
	}
	if existing == nil {
		return nil, nil
	}
	return marshalSecret(existing)
}

// The objects of the file serve the engine as the cluster would.

func (o *objects) store(_ context.Context, key engine.StoreKey) (secretstore.GenericStore, error) {
	s, ok := o.stores[key]
	if !ok {
		return nil, fmt.Errorf("%s %q not found in the input; add it to the file", key.Kind, key.Name)
	}
	return s, nil
}

func (o *objects) Secret(_ context.Context, namespace, name string) (*corev1.Secret, error) {
	s, ok := o.secrets[types.NamespacedName{Namespace: namespace, Name: name}]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
	}
	return s, nil
}

func (o *objects) ConfigMap(_ context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	c, ok := o.configMaps[types.NamespacedName{Namespace: namespace, Name: name}]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), name)
	}
	return c, nil
}

// Namespace returns the namespace from the file, or one without labels.
func (o *objects) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if ns, ok := o.namespaces[name]; ok {
		return ns, nil
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
}

// marshalSecret prints a Secret as a manifest, data base64-encoded, with
// only the fields a Secret being created has.
func marshalSecret(s *corev1.Secret) ([]byte, error) {
	type meta struct {
		Name            string                  `json:"name"`
		Namespace       string                  `json:"namespace"`
		Labels          map[string]string       `json:"labels,omitempty"`
		Annotations     map[string]string       `json:"annotations,omitempty"`
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences,omitempty"`
		Finalizers      []string                `json:"finalizers,omitempty"`
	}
	out := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   meta              `json:"metadata"`
		Type       corev1.SecretType `json:"type"`
		Immutable  *bool             `json:"immutable,omitempty"`
		Data       map[string][]byte `json:"data"`
	}{
		APIVersion: "v1",
		Kind:       "Secret",
		Metadata: meta{
			Name:            s.Name,
			Namespace:       s.Namespace,
			Labels:          s.Labels,
			Annotations:     s.Annotations,
			OwnerReferences: s.OwnerReferences,
			Finalizers:      s.Finalizers,
		},
		Type:      s.Type,
		Immutable: s.Immutable,
		Data:      s.Data,
	}
	if out.Data == nil {
		out.Data = map[string][]byte{}
	}
	return yaml.Marshal(out)
}

// stripComments drops comment lines, so a document of comments alone
// counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}
