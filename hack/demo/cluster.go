package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	resExternalSecrets     = "externalsecrets"
	resSecretStores        = "secretstores"
	resClusterSecretStores = "clustersecretstores"
)

// tableAccept asks the apiserver for a meta.k8s.io Table, as kubectl get
// does, so the columns are the CRDs' printer columns.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// clients talk to the control plane as the administrator: the demo plays
// the user who applies manifests and looks at the results.
type clients struct {
	kube kubernetes.Interface
	crd  rest.Interface
}

func newClients(cfg *rest.Config) (*clients, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, secretsync.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &externalsecret.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	crd, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("build client for %s: %w", externalsecret.SchemeGroupVersion, err)
	}
	return &clients{kube: kube, crd: crd}, nil
}

func (c *clients) externalSecrets(ctx context.Context) ([]externalsecret.ExternalSecret, error) {
	var list externalsecret.ExternalSecretList
	if err := c.crd.Get().Namespace(demoNamespace).Resource(resExternalSecrets).Do(ctx).Into(&list); err != nil {
		return nil, fmt.Errorf("list ExternalSecrets in %s: %w", demoNamespace, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

func (c *clients) secretStores(ctx context.Context) ([]secretstore.SecretStore, error) {
	var list secretstore.SecretStoreList
	if err := c.crd.Get().Namespace(demoNamespace).Resource(resSecretStores).Do(ctx).Into(&list); err != nil {
		return nil, fmt.Errorf("list SecretStores in %s: %w", demoNamespace, err)
	}
	return list.Items, nil
}

// secret returns the named Secret in the demo namespace, or nil if there
// is none.
func (c *clients) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	s, err := c.kube.CoreV1().Secrets(demoNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Secret %s/%s: %w", demoNamespace, name, err)
	}
	return s, nil
}

// applyDir applies the manifests in dir in file name order, as kubectl
// apply -f dir does, and describes what each file held.
func applyDir(ctx context.Context, a *kubeapply.Applier, dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 3, ' ', 0)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := kubeapply.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := a.Apply(ctx, data); err != nil {
			return nil, fmt.Errorf("apply %s: %w", f, err)
		}
		var kinds []string
		names := map[string][]string{}
		for _, o := range objs {
			if names[o.GetKind()] == nil {
				kinds = append(kinds, o.GetKind())
			}
			names[o.GetKind()] = append(names[o.GetKind()], o.GetName())
		}
		var desc []string
		for _, k := range kinds {
			desc = append(desc, k+" "+strings.Join(names[k], ", "))
		}
		fmt.Fprintf(w, "%s\t%s\n", filepath.Base(f), strings.Join(desc, "; "))
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n"), nil
}

// waitSynced waits until the store and every ExternalSecret in the demo
// namespace are Ready and every target Secret carries its data hash.
func (d *demo) waitSynced(ctx context.Context, c *clients, ctrl *controller) error {
	return poll(ctx, ctrl, d.opts.timeout, "the ExternalSecrets to sync", func(ctx context.Context) (bool, string, error) {
		stores, err := c.secretStores(ctx)
		if err != nil {
			return false, "", err
		}
		ess, err := c.externalSecrets(ctx)
		if err != nil {
			return false, "", err
		}
		if len(ess) == 0 {
			return false, "no ExternalSecrets in namespace " + demoNamespace, nil
		}
		var waiting []string
		for _, s := range stores {
			if cond := s.Status.ReadyCondition(); cond == nil || cond.Status != corev1.ConditionTrue {
				waiting = append(waiting, "SecretStore "+s.Name+": "+storeCondition(cond))
			}
		}
		for _, es := range ess {
			cond := es.Status.ReadyCondition()
			if cond == nil || cond.Status != corev1.ConditionTrue {
				waiting = append(waiting, "ExternalSecret "+es.Name+": "+esCondition(cond))
				continue
			}
			s, err := c.secret(ctx, es.TargetName())
			if err != nil {
				return false, "", err
			}
			if s == nil || s.Annotations[reconcile.AnnotationDataHash] == "" {
				waiting = append(waiting, "ExternalSecret "+es.Name+": Secret "+es.TargetName()+" not written yet")
			}
		}
		return len(waiting) == 0, strings.Join(waiting, "; "), nil
	})
}

func esCondition(c *externalsecret.Condition) string {
	if c == nil {
		return "no Ready condition yet"
	}
	return fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
}

func storeCondition(c *secretstore.Condition) string {
	if c == nil {
		return "no Ready condition yet"
	}
	return fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
}

// printTables prints what kubectl get externalsecret,secretstore would,
// from the tables the apiserver renders with the CRDs' printer columns.
func (d *demo) printTables(ctx context.Context, c *clients) error {
	fmt.Fprintf(d.out, "$ kubectl get externalsecret,secretstore -n %s   # printed by the demo's own client\n", demoNamespace)
	for i, r := range []struct{ resource, prefix string }{
		{resExternalSecrets, "externalsecret.external-secrets.io/"},
		{resSecretStores, "secretstore.external-secrets.io/"},
	} {
		body, err := c.crd.Get().Namespace(demoNamespace).Resource(r.resource).
			Param("includeObject", "None").SetHeader("Accept", tableAccept).DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("get %s as a table: %w", r.resource, err)
		}
		var t metav1.Table
		if err := json.Unmarshal(body, &t); err != nil {
			return fmt.Errorf("decode table of %s: %w", r.resource, err)
		}
		if t.Kind != "Table" {
			return fmt.Errorf("asked for a Table of %s, got a %q", r.resource, t.Kind)
		}
		if i > 0 {
			fmt.Fprintln(d.out)
		}
		printTable(d.out, &t, r.prefix)
	}
	return nil
}

