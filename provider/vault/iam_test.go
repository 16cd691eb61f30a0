package vault_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// auth.iam logs in to a real Vault's AWS auth method, IAM type. Vault's
// mount is configured with sts_endpoint pointing at the AWS emulator, so
// Vault replays the signed sts:GetCallerIdentity there, and the emulator
// checks the signature as STS would; the provider is pointed at the same
// emulator with AWS_STS_ENDPOINT, as ESO documents it.
func TestIamAuth(t *testing.T) {
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	const reader = "arn:aws:iam::" + awsemu.Account + ":role/vault-reader"
	emu.AddRole(awsemu.Role{ARN: reader, TrustedPrincipals: []string{awsemu.UserARN}, ExternalID: "ext-1"})
	t.Setenv("AWS_STS_ENDPOINT", emu.URL)

	v := startVault(t, vaulttest.Options{})
	v.mountKV("kv", "2")
	v.putV2("kv", "app/db", map[string]any{"user": "admin"})
	v.policy("read", readPolicy)
	v.enableAuth("aws", "aws")
	v.write("auth/aws/config/client", map[string]any{
		"sts_endpoint":               emu.URL,
		"sts_region":                 "us-east-1",
		"iam_server_id_header_value": "vault.secretsync.test",
	})
	v.write("auth/aws/role/user", map[string]any{
		"auth_type": "iam", "bound_iam_principal_arn": []string{awsemu.UserARN},
		"resolve_aws_unique_ids": false, "token_policies": "read",
	})
	v.write("auth/aws/role/reader", map[string]any{
		"auth_type": "iam", "bound_iam_principal_arn": []string{reader},
		"resolve_aws_unique_ids": false, "token_policies": "read",
	})
	c := &creds{secrets: map[string]string{
		"team/aws/access-key": awsemu.AccessKeyID,
		"team/aws/secret-key": awsemu.SecretAccessKey,
		"team/aws/wrong-key":  "not-the-secret",
	}}
	keys := func(secret string) *secretstore.VaultAwsAuthSecretRef {
		return &secretstore.VaultAwsAuthSecretRef{AccessKeyID: sel("aws", "access-key"), SecretAccessKey: sel("aws", secret)}
	}
	tests := map[string]struct {
		iam     secretstore.VaultIamAuth
		wantErr string
	}{
		"static keys": {iam: secretstore.VaultIamAuth{Role: "user", SecretRef: keys("secret-key"), VaultAWSIAMServerID: "vault.secretsync.test"}},
		"an assumed role with an external ID": {iam: secretstore.VaultIamAuth{Role: "reader", AWSIAMRole: reader, ExternalID: "ext-1",
			SecretRef: keys("secret-key"), VaultAWSIAMServerID: "vault.secretsync.test"}},
		"a wrong external ID": {iam: secretstore.VaultIamAuth{Role: "reader", AWSIAMRole: reader, ExternalID: "ext-2",
			SecretRef: keys("secret-key"), VaultAWSIAMServerID: "vault.secretsync.test"}, wantErr: "STS AssumeRole: HTTP 403 AccessDenied"},
		"a key STS does not accept": {iam: secretstore.VaultIamAuth{Role: "user", SecretRef: keys("wrong-key"), VaultAWSIAMServerID: "vault.secretsync.test"},
			wantErr: "log in at auth/aws/login"},
		"no server ID, which the mount requires": {iam: secretstore.VaultIamAuth{Role: "user", SecretRef: keys("secret-key")},
			wantErr: "log in at auth/aws/login"},
		"a Vault role the identity is not bound to": {iam: secretstore.VaultIamAuth{Role: "reader", SecretRef: keys("secret-key"), VaultAWSIAMServerID: "vault.secretsync.test"},
			wantErr: "log in at auth/aws/login"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := v.logins("aws")
			iam := tc.iam
			client := newClient(t, store(secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: &secretstore.VaultAuth{Iam: &iam}}), c)
			for i := 0; i < 3; i++ {
				got, err := readValue(context.Background(), client, provider.Ref{Key: "app/db"}, "user")
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("want an error with %q, got %q, %v", tc.wantErr, got, err)
					}
					noCanary(t, err)
					if strings.Contains(err.Error(), awsemu.SecretAccessKey) {
						t.Fatal("the error holds the secret access key")
					}
					return
				}
				if err != nil || string(got) != "admin" {
					t.Fatalf("read %d: got %q, %v", i, got, err)
				}
			}
			if got := v.logins("aws") - before; got != 1 {
				t.Errorf("3 reads made %d logins, want 1", got)
			}
		})
	}
}

// auth.iam.jwt exchanges a ServiceAccount token for the credentials of the
// role its eks.amazonaws.com/role-arn annotation names (IRSA), then logs in
// to a real Vault with them.
func TestIamAuthServiceAccount(t *testing.T) {
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	const issuer = "https://kubernetes.default.svc"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	emu.TrustIssuer(issuer, &key.PublicKey)
	const role = "arn:aws:iam::" + awsemu.Account + ":role/irsa"
	emu.AddRole(awsemu.Role{ARN: role, WebIdentity: &awsemu.WebIdentityTrust{Issuer: issuer, Subject: "system:serviceaccount:team:app"}})
	t.Setenv("AWS_STS_ENDPOINT", emu.URL)

	v := startVault(t, vaulttest.Options{})
	v.mountKV("kv", "2")
	v.putV2("kv", "app/db", map[string]any{"user": "admin"})
	v.policy("read", readPolicy)
	v.enableAuth("aws", "aws")
	v.write("auth/aws/config/client", map[string]any{"sts_endpoint": emu.URL, "sts_region": "us-east-1"})
	v.write("auth/aws/role/irsa", map[string]any{
		"auth_type": "iam", "bound_iam_principal_arn": []string{role},
		"resolve_aws_unique_ids": false, "token_policies": "read",
	})

	c := &fake.Credentials{}
	c.SetAnnotations("team", "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	c.SetToken(func(_ context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
		now := time.Now()
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
			"iss": issuer, "sub": "system:serviceaccount:" + ns + ":" + name, "aud": audiences,
			"iat": now.Unix(), "exp": now.Add(exp).Unix(),
		})
		digest := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		return signed + "." + base64.RawURLEncoding.EncodeToString(sig), err
	})
	iam := &secretstore.VaultIamAuth{Role: "irsa", JWTAuth: &secretstore.VaultAwsJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "app"}}}
	client := newClient(t, store(secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: &secretstore.VaultAuth{Iam: iam}}), c)
	got, err := readValue(context.Background(), client, provider.Ref{Key: "app/db"}, "user")
	if err != nil || string(got) != "admin" {
		t.Fatalf("got %q, %v", got, err)
	}
	if diff := c.LastAudiences(); len(diff) != 1 || diff[0] != "sts.amazonaws.com" {
		t.Errorf("ServiceAccount token audiences %v, want [sts.amazonaws.com]", diff)
	}
	sessions := emu.Sessions()
	if len(sessions) != 1 || !sessions[0].WebIdentity || sessions[0].RoleARN != role {
		t.Errorf("sessions %+v, want one web identity session of %s", sessions, role)
	}
}
