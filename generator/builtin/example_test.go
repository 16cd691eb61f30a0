package builtin_test

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generator/builtin"
	"github.com/secretsync/secretsync/generators"
)

// A host registers the built-in generators and the engine calls them with
// the generator resource an ExternalSecret names.
func Example() {
	reg, err := generator.NewRegistry(builtin.Password(), builtin.UUID(), builtin.Fake())
	if err != nil {
		panic(err)
	}
	fmt.Println(reg.Kinds())

	g, err := reg.For(generators.KindPassword)
	if err != nil {
		panic(err)
	}
	res, err := g.Generate(context.Background(), &generators.Password{
		Spec: generators.PasswordSpec{Length: 32, NoUpper: true},
	}, nil, "default")
	if err != nil {
		panic(err)
	}
	fmt.Println(utf8.RuneCount(res.Values["password"]), res.TTL)

	res, err = builtin.Fake().Generate(context.Background(), &generators.Fake{
		Spec: generators.FakeSpec{Data: map[string]string{"user": "demo"}},
	}, nil, "default")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", res.Values["user"])
	// Output:
	// [Fake Password UUID]
	// 32 0s
	// demo
}
