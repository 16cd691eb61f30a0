package azure_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/log"

	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// No error carries a secret value or a credential, whatever fails; nor
// does anything the Azure SDK logs, at its most verbose.
func TestErrorsNeverCarryValues(t *testing.T) {
	var (
		mu     sync.Mutex
		logged strings.Builder
	)
	log.SetListener(func(_ log.Event, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logged.WriteString(msg + "\n")
	})
	t.Cleanup(func() { log.SetListener(nil) })

	h := newHarness(t)
	h.emu.SetSecret("json", `{"password":"`+canary+`"}`)
	h.emu.SetSecret("text", "not json "+canary)
	h.emu.SetTags(azureemu.Secrets, "json", map[string]string{"note": canary, "nested": `{"k":"` + canary + `"}`})
	for _, n := range []string{"many-1", "many-2", "many-3"} {
		h.emu.SetSecret(n, canary)
	}
	h.creds.SetSecret(namespace, "wrong", "client-secret", "wrong-"+canary)
	h.creds.SetSecret(namespace, "wrong", "client-id", appID)
	h.creds.SetSecret(namespace, "garbage", "cert", "-----BEGIN PRIVATE KEY-----\n"+canary+"\n-----END PRIVATE KEY-----\n")
	h.creds.SetSecret(namespace, "garbage", "pfx", "\x30\x82"+canary)
	h.creds.SetAnnotations(namespace, "sa", map[string]string{"azure.workload.identity/client-id": appID, "azure.workload.identity/tenant-id": azureemu.TenantID})
	h.creds.SetToken(func(context.Context, string, string, []string, time.Duration) (string, error) {
		return "eyJhbGciOiJSUzI1NiJ9." + canary + ".c2ln", nil
	})

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
	for key, prop := range map[string]string{"json": "missing", "text": "password"} {
		s, err := c.GetSecret(ctx, provider.Ref{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Property(prop)
		collect("property", err)
		if key == "text" {
			_, err = s.Map()
			collect("map", err)
		}
	}
	for _, prop := range []string{"missing", "note.deeper", "nested.missing"} {
		_, err := read(c, provider.Ref{Key: "json", Metadata: true}, prop)
		collect("tag "+prop, err)
	}
	_, err := read(c, provider.Ref{Key: "cert/json"}, "")
	collect("a secret read as a certificate", err)

	bad := map[string]func(*secretstore.AzureKVProvider){
		"a wrong client secret": func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef.ClientID.Name, a.AuthSecretRef.ClientSecret.Name = "wrong", "wrong"
		},
		"a certificate that is not one": func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef.ClientSecret, a.AuthSecretRef.ClientCertificate = nil, &secretstore.SecretKeySelector{Name: "garbage", Key: "cert"}
		},
		"a PKCS#12 that is not one": func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef.ClientSecret, a.AuthSecretRef.ClientCertificate = nil, &secretstore.SecretKeySelector{Name: "garbage", Key: "pfx"}
		},
		"a federated token Entra refuses": func(a *secretstore.AzureKVProvider) {
			wi := secretstore.AzureWorkloadIdentity
			a.AuthType, a.AuthSecretRef, a.TenantID = &wi, nil, nil
			a.ServiceAccountRef = &secretstore.ServiceAccountSelector{Name: "sa"}
		},
	}
	for what, mod := range bad {
		bc, err := h.newClient(h.store(mod))
		if err != nil {
			collect(what, err)
			continue
		}
		_, err = read(bc, provider.Ref{Key: "json"}, "password")
		collect(what, err)
		collect(what+", validated", bc.(provider.Validator).Validate(ctx))
		_, err = bc.(provider.Finder).Find(ctx, provider.Find{Name: "many"})
		collect(what+", find", err)
	}

	h.emu.Deny("*", "secrets/get")
	_, err = read(c, provider.Ref{Key: "json"}, "password")
	collect("denied", err)
	_, err = c.(provider.Finder).Find(ctx, provider.Find{Name: "many"})
	collect("find denied", err)
	h.emu.Allow("*", "secrets/get")
	h.emu.Throttle("secrets/get", -1, time.Minute)
	_, err = read(c, provider.Ref{Key: "json"}, "password")
	collect("throttled", err)
	_, err = c.(provider.Finder).Find(ctx, provider.Find{Name: "many"})
	collect("find throttled", err)

	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logged.String(), canary) {
		t.Errorf("the Azure SDK logged a value:\n%s", logged.String())
	}
	t.Logf("checked %d errors and %d lines the SDK logged", len(errs), strings.Count(logged.String(), "\n"))
}
