package template

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/Masterminds/sprig/v3"
	"github.com/google/go-cmp/cmp"
)

func TestRedact(t *testing.T) {
	tests := map[string]struct {
		msg     string
		secrets []string
		public  string
		want    string
	}{
		"no secrets":         {msg: "plain", want: "plain"},
		"whole value":        {msg: `bad value "hunter22": no`, secrets: []string{"hunter22"}, want: `bad value "[redacted]": no`},
		"every occurrence":   {msg: "abc-x abc", secrets: []string{"abc"}, want: "[redacted] [redacted]"},
		"short values stay":  {msg: "line 1: 42", secrets: []string{"1", "42"}, want: "line 1: 42"},
		"Go-quoted form":     {msg: `parsing "a\nb\"c"`, secrets: []string{"a\nb\"c"}, want: `parsing "[redacted]"`},
		"JSON form":          {msg: `{"v":"\u003cpw\u003e"}`, secrets: []string{"<pw>"}, want: `{"v":"[redacted]"}`},
		"fragment":           {msg: "error at `correct-h`", secrets: []string{"correct-horse-battery"}, want: "error at `[redacted]`"},
		"fragment in public": {msg: `at <filterPEM "CERTIFICATE" .x>: bad`, secrets: []string{"-----BEGIN CERTIFICATE-----"}, public: `{{ filterPEM "CERTIFICATE" .x }}`, want: `at <filterPEM "CERTIFICATE" .x>: bad`},
		"rest of the word": {
			msg: `time "p4ssw0rd-is-l\x0aong" bad`, secrets: []string{"p4ssw0rd-is-l\nong"}, want: `time "[redacted]" bad`,
		},
		"the mark itself": {msg: "[redacted] x", secrets: []string{"red"}, want: "[[redacted]] x"},
		"whole runes":     {msg: "é secret-value", secrets: []string{"\xa9 secret-value"}, want: "[redacted]"},
		"longest first":   {msg: "abcdef", secrets: []string{"abc", "abcdef"}, want: "[redacted]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, redact(tc.msg, tc.secrets, tc.public)); diff != "" {
				t.Errorf("redact (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	long := string(make([]byte, maxReason-1)) + "éé"
	got := truncate(long)
	if want := long[:maxReason-1] + "... (truncated)"; got != want {
		t.Errorf("truncate cut inside a rune or in the wrong place: %q", got[maxReason-4:])
	}
	if got := truncate("short"); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
}

// The rewritten until, untilStep and seq give what sprig's do.
func TestSequencesMatchSprig(t *testing.T) {
	sf := sprig.TxtFuncMap()
	sprigUntil := sf["until"].(func(int) []int)
	sprigUntilStep := sf["untilStep"].(func(int, int, int) []int)
	sprigSeq := sf["seq"].(func(...int) string)
	values := []int{-7, -3, -1, 0, 1, 2, 3, 8}
	for _, a := range values {
		got, err := until(a)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sprigUntil(a), got); diff != "" {
			t.Errorf("until(%d) (-sprig +ours):\n%s", a, diff)
		}
		for _, b := range values {
			for _, c := range values {
				got, err := untilStep(a, b, c)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(sprigUntilStep(a, b, c), got); diff != "" {
					t.Errorf("untilStep(%d, %d, %d) (-sprig +ours):\n%s", a, b, c, diff)
				}
				for _, params := range [][]int{{}, {a}, {a, b}, {a, b, c}, {a, b, c, a}} {
					got, err := seq(params...)
					if err != nil {
						t.Fatal(err)
					}
					if want := sprigSeq(params...); got != want {
						t.Errorf("seq(%v) = %q, sprig gives %q", params, got, want)
					}
				}
			}
		}
	}
	if _, err := untilStep(math.MinInt, math.MaxInt, 1); err == nil {
		t.Error("untilStep over the whole int range did not fail")
	}
}

// printfSize is never less than what fmt prints.
func TestPrintfSize(t *testing.T) {
	tests := map[string]struct {
		format string
		args   []any
	}{
		"plain":             {"no verbs", nil},
		"string":            {"%s and %v", []any{"abc", "defg"}},
		"quoted":            {"%q %+q %#q", []any{"a\x00\"é", "é\U0001F600", "x"}},
		"hex":               {"% #x %X", []any{"abc", []byte{1, 2, 255}}},
		"bytes as numbers":  {"%v %d", []any{[]byte{255, 0, 1}, []byte{9}}},
		"widths":            {"%10s|%-20d|%08.3f", []any{"a", 3, 3.14159}},
		"star":              {"%*d %.*f %-*s", []any{12, 5, 3, 2.5, -9, "x"}},
		"indexes":           {"%[2]s %[1]s %[2]s %[1]*[2]s", []any{5, "bb"}},
		"bad index":         {"%[9]s %[x]d %[1", []any{"a"}},
		"missing and extra": {"%s %s", []any{1}},
		"extra":             {"%s", []any{"a", 2, []int{1, 2}}},
		"floats":            {"%f %e %g %b", []any{1e300, 1e-300, 5.0, 1.5}},
		"ints":              {"%b %o %x %c %U", []any{-1 << 62, 8, 255, 'x', 0x1F600}},
		"containers":        {"%v %+v %#v", []any{map[string]any{"a": []any{"b", 1}}, struct{ A []string }{[]string{"x"}}, []any{"q", 2.5, nil}}},
		"types and percent": {"%T %% %p", []any{"s", &struct{}{}}},
		"no verb at end":    {"abc %", nil},
		"flags only":        {"%-+# 0", []any{1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := len(fmt.Sprintf(tc.format, tc.args...))
			if bound := printfSize(tc.format, tc.args); bound < got {
				t.Errorf("printfSize = %d, fmt printed %d bytes", bound, got)
			}
		})
	}
}

func TestWalker(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = []any{cyclic}
	shared := []any{"x"}
	tests := map[string]struct {
		v       any
		limit   int
		wantErr error
		size    int
	}{
		"string":                    {v: "abcd", limit: 10, size: 4},
		"slice counts elements":     {v: []string{"ab", "c"}, limit: 100, size: 2*8 + 3},
		"map counts entries":        {v: map[string]int{"ab": 1}, limit: 100, size: 16 + 2 + 8},
		"over the limit":            {v: "abcdef", limit: 5, wantErr: ErrTooLarge},
		"cyclic":                    {v: cyclic, limit: 1000, wantErr: errCyclic},
		"shared but not cyclic":     {v: []any{shared, shared}, limit: 1000, size: 2*8 + 2*(8+1)},
		"nil pointer and interface": {v: []any{nil, (*int)(nil)}, limit: 100, size: 16},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := walker{limit: tc.limit}
			err := w.walk(reflect.ValueOf(tc.v), 0)
			if tc.wantErr != nil {
				if err == nil || !(err == tc.wantErr || fmt.Sprint(err) == fmt.Sprintf("value is %v", tc.wantErr)) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.size != tc.size {
				t.Errorf("size = %d, want %d", w.size, tc.size)
			}
		})
	}
}
