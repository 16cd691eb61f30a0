package builtin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
)

const (
	// DefaultLength is the length of a password whose spec.length is
	// unset, as in the External Secrets Operator.
	DefaultLength = 24
	// MaxLength is the longest password made, the limit of the
	// resource's schema; it also bounds what one spec can make us
	// allocate.
	MaxLength = 1024
	// DefaultSymbolCharacters are the symbols chosen from when
	// spec.symbolCharacters is unset or empty, as in the External
	// Secrets Operator.
	DefaultSymbolCharacters = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"

	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars   = "0123456789"
)

// Password returns the generator of the Password kind. It makes a password
// of spec.length characters, of which spec.digits are digits and
// spec.symbols are symbols (each a quarter of the length, rounded down,
// when unset) and the rest letters, in random order, and returns it,
// encoded as spec.encoding says, under the key "password".
//
// Unless spec.allowRepeat is set, no character appears twice; a spec that
// asks for more distinct characters of a class than exist, such as 11
// digits, is an error rather than a password with repeats.
func Password() generator.Generator { return passwordGenerator{} }

type passwordGenerator struct{}

func (passwordGenerator) Kind() string { return generators.KindPassword }

func (passwordGenerator) Generate(_ context.Context, obj runtime.Object, _ provider.Credentials, _ string) (generator.Result, error) {
	p, ok := obj.(*generators.Password)
	if !ok || p == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.Password, not %T", generators.KindPassword, obj)
	}
	pw, err := makePassword(p.Spec)
	if err != nil {
		return generator.Result{}, fmt.Errorf("%s: %w", describe(generators.KindPassword, p.Namespace, p.Name), err)
	}
	return generator.Result{Values: map[string][]byte{"password": pw}}, nil
}

// makePassword makes the password spec describes, encoded.
func makePassword(spec generators.PasswordSpec) ([]byte, error) {
	length := spec.Length
	switch {
	case length == 0:
		length = DefaultLength
	case length < 0 || length > MaxLength:
		return nil, fmt.Errorf("spec.length is %d; it must be between 1 and %d", length, MaxLength)
	}
	digits, symbols := length/4, length/4
	if spec.Digits != nil {
		digits = *spec.Digits
	}
	if spec.Symbols != nil {
		symbols = *spec.Symbols
	}
	if digits < 0 || symbols < 0 {
		return nil, fmt.Errorf("spec.digits (%d) and spec.symbols (%d) may not be negative", digits, symbols)
	}
	if digits+symbols > length {
		return nil, fmt.Errorf("spec.digits (%d) and spec.symbols (%d) together exceed spec.length (%d)", digits, symbols, length)
	}
	symbolChars := DefaultSymbolCharacters
	if spec.SymbolCharacters != nil && *spec.SymbolCharacters != "" {
		symbolChars = *spec.SymbolCharacters
		if !utf8.ValidString(symbolChars) {
			return nil, fmt.Errorf("spec.symbolCharacters is not valid UTF-8")
		}
	}
	letters := lowerLetters
	if !spec.NoUpper {
		letters += upperLetters
	}
	encode, err := encoder(spec.Encoding)
	if err != nil {
		return nil, err
	}

	p := picker{allowRepeat: spec.AllowRepeat, used: map[rune]bool{}, out: make([]rune, 0, length)}
	// Letters, digits, then symbols, as the operator's library picks
	// them: with repeats disallowed and overlapping sets, the later class
	// has fewer characters left.
	for _, class := range []struct {
		name, field string
		n           int
		chars       string
	}{
		{"letters", "spec.length", length - digits - symbols, letters},
		{"digits", "spec.digits", digits, digitChars},
		{"symbols", "spec.symbols", symbols, symbolChars},
	} {
		pool := p.pool(class.chars)
		if !p.allowRepeat && len(pool) < class.n {
			return nil, fmt.Errorf("%s: %d %s without repeats, but only %d distinct ones are available; set spec.allowRepeat or ask for fewer",
				class.field, class.n, class.name, len(pool))
		}
		if err := p.pick(class.n, pool); err != nil {
			return nil, err
		}
	}
	if err := shuffle(p.out); err != nil {
		return nil, err
	}
	return encode([]byte(string(p.out))), nil
}

// picker picks characters at random into out.
type picker struct {
	allowRepeat bool
	used        map[rune]bool
	out         []rune
}

// pool returns the distinct characters of chars that may still be
// picked.
func (p *picker) pool(chars string) []rune {
	var pool []rune
	seen := map[rune]bool{}
	for _, r := range chars {
		if seen[r] || (!p.allowRepeat && p.used[r]) {
			continue
		}
		seen[r] = true
		pool = append(pool, r)
	}
	return pool
}

// pick appends n characters of pool to out. Unless repeats are allowed,
// each is taken out of pool and marked used; pool must then hold at
// least n.
func (p *picker) pick(n int, pool []rune) error {
	for range n {
		i, err := randIntn(len(pool))
		if err != nil {
			return err
		}
		r := pool[i]
		p.out = append(p.out, r)
		if !p.allowRepeat {
			p.used[r] = true
			pool[i] = pool[len(pool)-1]
			pool = pool[:len(pool)-1]
		}
	}
	return nil
}

// shuffle puts rs in a uniformly random order (Fisher-Yates).
func shuffle(rs []rune) error {
	for i := len(rs) - 1; i > 0; i-- {
		j, err := randIntn(i + 1)
		if err != nil {
			return err
		}
		rs[i], rs[j] = rs[j], rs[i]
	}
	return nil
}

// randIntn returns a uniform random integer in [0, n) from crypto/rand.
func randIntn(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("read random bytes: %w", err)
	}
	return int(v.Int64()), nil
}

// encoder returns the function that applies spec.encoding.
func encoder(encoding *string) (func([]byte) []byte, error) {
	e := "raw"
	if encoding != nil && *encoding != "" {
		e = *encoding
	}
	str := func(f func([]byte) string) func([]byte) []byte {
		return func(b []byte) []byte { return []byte(f(b)) }
	}
	switch e {
	case "raw":
		return func(b []byte) []byte { return b }, nil
	case "base64":
		return str(base64.StdEncoding.EncodeToString), nil
	case "base64url":
		return str(base64.URLEncoding.EncodeToString), nil
	case "base32":
		return str(base32.StdEncoding.EncodeToString), nil
	case "hex":
		return str(hex.EncodeToString), nil
	}
	return nil, fmt.Errorf("spec.encoding %q is not one of raw, base64, base64url, base32 or hex", e)
}

// describe names a generator resource in messages: "Kind namespace/name",
// or only what of it is set, since a ClusterGenerator's spec may come
// without a name.
func describe(kind, namespace, name string) string {
	switch {
	case name == "":
		return kind
	case namespace == "":
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}
