package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
)

// The OpenClaw guide's AWS example, unchanged: a v1beta1 SecretStore with
// IRSA (a ServiceAccount annotated with its role) and an ExternalSecret
// reading two properties. The real SDK talks to the emulator, which checks
// the ServiceAccount token against the real apiserver's signing key.
func TestE2EAWSSeedExample(t *testing.T) {
	h := setup(t)
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	pub, err := os.ReadFile(filepath.Join(h.env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := h.env.Config.Host + "/"
	if err := emu.TrustIssuerPEM(issuer, pub); err != nil {
		t.Fatal(err)
	}
	ns := h.namespace(t, nil)
	const role = "arn:aws:iam::123456789012:role/openclaw-role"
	emu.AddRole(awsemu.Role{ARN: role, WebIdentity: &awsemu.WebIdentityTrust{
		Issuer: issuer, Subject: "system:serviceaccount:" + ns + ":eso-service-account",
	}})
	emu.PutSecret("openclaw/api-keys", `{"anthropic":"sk-ant-1","openai":"sk-oai-1","note":"`+canary+`"}`)

	if _, err := h.admin.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "eso-service-account", Annotations: map[string]string{"eks.amazonaws.com/role-arn": role}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.startController(t, controllerOpts{providers: []provider.Provider{aws.New(aws.WithEndpoint(emu.URL), aws.WithHTTPClient(emu.Client()))}})

	h.apply(t, `
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata:
  name: aws-secrets
  namespace: %s
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        jwt:
          serviceAccountRef:
            name: eso-service-account
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: openclaw-api-keys
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    name: aws-secrets
    kind: SecretStore
  target:
    name: openclaw-api-keys
    creationPolicy: Owner
  data:
    - secretKey: ANTHROPIC_API_KEY
      remoteRef:
        key: openclaw/api-keys
        property: anthropic
    - secretKey: OPENAI_API_KEY
      remoteRef:
        key: openclaw/api-keys
        property: openai
`, ns, ns)
	h.waitSecretData(t, ns, "openclaw-api-keys", "ANTHROPIC_API_KEY", "sk-ant-1")
	h.waitReady(t, ns, "openclaw-api-keys", externalsecret.ReasonSecretSynced)
	if sessions := emu.Sessions(); len(sessions) == 0 || !sessions[0].WebIdentity || sessions[0].RoleARN != role {
		t.Errorf("want a web identity session for %s, got %+v", role, sessions)
	}

	// Rotation: the new version becomes AWSCURRENT and the Secret follows.
	emu.PutSecret("openclaw/api-keys", `{"anthropic":"sk-ant-2","openai":"sk-oai-2","note":"`+canary+`"}`)
	h.waitSecretData(t, ns, "openclaw-api-keys", "ANTHROPIC_API_KEY", "sk-ant-2")
	h.waitSecretData(t, ns, "openclaw-api-keys", "OPENAI_API_KEY", "sk-oai-2")
	t.Logf("emulator calls: %v; web identity sessions: %d", emu.CallCounts(), len(emu.Sessions()))
	if n := len(emu.Sessions()); n != 1 {
		t.Errorf("credentials must be reused across refreshes: %d AssumeRoleWithWebIdentity sessions", n)
	}
}
