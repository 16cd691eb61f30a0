package builtin

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
)

func ptr[T any](v T) *T { return &v }

// counts are the characters of a password by class.
type counts struct {
	length, digits, symbols, upper int
	repeats                        bool
}

func classify(pw, symbolChars string) counts {
	var c counts
	seen := map[rune]bool{}
	for _, r := range pw {
		c.length++
		switch {
		case strings.ContainsRune(digitChars, r):
			c.digits++
		case strings.ContainsRune(symbolChars, r):
			c.symbols++
		case unicode.IsUpper(r):
			c.upper++
		}
		if seen[r] {
			c.repeats = true
		}
		seen[r] = true
	}
	return c
}

func generatePassword(t *testing.T, spec generators.PasswordSpec) string {
	t.Helper()
	res, err := Password().Generate(context.Background(), &generators.Password{Spec: spec}, nil, "ns")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if res.TTL != 0 || res.State != nil {
		t.Errorf("TTL %v, State %v; want neither", res.TTL, res.State)
	}
	if len(res.Values) != 1 {
		t.Fatalf("values have keys %v; want only password", keys(res.Values))
	}
	pw, ok := res.Values["password"]
	if !ok {
		t.Fatalf("no key password in %v", keys(res.Values))
	}
	return string(pw)
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestPasswordProperties(t *testing.T) {
	tests := map[string]struct {
		spec        generators.PasswordSpec
		symbolChars string
		want        counts // upper is checked only to be zero with noUpper
		runs        int
	}{
		"defaults: 24 characters, a quarter digits and a quarter symbols, no repeats": {
			spec: generators.PasswordSpec{},
			want: counts{length: 24, digits: 6, symbols: 6},
		},
		"length sets the default digits and symbols, rounded down": {
			spec: generators.PasswordSpec{Length: 30},
			want: counts{length: 30, digits: 7, symbols: 7},
		},
		"explicit digits and symbols": {
			spec: generators.PasswordSpec{Length: 16, Digits: ptr(3), Symbols: ptr(5)},
			want: counts{length: 16, digits: 3, symbols: 5},
		},
		"no digits nor symbols": {
			spec: generators.PasswordSpec{Length: 20, Digits: ptr(0), Symbols: ptr(0)},
			want: counts{length: 20},
		},
		"every digit once": {
			spec: generators.PasswordSpec{Length: 10, Digits: ptr(10), Symbols: ptr(0)},
			want: counts{length: 10, digits: 10},
		},
		"noUpper": {
			spec: generators.PasswordSpec{Length: 32, NoUpper: true},
			want: counts{length: 32, digits: 8, symbols: 8},
		},
		"noUpper with every lower-case letter once": {
			spec: generators.PasswordSpec{Length: 26, Digits: ptr(0), Symbols: ptr(0), NoUpper: true},
			want: counts{length: 26},
		},
		"custom symbols, some of several bytes": {
			spec:        generators.PasswordSpec{Length: 12, Symbols: ptr(4), SymbolCharacters: ptr("€£¥-")},
			symbolChars: "€£¥-",
			want:        counts{length: 12, digits: 3, symbols: 4},
		},
		"empty symbolCharacters means the default set": {
			spec: generators.PasswordSpec{Length: 12, SymbolCharacters: ptr("")},
			want: counts{length: 12, digits: 3, symbols: 3},
		},
		"allowRepeat lets a long password repeat": {
			spec: generators.PasswordSpec{Length: MaxLength, AllowRepeat: true},
			want: counts{length: MaxLength, digits: 256, symbols: 256, repeats: true},
			runs: 20,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			symbolChars := tc.symbolChars
			if symbolChars == "" {
				symbolChars = DefaultSymbolCharacters
			}
			runs := tc.runs
			if runs == 0 {
				runs = 300
			}
			seen := map[string]bool{}
			for range runs {
				pw := generatePassword(t, tc.spec)
				got := classify(pw, symbolChars)
				if tc.spec.NoUpper && got.upper != 0 {
					t.Fatalf("noUpper, but %d upper-case letters", got.upper)
				}
				if !tc.spec.AllowRepeat && got.repeats {
					t.Fatalf("a character repeats, but allowRepeat is false")
				}
				got.upper = 0
				if !tc.spec.AllowRepeat {
					got.repeats = false
				}
				if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(counts{})); diff != "" {
					t.Fatalf("password classes (-want +got):\n%s", diff)
				}
				if seen[pw] {
					t.Fatalf("the same password twice in %d runs", runs)
				}
				seen[pw] = true
			}
		})
	}
}

