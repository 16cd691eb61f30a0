package doppler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// No error carries a secret value or the token, whatever fails.
func TestErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	secretToken := "dp.st." + canary
	h.emu.AddServiceToken(secretToken, "auth-api", "prd")
	h.creds.SetSecret(namespace, "canary-token", "dopplerToken", secretToken)
	h.emu.SetSecret("auth-api", "prd", "JSON", `{"password":"`+canary+`"}`)
	h.emu.SetSecret("auth-api", "prd", "TEXT", "not json "+canary)
	withToken := func(d *secretstore.DopplerProvider) { d.Auth.SecretRef.DopplerToken.Name = "canary-token" }
	c := h.client(withToken)
	env := h.client(func(d *secretstore.DopplerProvider) { withToken(d); d.Format = "env" })

	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("expected an error")
			return
		}
		errs = append(errs, err)
	}
	for _, k := range []string{"JSON", "TEXT"} {
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: k})
		if err != nil {
			collect(err)
			continue
		}
		_, err = s.Property("missing")
		collect(err)
		if k == "TEXT" {
			_, err = s.Map()
			collect(err)
		}
	}
	for _, ref := range []provider.Ref{{Key: "MISSING"}, {Key: "lower"}, {Key: "JSON", Version: "1"}} {
		_, err := c.GetSecret(context.Background(), ref)
		collect(err)
	}
	_, err := c.(provider.Finder).Find(context.Background(), provider.Find{Tags: map[string]string{"a": "b"}})
	collect(err)

	h.emu.Throttle(10, "0")
	_, err = c.GetSecret(context.Background(), provider.Ref{Key: "JSON"})
	collect(err)
	_, err = env.(provider.Finder).Find(context.Background(), provider.Find{})
	collect(err)
	h.emu.Throttle(0, "")

	missing := h.client(func(d *secretstore.DopplerProvider) { withToken(d); d.Project, d.Config = "auth-api", "stg" })
	_, err = missing.GetSecret(context.Background(), provider.Ref{Key: "JSON"})
	collect(err)

	h.emu.RevokeToken(secretToken)
	_, err = c.GetSecret(context.Background(), provider.Ref{Key: "JSON"})
	collect(err)
	_, err = env.(provider.Finder).Find(context.Background(), provider.Find{})
	collect(err)
	collect(c.(provider.Validator).Validate(context.Background()))

	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	t.Logf("checked %d errors", len(errs))
}
