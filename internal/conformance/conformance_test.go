package conformance

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
)

// crds is the directory of the CRDs the examples are applied to; another
// set, such as an earlier commit's, shows what it refused.
var crds = flag.String("crds", filepath.Join("..", "..", "config", "crd", "bases"), "directory of the CRDs to apply the examples to")

// examples returns the example files, by provider directory.
func examples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "eso-docs", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples under testdata/eso-docs")
	}
	sort.Strings(files)
	return files
}

// Every example names the documentation page it came from, so that a
// failure can be checked against the page.
func TestExamplesNameTheirSource(t *testing.T) {
	for _, f := range examples(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "# source: https://external-secrets.io/") {
			t.Errorf("%s: the first line is not \"# source: https://external-secrets.io/...\"", f)
		}
		objs, err := kubeapply.Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		es := 0
		for _, o := range objs {
			if strings.HasPrefix(o.GetAPIVersion(), "external-secrets.io/") {
				es++
			}
		}
		if es == 0 {
			t.Errorf("%s: holds no external-secrets.io object", f)
		}
	}
}

// Each example is accepted, unchanged, by the kube-apiserver with the
// CRDs of config/crd/bases and strict field validation.
func TestESODocumentationExamplesApply(t *testing.T) {
	files := examples(t)
	env := testenv.StartForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	applier, err := kubeapply.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFiles(ctx, filepath.Join(*crds, "*.yaml")); err != nil {
		t.Fatal(err)
	}
	gv := schema.GroupVersion{Group: "external-secrets.io", Version: "v1"}
	if err := applier.WaitForCRDs(ctx, gv, "secretstores", "clustersecretstores", "externalsecrets"); err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	createNamespace := func(name string) {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s: %v", name, err)
		}
	}

	accepted := 0
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := kubeapply.Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// Objects that name no namespace go to one of the example's own,
		// so that examples sharing a name do not update one another.
		own := "eso-doc-" + strings.TrimSuffix(filepath.Base(filepath.Dir(f)), "kv") + "-" + strconv.Itoa(i)
		createNamespace(own)
		for _, o := range objs {
			if ns := o.GetNamespace(); ns != "" {
				createNamespace(ns)
			}
		}
		a := *applier
		a.FieldValidation = kubeapply.StrictFieldValidation
		a.Namespace = own
		if err := a.Apply(ctx, data); err != nil {
			t.Errorf("%s is refused: %v", f, err)
			continue
		}
		accepted++
	}
	t.Logf("%d of %d ESO documentation examples accepted with strict field validation", accepted, len(files))
}