// The characters are shuffled: the first is sometimes a letter, sometimes
// a digit and sometimes a symbol, and upper-case letters do appear.
func TestPasswordIsShuffled(t *testing.T) {
	first := map[string]int{}
	upper := 0
	for range 500 {
		pw := generatePassword(t, generators.PasswordSpec{})
		r, _ := utf8.DecodeRuneInString(pw)
		switch {
		case strings.ContainsRune(digitChars, r):
			first["digit"]++
		case strings.ContainsRune(DefaultSymbolCharacters, r):
			first["symbol"]++
		default:
			first["letter"]++
		}
		upper += classify(pw, DefaultSymbolCharacters).upper
	}
	for _, class := range []string{"letter", "digit", "symbol"} {
		if first[class] == 0 {
			t.Errorf("in 500 passwords, the first character was never a %s: %v", class, first)
		}
	}
	if upper == 0 {
		t.Errorf("no upper-case letter in 500 passwords")
	}
}

func TestPasswordEncoding(t *testing.T) {
	tests := map[string]struct {
		decode func(string) ([]byte, error)
		// known is the encoding of "Test>>Pass??word", from the operator's
		// documentation, or empty where that documentation is wrong
		// (its base32 example decodes to 12 bytes, not 16).
		known string
	}{
		"raw":       {decode: func(s string) ([]byte, error) { return []byte(s), nil }, known: "Test>>Pass??word"},
		"base64":    {decode: base64.StdEncoding.DecodeString, known: "VGVzdD4+UGFzcz8/d29yZA=="},
		"base64url": {decode: base64.URLEncoding.DecodeString, known: "VGVzdD4-UGFzcz8_d29yZA=="},
		"base32":    {decode: base32.StdEncoding.DecodeString},
		"hex":       {decode: hex.DecodeString, known: "546573743e3e506173733f3f776f7264"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			enc, err := encoder(ptr(name))
			if err != nil {
				t.Fatal(err)
			}
			if tc.known != "" {
				if diff := cmp.Diff(tc.known, string(enc([]byte("Test>>Pass??word")))); diff != "" {
					t.Errorf("encoding of the documented example (-want +got):\n%s", diff)
				}
			}
			for range 100 {
				encoded := generatePassword(t, generators.PasswordSpec{Length: 20, NoUpper: true, Encoding: ptr(name)})
				pw, err := tc.decode(encoded)
				if err != nil {
					t.Fatalf("decode %s: %v", name, err)
				}
				got := classify(string(pw), DefaultSymbolCharacters)
				if diff := cmp.Diff(counts{length: 20, digits: 5, symbols: 5}, got, cmp.AllowUnexported(counts{})); diff != "" {
					t.Fatalf("decoded password classes (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPasswordErrors(t *testing.T) {
	tests := map[string]struct {
		obj  runtime.Object
		want string
	}{
		"another kind": {
			obj:  &generators.UUID{},
			want: "the Password generator takes a *generators.Password, not *generators.UUID",
		},
		"a nil Password": {
			obj:  (*generators.Password)(nil),
			want: "takes a *generators.Password",
		},
		"negative length": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Length: -1}},
			want: "spec.length is -1; it must be between 1 and 1024",
		},
		"too long": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Length: MaxLength + 1, AllowRepeat: true}},
			want: "spec.length is 1025",
		},
		"negative digits": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Digits: ptr(-2)}},
			want: "spec.digits (-2) and spec.symbols (6) may not be negative",
		},
		"digits and symbols longer than the password": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Length: 8, Digits: ptr(5), Symbols: ptr(4)}},
			want: "spec.digits (5) and spec.symbols (4) together exceed spec.length (8)",
		},
		"more digits than there are, without repeats": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Length: 44}},
			want: "spec.digits: 11 digits without repeats, but only 10 distinct ones are available; set spec.allowRepeat or ask for fewer",
		},
		"more letters than there are, without repeats": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Length: 27, Digits: ptr(0), Symbols: ptr(0), NoUpper: true}},
			want: "spec.length: 27 letters without repeats, but only 26 distinct ones are available",
		},
		"more symbols than the set has, without repeats": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Length: 10, Symbols: ptr(4), SymbolCharacters: ptr("!!?")}},
			want: "spec.symbols: 4 symbols without repeats, but only 2 distinct ones are available",
		},
		"symbols that are letters already used": {
			obj: &generators.Password{Spec: generators.PasswordSpec{
				Length: 28, Digits: ptr(0), Symbols: ptr(2), NoUpper: true, SymbolCharacters: ptr("abc"),
			}},
			want: "spec.symbols: 2 symbols without repeats, but only 0 distinct ones are available",
		},
		"unknown encoding": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{Encoding: ptr("base58")}},
			want: `spec.encoding "base58" is not one of raw, base64, base64url, base32 or hex`,
		},
		"symbols that are not UTF-8": {
			obj:  &generators.Password{Spec: generators.PasswordSpec{SymbolCharacters: ptr("\xff\xfe")}},
			want: "spec.symbolCharacters is not valid UTF-8",
		},
		"the resource is named in the error": {
			obj: &generators.Password{
				ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "db"},
				Spec:       generators.PasswordSpec{Length: -1},
			},
			want: "Password team-a/db: spec.length",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Password().Generate(context.Background(), tc.obj, nil, "team-a")
			if err == nil {
				t.Fatalf("Generate made %v; want an error", keys(res.Values))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		res, err := UUID().Generate(context.Background(), &generators.UUID{}, nil, "ns")
		if err != nil {
			t.Fatal(err)
		}
		if res.TTL != 0 || res.State != nil || len(res.Values) != 1 {
			t.Fatalf("result %+v; want only the key uuid, no TTL and no State", res)
		}
		u := string(res.Values["uuid"])
		if !uuidPattern.MatchString(u) {
			t.Fatalf("%q is not a version 4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("UUID %s twice", u)
		}
		seen[u] = true
	}
	_, err := UUID().Generate(context.Background(), &generators.Fake{}, nil, "ns")
	if want := "the UUID generator takes a *generators.UUID, not *generators.Fake"; err == nil || err.Error() != want {
		t.Errorf("another kind: error %v; want %q", err, want)
	}
}

