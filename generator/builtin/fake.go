package builtin

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
)

// Fake returns the generator of the Fake kind: it returns spec.data as is,
// for tests and demos. spec.controller is not its business: choosing the
// controller that serves a resource is the host's.
func Fake() generator.Generator { return fakeGenerator{} }

type fakeGenerator struct{}

func (fakeGenerator) Kind() string { return generators.KindFake }

func (fakeGenerator) Generate(_ context.Context, obj runtime.Object, _ provider.Credentials, _ string) (generator.Result, error) {
	f, ok := obj.(*generators.Fake)
	if !ok || f == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.Fake, not %T", generators.KindFake, obj)
	}
	values := make(map[string][]byte, len(f.Spec.Data))
	for k, v := range f.Spec.Data {
		values[k] = []byte(v)
	}
	return generator.Result{Values: values}, nil
}
