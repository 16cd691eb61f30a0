package builtin

import (
	"context"
	"crypto/rand"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
)

// UUID returns the generator of the UUID kind: a random (version 4,
// RFC 9562) UUID in its lower-case text form, under the key "uuid".
func UUID() generator.Generator { return uuidGenerator{} }

type uuidGenerator struct{}

func (uuidGenerator) Kind() string { return generators.KindUUID }

func (uuidGenerator) Generate(_ context.Context, obj runtime.Object, _ provider.Credentials, _ string) (generator.Result, error) {
	if u, ok := obj.(*generators.UUID); !ok || u == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.UUID, not %T", generators.KindUUID, obj)
	}
	u, err := newUUID()
	if err != nil {
		return generator.Result{}, err
	}
	return generator.Result{Values: map[string][]byte{"uuid": []byte(u)}}, nil
}

// newUUID returns a version 4 UUID. github.com/google/uuid would do the
// same, but it is not a direct dependency, and this is all it would do.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10, RFC 9562
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