func TestFake(t *testing.T) {
	tests := map[string]struct {
		data map[string]string
		want map[string][]byte
	}{
		"returns spec.data": {
			data: map[string]string{"user": "admin", "password": "CANARY-fake-value"},
			want: map[string][]byte{"user": []byte("admin"), "password": []byte("CANARY-fake-value")},
		},
		"no data gives no values": {
			want: map[string][]byte{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &generators.Fake{Spec: generators.FakeSpec{Data: tc.data}}
			before := f.DeepCopy()
			res, err := Fake().Generate(context.Background(), f, nil, "ns")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			for k := range res.Values {
				res.Values[k] = []byte("changed")
			}
			if diff := cmp.Diff(before, f); diff != "" {
				t.Errorf("changing the result changed the resource (-before +after):\n%s", diff)
			}
		})
	}
	_, err := Fake().Generate(context.Background(), &generators.Password{}, nil, "ns")
	if want := "the Fake generator takes a *generators.Fake, not *generators.Password"; err == nil || err.Error() != want {
		t.Errorf("another kind: error %v; want %q", err, want)
	}
}

func TestKinds(t *testing.T) {
	reg, err := generator.NewRegistry(Password(), UUID(), Fake())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{generators.KindFake, generators.KindPassword, generators.KindUUID}
	if diff := cmp.Diff(want, reg.Kinds()); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}
