package aws_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/secretstore"
)

func roleARN(name string) string { return "arn:aws:iam::" + awsemu.Account + ":role/" + name }

func TestStaticKeyErrors(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("db", "v")
	h.emu.AddSessionKey("ASIATEMPORARY", "temp-secret-"+canary, "token-"+canary, roleARN("temp"), time.Now().Add(time.Hour))
	h.emu.AddSessionKey("ASIAEXPIRED", "expired-secret", "expired-token", roleARN("temp"), time.Now().Add(-time.Minute))
	h.creds.SetSecret(namespace, "temp", "id", "ASIATEMPORARY")
	h.creds.SetSecret(namespace, "temp", "secret", "temp-secret-"+canary)
	h.creds.SetSecret(namespace, "temp", "token", "token-"+canary)
	h.creds.SetSecret(namespace, "expired", "id", "ASIAEXPIRED")
	h.creds.SetSecret(namespace, "expired", "secret", "expired-secret")
	h.creds.SetSecret(namespace, "expired", "token", "expired-token")
	h.creds.SetSecret(namespace, "unknown", "id", "AKIAUNKNOWNKEY000000")
	h.creds.SetSecret(namespace, "wrong", "secret", "not-the-secret-"+canary)

	keys := func(id, secret, token string) func(*secretstore.AWSProvider) {
		return func(a *secretstore.AWSProvider) {
			ref := a.Auth.SecretRef
			ref.AccessKeyID.Name, ref.SecretAccessKey.Name = id, secret
			if token != "" {
				ref.SessionToken = &secretstore.SecretKeySelector{Name: token, Key: "token"}
			}
		}
	}
	tests := map[string]struct {
		mod  func(*secretstore.AWSProvider)
		want string // in the error; empty for success
	}{
		"a session token":       {mod: keys("temp", "temp", "temp")},
		"an expired token":      {mod: keys("expired", "expired", "expired"), want: "ExpiredTokenException: The security token included in the request is expired (the credentials have expired)"},
		"an unknown access key": {mod: keys("unknown", "aws", ""), want: "UnrecognizedClientException: The security token included in the request is invalid. (the access key is not known to AWS)"},
		"a wrong secret key":    {mod: keys("aws", "wrong", ""), want: "InvalidSignatureException: The request signature we calculated does not match"},
		"a token not passed":    {mod: keys("temp", "temp", ""), want: "UnrecognizedClientException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := h.client(sm, tc.mod)
			_, err := read(c, provider.Ref{Key: "db"}, "")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, provider.ErrNotFound) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "RequestID") {
				t.Errorf("the error carries a request ID, which changes on every call: %v", err)
			}
			if err := c.(provider.Validator).Validate(context.Background()); err == nil || !strings.Contains(err.Error(), "STS GetCallerIdentity") {
				t.Errorf("Validate: want an STS error, got %v", err)
			}
		})
	}
	t.Run("a missing credential Secret", func(t *testing.T) {
		// Not ErrNotFound: that would delete the target Secret under
		// deletionPolicy Delete, for a credential's fault.
		_, err := h.newClient(h.store(sm, keys("absent", "aws", "")))
		if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "access key ID") || !strings.Contains(err.Error(), "Secret team-a/absent") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDefaultCredentialChain(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("db", "v")
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", awsemu.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsemu.SecretAccessKey)
	c := h.client(sm, func(a *secretstore.AWSProvider) { a.Auth = secretstore.AWSAuth{} })
	if got, err := read(c, provider.Ref{Key: "db"}, ""); err != nil || got != "v" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// Without WithEndpoint, the SDK's endpoint variables point the provider at
// the emulator: how a controller binary is tested.
func TestEndpointFromEnvironment(t *testing.T) {
	tests := map[string]map[string]string{
		"AWS_ENDPOINT_URL": {"AWS_ENDPOINT_URL": ""},
		"service-specific": {"AWS_ENDPOINT_URL_SECRETS_MANAGER": "", "AWS_ENDPOINT_URL_STS": ""},
	}
	for name, vars := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			h.emu.PutSecret("db", "v")
			for k := range vars {
				t.Setenv(k, h.emu.URL)
			}
			c, err := aws.New().NewClient(context.Background(), h.store(sm, nil), h.creds)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := read(c, provider.Ref{Key: "db"}, ""); err != nil || got != "v" {
				t.Fatalf("got %q, %v", got, err)
			}
			if err := c.(provider.Validator).Validate(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAssumeRoleChain(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("db", "v")
	h.emu.AddRole(awsemu.Role{ARN: roleARN("hop1"), TrustedPrincipals: []string{awsemu.UserARN}})
	h.emu.AddRole(awsemu.Role{ARN: roleARN("hop2"), TrustedPrincipals: []string{roleARN("hop1")}})
	h.emu.AddRole(awsemu.Role{ARN: roleARN("reader"), TrustedPrincipals: []string{roleARN("hop2")}, ExternalID: "ext-1"})
	chain := func(a *secretstore.AWSProvider) {
		a.AdditionalRoles = []string{roleARN("hop1"), roleARN("hop2")}
		a.Role = roleARN("reader")
		a.ExternalID = "ext-1"
		a.SessionTags = []*secretstore.AWSTag{{Key: "team", Value: "a"}}
		team := "team"
		a.TransitiveTagKeys = []*string{&team}
	}
	c := h.client(sm, chain)
	for i := 0; i < 5; i++ {
		if got, err := read(c, provider.Ref{Key: "db"}, ""); err != nil || got != "v" {
			t.Fatalf("read %d: got %q, %v", i, got, err)
		}
	}
	if err := c.(provider.Validator).Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []awsemu.Session{
		{RoleARN: roleARN("hop1"), SessionName: "secretsync", Caller: awsemu.UserARN},
		{RoleARN: roleARN("hop2"), SessionName: "secretsync", Caller: "arn:aws:sts::" + awsemu.Account + ":assumed-role/hop1/secretsync"},
		{RoleARN: roleARN("reader"), SessionName: "secretsync", Caller: "arn:aws:sts::" + awsemu.Account + ":assumed-role/hop2/secretsync",
			ExternalID: "ext-1", Tags: map[string]string{"team": "a"}, TransitiveTagKeys: []string{"team"}},
	}
	if diff := cmp.Diff(want, h.emu.Sessions(), cmpopts.IgnoreFields(awsemu.Session{}, "AccessKeyID", "Expires")); diff != "" {
		t.Errorf("sessions, each assumed once for five reads (-want +got):\n%s", diff)
	}

	t.Run("a wrong external ID", func(t *testing.T) {
		c := h.client(sm, func(a *secretstore.AWSProvider) { chain(a); a.ExternalID = "ext-2" })
		_, err := read(c, provider.Ref{Key: "db"}, "")
		want := "STS AssumeRole: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/hop2/secretsync is not authorized to perform: sts:AssumeRole on resource: " + roleARN("reader")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in the error, got %v", want, err)
		}
	})
	t.Run("a role that denies the read", func(t *testing.T) {
		h.emu.Deny(roleARN("reader"), "secretsmanager:GetSecretValue")
		defer h.emu.Allow(roleARN("reader"), "secretsmanager:GetSecretValue")
		_, err := read(h.client(sm, chain), provider.Ref{Key: "db"}, "")
		want := "Secrets Manager GetSecretValue: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/reader/secretsync is not authorized to perform: secretsmanager:GetSecretValue"
		if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("want %q in the error, got %v", want, err)
		}
	})
}

// sessionTagsPolicy tags the session of spec.role with the store's
// namespace, name and kind, and with Custom, customSessionTags too.
func TestSessionTagsPolicy(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("db", "v")
	h.emu.AddRole(awsemu.Role{ARN: roleARN("tagged"), TrustedPrincipals: []string{awsemu.UserARN}})
	tests := map[string]struct {
		mod  func(*secretstore.AWSProvider)
		want map[string]string
	}{
		"None": {mod: func(a *secretstore.AWSProvider) { a.SessionTagsPolicy = secretstore.AWSSessionTagsPolicyNone }},
		"Simple": {mod: func(a *secretstore.AWSProvider) { a.SessionTagsPolicy = secretstore.AWSSessionTagsPolicySimple },
			want: map[string]string{"esoNamespace": namespace, "esoStoreName": "aws", "esoStoreKind": "SecretStore"}},
		"Custom, with sessionTags": {mod: func(a *secretstore.AWSProvider) {
			a.SessionTagsPolicy = secretstore.AWSSessionTagsPolicyCustom
			a.CustomSessionTags = map[string]string{"team": "a", "env": "prod"}
			a.SessionTags = []*secretstore.AWSTag{{Key: "cost-center", Value: "42"}}
		}, want: map[string]string{"esoNamespace": namespace, "esoStoreName": "aws", "esoStoreKind": "SecretStore", "team": "a", "env": "prod", "cost-center": "42"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := len(h.emu.Sessions())
			c := h.client(sm, func(a *secretstore.AWSProvider) { a.Role = roleARN("tagged"); tc.mod(a) })
			if got, err := read(c, provider.Ref{Key: "db"}, ""); err != nil || got != "v" {
				t.Fatalf("read: got %q, %v", got, err)
			}
			sessions := h.emu.Sessions()[before:]
			if len(sessions) != 1 {
				t.Fatalf("%d sessions, want 1", len(sessions))
			}
			if diff := cmp.Diff(tc.want, sessions[0].Tags, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("session tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegionErrors(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("db", "v")
	c := h.client(sm, func(a *secretstore.AWSProvider) { a.Region = "us-nowhere-9" })
	_, err := read(c, provider.Ref{Key: "db"}, "")
	want := "InvalidSignatureException: Credential should be scoped to a valid region. (check the secret access key and the region)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q in the error, got %v", want, err)
	}
	if _, err := h.newClient(h.store(sm, func(a *secretstore.AWSProvider) { a.Region = "Frankfurt" })); err == nil || !strings.Contains(err.Error(), "is not an AWS region") {
		t.Fatalf("a malformed region: got %v", err)
	}
}

// IRSA with tokens from the TokenRequest API of a real kube-apiserver,
// verified by the emulator's STS against the apiserver's signing key.
func TestWebIdentity(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	env := testenv.StartForTest(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"reader", "stranger"} {
		if _, err := kube.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.creds.SetToken(func(ctx context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
		secs := int64(exp / time.Second)
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &secs},
		}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) {
			// As a host might report it; the provider must not pass
			// it on as a missing remote secret.
			return "", fmt.Errorf("%w: %w", provider.ErrNotFound, err)
		}
		if err != nil {
			return "", err
		}
		return tr.Status.Token, nil
	})
	pub, err := os.ReadFile(filepath.Join(env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := env.Config.Host + "/"
	if err := h.emu.TrustIssuerPEM(issuer, pub); err != nil {
		t.Fatal(err)
	}
	subject := "system:serviceaccount:" + namespace + ":reader"
	h.emu.AddRole(awsemu.Role{ARN: roleARN("irsa"), WebIdentity: &awsemu.WebIdentityTrust{Issuer: issuer, Subject: subject}})
	h.emu.AddRole(awsemu.Role{ARN: roleARN("next"), TrustedPrincipals: []string{roleARN("irsa")}})
	h.emu.PutSecret("db", `{"password":"`+canary+`"}`)

	irsa := func(sa string) func(*secretstore.AWSProvider) {
		return func(a *secretstore.AWSProvider) {
			a.Auth = secretstore.AWSAuth{JWTAuth: &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: sa}}}
			a.Role = roleARN("irsa")
		}
	}

	t.Run("reads with the role, reusing credentials", func(t *testing.T) {
		h.emu.ResetCalls()
		tokens := h.creds.TokenRequests()
		c := h.client(sm, irsa("reader"))
		for i := 0; i < 3; i++ {
			if got, err := read(c, provider.Ref{Key: "db"}, "password"); err != nil || got != canary {
				t.Fatalf("got %q, %v", got, err)
			}
		}
		if n := h.creds.TokenRequests() - tokens; n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
		if diff := cmp.Diff([]string{aws.Audience}, h.creds.LastAudiences()); diff != "" {
			t.Errorf("audiences (-want +got):\n%s", diff)
		}
		if n := h.emu.Calls("sts:AssumeRoleWithWebIdentity"); n != 1 {
			t.Errorf("%d AssumeRoleWithWebIdentity calls, want 1", n)
		}
		last := h.emu.Sessions()[len(h.emu.Sessions())-1]
		if !last.WebIdentity || last.Caller != subject || last.RoleARN != roleARN("irsa") {
			t.Errorf("session %+v", last)
		}
	})
	t.Run("then the additional roles", func(t *testing.T) {
		c := h.client(sm, func(a *secretstore.AWSProvider) {
			irsa("reader")(a)
			a.AdditionalRoles = []string{roleARN("next")}
		})
		if got, err := read(c, provider.Ref{Key: "db"}, "password"); err != nil || got != canary {
			t.Fatalf("got %q, %v", got, err)
		}
		if last := h.emu.Sessions()[len(h.emu.Sessions())-1]; last.RoleARN != roleARN("next") {
			t.Errorf("last session %+v, want one of role next", last)
		}
	})
	t.Run("a ServiceAccount the role does not trust", func(t *testing.T) {
		_, err := read(h.client(sm, irsa("stranger")), provider.Ref{Key: "db"}, "")
		want := "STS AssumeRoleWithWebIdentity: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in the error, got %v", want, err)
		}
	})
	t.Run("an audience STS does not expect", func(t *testing.T) {
		h.emu.AddRole(awsemu.Role{ARN: roleARN("other-aud"), WebIdentity: &awsemu.WebIdentityTrust{Issuer: issuer, Subject: subject, Audience: "vault"}})
		c := h.client(sm, func(a *secretstore.AWSProvider) { irsa("reader")(a); a.Role = roleARN("other-aud") })
		_, err := read(c, provider.Ref{Key: "db"}, "")
		if err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken: Incorrect token audience") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("credentials are refreshed before they expire", func(t *testing.T) {
		h.emu.SetSessionDuration(30 * time.Second) // within the refresh window
		defer h.emu.SetSessionDuration(0)
		h.emu.ResetCalls()
		tokens := h.creds.TokenRequests()
		c := h.client(sm, irsa("reader"))
		for i := 0; i < 2; i++ {
			if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if n := h.creds.TokenRequests() - tokens; n != 2 {
			t.Errorf("%d token requests, want a fresh token for each refresh, 2", n)
		}
		if n := h.emu.Calls("sts:AssumeRoleWithWebIdentity"); n != 2 {
			t.Errorf("%d AssumeRoleWithWebIdentity calls, want 2", n)
		}
	})
	t.Run("the role from the ServiceAccount annotation, then spec.role", func(t *testing.T) {
		// Unlike the harness's, these credentials read ServiceAccounts.
		h.creds.SetAnnotations(namespace, "reader", map[string]string{aws.RoleAnnotation: roleARN("irsa")})
		store := h.store(sm, func(a *secretstore.AWSProvider) { irsa("reader")(a); a.Role = roleARN("next") })
		c, err := aws.New(h.opts...).NewClient(ctx, store, h.creds)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := read(c, provider.Ref{Key: "db"}, "password"); err != nil || got != canary {
			t.Fatalf("got %q, %v", got, err)
		}
		sessions := h.emu.Sessions()
		got := []string{sessions[len(sessions)-2].RoleARN, sessions[len(sessions)-1].RoleARN}
		if diff := cmp.Diff([]string{roleARN("irsa"), roleARN("next")}, got); diff != "" {
			t.Errorf("roles assumed (-want +got):\n%s", diff)
		}
	})
	t.Run("a ServiceAccount that does not exist", func(t *testing.T) {
		_, err := read(h.client(sm, irsa("ghost")), provider.Ref{Key: "db"}, "")
		if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), `serviceaccounts "ghost" not found`) {
			t.Fatalf("want a token error that is not ErrNotFound, got %v", err)
		}
	})
	t.Run("no role anywhere", func(t *testing.T) {
		_, err := h.newClient(h.store(sm, func(a *secretstore.AWSProvider) { irsa("reader")(a); a.Role = "" }))
		if err == nil || !strings.Contains(err.Error(), aws.RoleAnnotation) {
			t.Fatalf("got %v", err)
		}
	})
}
