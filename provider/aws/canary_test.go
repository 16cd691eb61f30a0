package aws_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// No error carries a secret value or a credential, whatever fails.
func TestErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("json", `{"password":"`+canary+`"}`)
	h.emu.PutSecret("text", "not json "+canary)
	h.emu.PutParameter("/json", awsemu.SecureString, `{"password":"`+canary+`"}`)
	h.emu.PutParameter("/text", awsemu.SecureString, "not json "+canary)
	for i := 0; i < 5; i++ {
		h.emu.PutSecret(fmt.Sprintf("many/%d", i), canary)
	}
	h.emu.AddSessionKey("ASIAEXPIRED", "secret-"+canary, "token-"+canary, roleARN("r"), time.Now().Add(-time.Minute))
	h.creds.SetSecret(namespace, "expired", "id", "ASIAEXPIRED")
	h.creds.SetSecret(namespace, "expired", "secret", "secret-"+canary)
	h.creds.SetSecret(namespace, "expired", "token", "token-"+canary)
	h.creds.SetSecret(namespace, "wrong", "secret", "wrong-"+canary)

	var errs []error
	collect := func(_ string, err error) {
		if err == nil {
			t.Errorf("expected an error")
			return
		}
		errs = append(errs, err)
	}
	valueErr := func(c provider.Client, key, prop string) {
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: key})
		if err != nil {
			collect(key, err)
			return
		}
		_, err = s.Property(prop)
		collect(key, err)
		if _, err := s.Map(); err != nil {
			errs = append(errs, err)
		}
	}
	smc, psc := h.client(sm, nil), h.client(ps, nil)
	valueErr(smc, "json", "missing")
	valueErr(smc, "text", "password")
	valueErr(psc, "/json", "missing")
	valueErr(psc, "/text", "password")

	bad := func(secret, token string) func(*secretstore.AWSProvider) {
		return func(a *secretstore.AWSProvider) {
			a.Auth.SecretRef.SecretAccessKey.Name = secret
			if token != "" {
				a.Auth.SecretRef.AccessKeyID.Name = token
				a.Auth.SecretRef.SessionToken = &secretstore.SecretKeySelector{Name: token, Key: "token"}
			}
		}
	}
	for _, c := range []provider.Client{h.client(sm, bad("wrong", "")), h.client(sm, bad("expired", "expired")), h.client(ps, bad("wrong", ""))} {
		_, err := read(c, provider.Ref{Key: "json"}, "")
		collect("bad keys", err)
		collect("validate", c.(provider.Validator).Validate(context.Background()))
	}

	h.emu.Deny("*", "secretsmanager:GetSecretValue")
	h.emu.Deny("*", "ssm:GetParameter")
	h.emu.Deny("*", "ssm:GetParametersByPath")
	_, err := read(smc, provider.Ref{Key: "json"}, "")
	collect("denied", err)
	_, err = read(psc, provider.Ref{Key: "/json"}, "")
	collect("denied", err)
	_, err = smc.(provider.Finder).Find(context.Background(), provider.Find{Path: "many/"})
	collect("find denied", err)
	_, err = psc.(provider.Finder).Find(context.Background(), provider.Find{})
	collect("find denied", err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := read(smc, provider.Ref{Key: fmt.Sprintf("many/%d", i%5)}, "")
			mu.Lock()
			defer mu.Unlock()
			collect("batched", err)
		}()
	}
	wg.Wait()

	h.emu.Allow("*", "secretsmanager:GetSecretValue")
	h.emu.Throttle("secretsmanager:GetSecretValue", 100)
	_, err = read(smc, provider.Ref{Key: "json"}, "")
	collect("throttled", err)

	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	t.Logf("checked %d errors", len(errs))
}
