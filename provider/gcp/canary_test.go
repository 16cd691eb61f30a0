package gcp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// No error carries a secret value or a credential, whatever fails.
func TestErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	const issuer = "https://kubernetes.default.svc"
	s := newSigner(t, issuer)
	h.emu.TrustIssuer(issuer, &s.key.PublicKey)
	h.emu.AddWorkloadPool(gcpemu.WorkloadPool{Pool: pool, Provider: clusterURL, Issuer: issuer})

	h.emu.PutSecret("json", `{"password":"`+canary+`"}`)
	h.emu.PutSecret("text", "not json "+canary)
	h.emu.PutSecret("disabled", canary)
	h.emu.SetVersionState("disabled", h.emu.PutSecret("disabled", canary), gcpemu.Disabled)
	h.emu.SetVersionState("none-enabled", h.emu.PutSecret("none-enabled", canary), gcpemu.Destroyed)
	for i := 0; i < 5; i++ {
		h.emu.PutSecret(fmt.Sprintf("many-%d", i), canary)
	}
	h.creds.SetSecret(namespace, "text", "key.json", "{not json "+canary)
	h.creds.SetSecret(namespace, "badkey", "key.json", `{"type":"service_account","client_email":"x@y","private_key":"-----BEGIN PRIVATE KEY-----\n`+canary+`\n-----END PRIVATE KEY-----\n"}`)
	h.creds.SetSecret(namespace, "typed", "key.json", `{"type":"`+canary+`"}`)

	var errs []error
	collect := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: expected an error", what)
			return
		}
		errs = append(errs, err)
	}
	ctx := context.Background()
	c := h.client(nil)
	for _, k := range []string{"json", "text"} {
		s, err := c.GetSecret(ctx, provider.Ref{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Property("missing")
		collect(k+" property", err)
		_, err = s.Property("password.x")
		collect(k+" nested property", err)
		if _, err := s.Map(); err != nil {
			errs = append(errs, err)
		}
	}
	_, err := read(c, provider.Ref{Key: "disabled"}, "")
	collect("disabled", err)
	_, err = read(h.client(fetch), provider.Ref{Key: "none-enabled"}, "")
	collect("none enabled", err)
	_, err = read(c, provider.Ref{Key: "json", Version: "99"}, "")
	collect("missing version", err)

	for _, name := range []string{"text", "badkey", "typed"} {
		_, err := h.newClient(h.store(func(g *secretstore.GCPSMProvider) { g.Auth.SecretRef.SecretAccessKey.Name = name }))
		collect("key "+name, err)
	}

	// ServiceAccount tokens carrying the canary: one forged, one for a
	// cluster STS does not know.
	forger, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	withCanary := func(key *rsa.PrivateKey) func(context.Context, string, string, []string, time.Duration) (string, error) {
		return func(_ context.Context, ns, name string, aud []string, exp time.Duration) (string, error) {
			return signJWT(key, map[string]any{"iss": issuer, "sub": "system:serviceaccount:" + ns + ":" + name, "aud": aud, "exp": time.Now().Add(exp).Unix(), "note": canary}), nil
		}
	}
	h.creds.SetToken(withCanary(forger))
	wi := h.client(workloadIdentity("reader"))
	_, err = read(wi, provider.Ref{Key: "json"}, "")
	collect("forged token", err)
	collect("forged token validate", wi.(provider.Validator).Validate(ctx))
	h.creds.SetToken(withCanary(s.key))
	_, err = read(h.client(func(g *secretstore.GCPSMProvider) {
		workloadIdentity("reader")(g)
		g.Auth.WorkloadIdentity.ClusterName = "other"
	}), provider.Ref{Key: "json"}, "")
	collect("unknown cluster", err)
	h.creds.SetToken(func(context.Context, string, string, []string, time.Duration) (string, error) {
		return "", fmt.Errorf("token request failed")
	})
	_, err = read(h.client(workloadIdentity("reader")), provider.Ref{Key: "json"}, "")
	collect("token request", err)

	h.emu.Deny("AccessSecretVersion")
	_, err = read(c, provider.Ref{Key: "json"}, "")
	collect("denied", err)
	_, err = c.(provider.Finder).Find(ctx, provider.Find{Path: "many"})
	collect("find denied", err)
	h.emu.Allow("AccessSecretVersion")
	h.emu.FailNext("AccessSecretVersion", codes.Unavailable, 10)
	_, err = read(c, provider.Ref{Key: "json"}, "")
	collect("unavailable", err)
	h.emu.FailNext("AccessSecretVersion", codes.Unavailable, 0)
	h.emu.CorruptPayloads(true)
	_, err = read(c, provider.Ref{Key: "json"}, "")
	collect("corrupt", err)
	_, err = c.(provider.Finder).Find(ctx, provider.Find{Path: "many"})
	collect("find corrupt", err)

	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	if len(errs) < 20 {
		t.Errorf("checked only %d errors", len(errs))
	}
	t.Logf("checked %d errors", len(errs))
}
