package snippet_test

import (
	"os"
	"strings"
	"testing"
)

// The top-level README quotes this package's reconciler; the quote must be
// the code that compiles here.
func TestREADMEQuotesTheSnippet(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("snippet.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "With controller-runtime, a `Reconcile`")
	if !ok {
		t.Fatal("the README no longer introduces the controller-runtime snippet")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("no go block after the introduction")
	}
	block, _, _ = strings.Cut(block, "```")
	if lines := strings.Count(block, "\n"); lines > 30 {
		t.Errorf("the README's controller-runtime snippet has %d lines, over 30", lines)
	}
	if !strings.Contains(string(code), block) {
		t.Errorf("the README's controller-runtime snippet is not in snippet.go:\n%s", block)
	}
}
