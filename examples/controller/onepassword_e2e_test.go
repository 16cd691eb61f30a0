package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/onepassword"
)

// The External Secrets Operator's 1Password example: a SecretStore with
// two vaults by priority, a Password item read field by field and
// extracted whole, a Document item read file by file; and a find of the
// items whose title matches a regexp and that carry a tag. The controller
// follows a rotation, and resolves each vault name once however often it
// refreshes.
func TestE2EOnePassword(t *testing.T) {
	h := setup(t)
	emu := onepassemu.New()
	t.Cleanup(emu.Close)
	emu.AddVault("staging")
	emu.AddVault("shared")
	env := emu.PutItem("staging", onepassemu.Item{Title: "my-env-config", Category: "PASSWORD", Fields: []onepassemu.Field{
		{Label: "password", Value: "pw-1", Type: "CONCEALED", Purpose: "PASSWORD"},
		{Label: "MY_ENV_VAR1", Value: "value1", Section: "EXTERNAL-SECRETS"},
		{Label: "MY_ENV_VAR2", Value: canary, Section: "EXTERNAL-SECRETS"},
	}})
	emu.PutItem("shared", onepassemu.Item{Title: "my-env-config", Fields: []onepassemu.Field{{Label: "password", Value: "shadowed"}}})
	emu.PutItem("shared", onepassemu.Item{Title: "my-cert", Category: "DOCUMENT", Files: []onepassemu.File{
		{Name: "tls.crt", Content: []byte("-----BEGIN CERTIFICATE-----\n" + canary + "\n")},
		{Name: "tls.key", Content: []byte("-----BEGIN PRIVATE KEY-----\n" + canary + "\n")},
	}})
	for _, it := range []onepassemu.Item{
		{Title: "db-primary", Tags: []string{"prod", "db"}, Fields: []onepassemu.Field{{Label: "password", Value: "primary-pw"}}},
		{Title: "db-replica", Tags: []string{"prod"}, Fields: []onepassemu.Field{{Label: "password", Value: "replica-pw"}}},
		{Title: "db-test", Tags: []string{"test"}, Fields: []onepassemu.Field{{Label: "password", Value: "test-pw"}}},
		{Title: "web-prod", Tags: []string{"prod"}, Fields: []onepassemu.Field{{Label: "password", Value: "web-pw"}}},
	} {
		emu.PutItem("shared", it)
	}

	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{providers: []provider.Provider{onepassword.New(onepassword.WithHTTPClient(emu.Client()))}})
	if _, err := h.admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "onepassword-connect-token-staging"},
		StringData: map[string]string{"token": onepassemu.Token},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: staging
  namespace: %s
spec:
  provider:
    onepassword:
      connectHost: %s
      vaults:
        staging: 1  # look in this vault first
        shared: 2   # next look in here. error if not found
      auth:
        secretRef:
          connectTokenSecretRef:
            name: onepassword-connect-token-staging
            key: token
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: my-env-config
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: staging
  target:
    name: my-env-config
    creationPolicy: Owner
  data:
  - secretKey: password
    remoteRef:
      key: my-env-config
  dataFrom:
  - extract:
      key: my-env-config
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: my-cert
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: staging
  target:
    name: my-cert
    creationPolicy: Owner
    template:
      type: kubernetes.io/tls
  data:
  - secretKey: tls.crt
    remoteRef:
      key: my-cert
      property: tls.crt
  - secretKey: tls.key
    remoteRef:
      key: my-cert
      property: tls.key
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: prod-databases
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: staging
  target:
    name: prod-databases
  dataFrom:
  - find:
      name:
        regexp: "^db-"
      tags:
        prod: ""
`, ns, emu.URL, ns, ns, ns)

	s := h.waitSecretData(t, ns, "my-env-config", "password", "pw-1")
	for k, want := range map[string]string{"MY_ENV_VAR1": "value1", "MY_ENV_VAR2": canary} {
		if got := string(s.Data[k]); got != want {
			t.Errorf("%s: got %d bytes, want the field's value", k, len(got))
		}
	}
	h.waitReady(t, ns, "my-env-config", externalsecret.ReasonSecretSynced)
	c := h.waitSecretData(t, ns, "my-cert", "tls.key", "-----BEGIN PRIVATE KEY-----\n"+canary+"\n")
	if c.Type != corev1.SecretTypeTLS {
		t.Errorf("type %s", c.Type)
	}
	db := h.waitSecretData(t, ns, "prod-databases", "db-primary", "primary-pw")
	if len(db.Data) != 2 || string(db.Data["db-replica"]) != "replica-pw" {
		t.Errorf("prod-databases has %d keys, want db-primary and db-replica", len(db.Data))
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		row := h.tableRow(t, ns, resSecretStores, "staging")
		return row["Ready"] == "True", fmt.Sprint(row)
	})

	// Rotation: the item's new password reaches the Secret.
	emu.PutItem("staging", onepassemu.Item{ID: env, Title: "my-env-config", Category: "PASSWORD", Fields: []onepassemu.Field{
		{Label: "password", Value: "pw-2", Type: "CONCEALED", Purpose: "PASSWORD"},
		{Label: "MY_ENV_VAR1", Value: "value1", Section: "EXTERNAL-SECRETS"},
		{Label: "MY_ENV_VAR2", Value: canary, Section: "EXTERNAL-SECRETS"},
	}})
	start := time.Now()
	h.waitSecretData(t, ns, "my-env-config", "password", "pw-2")
	t.Logf("rotation reached the Secret in %v", time.Since(start))

	// Refreshes read the items again but never look a vault up again.
	before := emu.CallCounts()
	time.Sleep(3 * time.Second)
	after := emu.CallCounts()
	t.Logf("Connect calls: %v, then over 3s of 1s refreshes: %v", before, after)
	if after["GetItem"]-before["GetItem"] < 2 {
		t.Errorf("want the items read on every refresh, got %d reads in 3s", after["GetItem"]-before["GetItem"])
	}
	if after["ListVaults"] != before["ListVaults"] || before["ListVaults"] > 4 {
		t.Errorf("vault lookups: %d before the refreshes, %d after; want a handful, then none", before["ListVaults"], after["ListVaults"])
	}
}
