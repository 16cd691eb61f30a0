package engine

import (
	"os"
	"strings"
	"testing"
)

// The README's embedding snippet is the body of this package's Example,
// line for line, so it compiles and runs under go test.
func TestREADMESnippetIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Embedding")
	if !ok {
		t.Fatal("README has no Embedding section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("the Embedding section has no go block")
	}
	block, _, _ = strings.Cut(block, "```")
	body := normalize(example)
	want := normalize([]byte(block))
	if len(want) < 5 || !strings.Contains(body, want) {
		t.Errorf("the README's first go block in Embedding is not a part of Example in example_test.go:\n%s", block)
	}
}

// normalize drops indentation and alignment, which gofmt changes.
func normalize(b []byte) string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
