package onepassword_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// No error carries a field value, a file's content or the token, whatever
// fails.
func TestErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	secretToken := "token-" + canary
	h.emu.AddToken(secretToken)
	h.creds.SetSecret(namespace, "canary-token", "token", secretToken)
	h.emu.PutItem("staging", onepassemu.Item{Title: "db", Fields: []onepassemu.Field{
		{Label: "password", Value: canary}, {Label: "dup", Value: canary}, {Label: "dup", Value: canary},
	}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "doc", Category: "DOCUMENT", Files: []onepassemu.File{{Name: "f", Content: []byte(canary)}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "twice", Fields: []onepassemu.Field{{Label: "password", Value: canary}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "twice", Fields: []onepassemu.Field{{Label: "password", Value: canary}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "two-passwords", Fields: []onepassemu.Field{{Label: "password", Value: canary}, {Label: "password", Value: canary}}})

	c := h.client(func(op *secretstore.OnePasswordProvider) { op.Auth.SecretRef.ConnectToken.Name = "canary-token" })
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("expected an error")
			return
		}
		errs = append(errs, err)
	}
	get := func(key string) provider.Secret {
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: key})
		if err != nil {
			collect(err)
			return nil
		}
		return s
	}
	if s := get("db"); s != nil {
		for _, p := range []string{"dup", "missing", "file/missing"} {
			_, err := s.Property(p)
			collect(err)
		}
		_, err := s.Map()
		collect(err)
	}
	if s := get("doc"); s != nil {
		_, err := s.Property("other")
		collect(err)
	}
	get("twice")
	get("missing")
	find := func(f provider.Find) {
		_, err := c.(provider.Finder).Find(context.Background(), f)
		collect(err)
	}
	find(provider.Find{Path: "db"})
	find(provider.Find{Path: "db", Name: "("})
	// Finds by title.
	find(provider.Find{Name: "("})
	find(provider.Find{})
	find(provider.Find{Name: "^twice$"})
	find(provider.Find{Name: "^two-passwords$"})
	for _, op := range []string{"GetItem", "ListFiles", "ListItems"} {
		h.emu.Fail(op, 500, 1)
		find(provider.Find{Name: "^doc$"})
	}
	_, err := c.GetSecret(context.Background(), provider.Ref{Key: "db", Version: "1"})
	collect(err)

	for _, op := range []string{"GetItem", "ListFiles", "ListItems"} {
		h.emu.Fail(op, 500, 1)
		get("doc")
	}
	h.emu.RevokeToken(secretToken)
	get("db")
	find(provider.Find{Name: "^db$"})
	collect(c.(provider.Validator).Validate(context.Background()))

	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	t.Logf("checked %d errors", len(errs))
}