// printTable prints t as kubectl does: the columns of priority 0, headers
// in upper case, names prefixed with the resource as when kubectl gets
// several kinds at once.
func printTable(out io.Writer, t *metav1.Table, namePrefix string) {
	w := tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
	defer w.Flush()
	var cols []int
	var header []string
	for i, c := range t.ColumnDefinitions {
		if c.Priority == 0 {
			cols = append(cols, i)
			header = append(header, strings.ToUpper(c.Name))
		}
	}
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, row := range t.Rows {
		cells := make([]string, 0, len(cols))
		for _, i := range cols {
			var s string
			switch {
			case i >= len(row.Cells) || row.Cells[i] == nil:
				s = "<none>"
			case t.ColumnDefinitions[i].Format == "name":
				s = namePrefix + fmt.Sprint(row.Cells[i])
			default:
				s = fmt.Sprint(row.Cells[i])
			}
			cells = append(cells, s)
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
}

// printSecrets lists each ExternalSecret's Secret with its key names and
// value sizes. Values are never printed.
func (d *demo) printSecrets(ctx context.Context, c *clients) error {
	ess, err := c.externalSecrets(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "Secrets in namespace %s (key names and sizes; values are never printed):\n", demoNamespace)
	w := tabwriter.NewWriter(d.out, 0, 4, 3, ' ', 0)
	for _, es := range ess {
		s, err := c.secret(ctx, es.TargetName())
		if err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("Secret %s/%s of ExternalSecret %s is gone", demoNamespace, es.TargetName(), es.Name)
		}
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = fmt.Sprintf("%s (%d bytes)", k, len(s.Data[k]))
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\n", s.Name, s.Type, strings.Join(keys, ", "))
	}
	return w.Flush()
}

// reads reports whether es reads key from the demo store.
func reads(es *externalsecret.ExternalSecret, key string) bool {
	if es.Spec.SecretStoreRef.Name != demoStore || es.Spec.SecretStoreRef.StoreKind() != externalsecret.KindSecretStore {
		return false
	}
	for _, d := range es.Spec.Data {
		if d.SourceRef == nil && d.RemoteRef.Key == key {
			return true
		}
	}
	for _, d := range es.Spec.DataFrom {
		if d.SourceRef == nil && d.Extract != nil && d.Extract.Key == key {
			return true
		}
	}
	return false
}

// rotate gives rotatedField of rotatedKey a new value in the demo store
// and waits for every Secret that reads it to change, timing each.
func (d *demo) rotate(ctx context.Context, c *clients, ctrl *controller) error {
	ess, err := c.externalSecrets(ctx)
	if err != nil {
		return err
	}
	type target struct {
		secret  string
		oldHash string
		newHash string
		follows bool
		refresh time.Duration
		took    time.Duration
	}
	targets := make([]*target, 0, len(ess))
	for i := range ess {
		es := &ess[i]
		s, err := c.secret(ctx, es.TargetName())
		if err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("Secret %s/%s of ExternalSecret %s is gone", demoNamespace, es.TargetName(), es.Name)
		}
		targets = append(targets, &target{
			secret:  s.Name,
			oldHash: s.Annotations[reconcile.AnnotationDataHash],
			follows: reads(es, rotatedKey),
			refresh: es.RefreshInterval(),
		})
	}

	if !slices.ContainsFunc(targets, func(t *target) bool { return t.follows }) {
		return fmt.Errorf("no ExternalSecret in %s reads %s from SecretStore %s, so there is nothing to rotate", demoNamespace, rotatedKey, demoStore)
	}

	var store secretstore.SecretStore
	if err := c.crd.Get().Namespace(demoNamespace).Resource(resSecretStores).Name(demoStore).Do(ctx).Into(&store); err != nil {
		return fmt.Errorf("get SecretStore %s/%s: %w", demoNamespace, demoStore, err)
	}
	if err := setField(&store, rotatedKey, rotatedField); err != nil {
		return err
	}
	d.step("Rotating the %s of %s in SecretStore %s", rotatedField, rotatedKey, demoStore)
	// The store change requeues its ExternalSecrets, but each reads the
	// store again only at its next refresh, as it must for a real store,
	// whose changes no Kubernetes event announces.
	d.detail("a new store spec makes every ExternalSecret that uses it read again at once")
	start := time.Now()
	if err := c.crd.Put().Namespace(demoNamespace).Resource(resSecretStores).Name(demoStore).Body(&store).Do(ctx).Error(); err != nil {
		return fmt.Errorf("update SecretStore %s/%s: %w", demoNamespace, demoStore, err)
	}

	err = poll(ctx, ctrl, d.opts.timeout, "the Secrets to follow the rotation", func(ctx context.Context) (bool, string, error) {
		var waiting []string
		for _, t := range targets {
			if !t.follows || t.newHash != "" {
				continue
			}
			s, err := c.secret(ctx, t.secret)
			if err != nil {
				return false, "", err
			}
			if s == nil {
				return false, "", fmt.Errorf("Secret %s/%s is gone", demoNamespace, t.secret)
			}
			if h := s.Annotations[reconcile.AnnotationDataHash]; h != t.oldHash {
				t.newHash, t.took = h, time.Since(start)
				continue
			}
			waiting = append(waiting, "Secret "+t.secret+" still has data-hash "+t.oldHash)
		}
		return len(waiting) == 0, strings.Join(waiting, "; "), nil
	})
	if err != nil {
		return err
	}
	var slowest time.Duration
	w := tabwriter.NewWriter(d.out, 0, 4, 3, ' ', 0)
	fmt.Fprintf(w, "    SECRET\tDATA-HASH (%s)\tREFRESH\tFOLLOWED AFTER\n", reconcile.AnnotationDataHash)
	for _, t := range targets {
		if !t.follows {
			continue
		}
		slowest = max(slowest, t.took)
		fmt.Fprintf(w, "    %s\t%s -> %s\t%s\t%s\n", t.secret, t.oldHash, t.newHash, t.refresh, t.took.Round(time.Millisecond))
	}
	// The others must not have been rewritten: they do not read the key.
	for _, t := range targets {
		if t.follows {
			continue
		}
		s, err := c.secret(ctx, t.secret)
		if err != nil {
			return err
		}
		if s == nil || s.Annotations[reconcile.AnnotationDataHash] != t.oldHash {
			return fmt.Errorf("Secret %s/%s changed, but its ExternalSecret does not read %s", demoNamespace, t.secret, rotatedKey)
		}
		fmt.Fprintf(w, "    %s\t%s (unchanged)\t%s\tdoes not read %s\n", t.secret, t.oldHash, t.refresh, rotatedKey)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	d.step("The Secrets followed the rotation in %s", slowest.Round(time.Millisecond))
	return nil
}

// setField gives field a new random value in the JSON value of key in
// store. The store was just read from the apiserver, so changing it in
// place changes no one else's copy.
func setField(store *secretstore.SecretStore, key, field string) error {
	p := store.Spec.Provider
	if p == nil || p.Fake == nil {
		return fmt.Errorf("SecretStore %s/%s is not a fake store", store.Namespace, store.Name)
	}
	for i := range p.Fake.Data {
		e := &p.Fake.Data[i]
		if e.Key != key || e.Version != "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(e.Value), &v); err != nil {
			return fmt.Errorf("SecretStore %s/%s: key %s does not hold a JSON object: %w", store.Namespace, store.Name, key, err)
		}
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		v[field] = hex.EncodeToString(b)
		value, err := json.Marshal(v)
		if err != nil {
			return err
		}
		e.Value = string(value)
		return nil
	}
	return fmt.Errorf("SecretStore %s/%s has no key %s", store.Namespace, store.Name, key)
}
