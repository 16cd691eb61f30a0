package engine

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/externalsecret"
)

func TestReaderSet(t *testing.T) {
	a, b, c := types.NamespacedName{Namespace: "x", Name: "a"}, types.NamespacedName{Namespace: "x", Name: "b"}, types.NamespacedName{Namespace: "x", Name: "c"}
	names := func(s readerSet) string {
		var out []string
		for _, n := range s.names() {
			out = append(out, n.Name)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	var s readerSet
	steps := []struct {
		op   func(readerSet) readerSet
		want string
		many bool
	}{
		{func(s readerSet) readerSet { return s.add(a) }, "a", false},
		{func(s readerSet) readerSet { return s.add(a) }, "a", false},
		{func(s readerSet) readerSet { return s.add(b) }, "a,b", true},
		{func(s readerSet) readerSet { return s.add(c) }, "a,b,c", true},
		{func(s readerSet) readerSet { return s.remove(a) }, "b,c", true},
		{func(s readerSet) readerSet { return s.remove(c) }, "b", false},
		{func(s readerSet) readerSet { return s.remove(a) }, "b", false},
		{func(s readerSet) readerSet { return s.remove(b) }, "", false},
	}
	for i, step := range steps {
		s = step.op(s)
		if got := names(s); got != step.want || (s.many != nil) != step.many {
			t.Fatalf("step %d: readers %q (map %v); want %q (map %v)", i, got, s.many != nil, step.want, step.many)
		}
	}
	if !s.empty() {
		t.Error("not empty at the end")
	}
}

// StoreKeysOf names each store an ExternalSecret reads once, a
// ClusterSecretStore without a namespace.
func TestStoreKeysOf(t *testing.T) {
	es := testES("es", "main", "a", "b")
	es.Spec.Data[1].SourceRef = &externalsecret.StoreSourceRef{SecretStoreRef: externalsecret.SecretStoreRef{Name: "shared", Kind: externalsecret.KindClusterSecretStore}}
	es.Spec.Data = append(es.Spec.Data, es.Spec.Data[1])
	got := StoreKeysOf(es)
	want := []StoreKey{{Kind: "SecretStore", Namespace: "app", Name: "main"}, {Kind: "ClusterSecretStore", Name: "shared"}}
	if !slices.Equal(got, want) {
		t.Errorf("StoreKeysOf = %v; want %v", got, want)
	}
}
