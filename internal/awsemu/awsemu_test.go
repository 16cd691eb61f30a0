package awsemu_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awsemu"
)

const region = "us-east-1"

func config(emu *awsemu.Server, id, secret, token string) sdkaws.Config {
	return sdkaws.Config{
		Region:       region,
		BaseEndpoint: sdkaws.String(emu.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, token),
		Retryer:      func() sdkaws.Retryer { return sdkaws.NopRetryer{} },
		HTTPClient:   emu.Client(),
	}
}

func defaultConfig(emu *awsemu.Server) sdkaws.Config {
	return config(emu, awsemu.AccessKeyID, awsemu.SecretAccessKey, "")
}

// code returns the API error code of err, or "" when there is none.
func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// post sends a raw JSON 1.1 request, signed by sign if not nil.
func post(t *testing.T, emu *awsemu.Server, target, body string, sign func(*http.Request, string)) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, emu.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if sign != nil {
		sign(req, body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not a JSON body: %s", b)
	}
	return resp.StatusCode, out
}

func signer(id, secret, service string, at time.Time) func(*http.Request, string) {
	return func(req *http.Request, body string) {
		sum := sha256.Sum256([]byte(body))
		creds := sdkaws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
		err := v4.NewSigner().SignHTTP(context.Background(), creds, req, fmt.Sprintf("%x", sum), service, region, at)
		if err != nil {
			panic(err)
		}
	}
}

func TestRequestAuthentication(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	emu.PutSecret("db", "v")
	const target, body = "secretsmanager.GetSecretValue", `{"SecretId":"db"}`
	tests := map[string]struct {
		sign       func(*http.Request, string)
		wantStatus int
		wantType   string
	}{
		"signed":                {sign: signer(awsemu.AccessKeyID, awsemu.SecretAccessKey, "secretsmanager", time.Now()), wantStatus: 200},
		"unsigned":              {wantStatus: 400, wantType: "MissingAuthenticationTokenException"},
		"an unknown key":        {sign: signer("AKIAUNKNOWN", awsemu.SecretAccessKey, "secretsmanager", time.Now()), wantStatus: 400, wantType: "UnrecognizedClientException"},
		"a wrong secret":        {sign: signer(awsemu.AccessKeyID, "wrong", "secretsmanager", time.Now()), wantStatus: 400, wantType: "InvalidSignatureException"},
		"another service":       {sign: signer(awsemu.AccessKeyID, awsemu.SecretAccessKey, "ssm", time.Now()), wantStatus: 400, wantType: "InvalidSignatureException"},
		"signed 20 minutes ago": {sign: signer(awsemu.AccessKeyID, awsemu.SecretAccessKey, "secretsmanager", time.Now().Add(-20*time.Minute)), wantStatus: 400, wantType: "InvalidSignatureException"},
		"a body changed after signing": {sign: func(req *http.Request, _ string) {
			signer(awsemu.AccessKeyID, awsemu.SecretAccessKey, "secretsmanager", time.Now())(req, `{"SecretId":"other"}`)
		}, wantStatus: 400, wantType: "InvalidSignatureException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, out := post(t, emu, target, body, tc.sign)
			typ, _ := out["__type"].(string)
			if status != tc.wantStatus || typ != tc.wantType {
				t.Fatalf("got %d %v, want %d %s", status, out, tc.wantStatus, tc.wantType)
			}
			if msg, _ := out["message"].(string); tc.wantType != "" && msg == "" {
				t.Errorf("no message: %v", out)
			}
		})
	}
	if n := emu.Calls("secretsmanager:GetSecretValue"); n != len(tests) {
		t.Errorf("counted %d calls, want %d", n, len(tests))
	}
}

func TestSessionCredentials(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	emu.PutSecret("db", "v")
	emu.AddSessionKey("ASIALIVE", "s", "token", "arn:aws:sts::123456789012:assumed-role/r/s", time.Now().Add(time.Hour))
	emu.AddSessionKey("ASIAOLD", "s", "token", "arn:aws:sts::123456789012:assumed-role/r/s", time.Now().Add(-time.Second))
	tests := map[string]struct {
		id, token, want string
	}{
		"a live session":    {id: "ASIALIVE", token: "token"},
		"an expired one":    {id: "ASIAOLD", token: "token", want: "ExpiredTokenException"},
		"a wrong token":     {id: "ASIALIVE", token: "other", want: "UnrecognizedClientException"},
		"the token missing": {id: "ASIALIVE", want: "UnrecognizedClientException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := secretsmanager.NewFromConfig(config(emu, tc.id, "s", tc.token))
			_, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: sdkaws.String("db")})
			if code(err) != tc.want {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

func TestSecretsManagerLimitsAndPages(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	var ids []string
	for i := 0; i < 25; i++ {
		name := fmt.Sprintf("s/%02d", i)
		emu.PutSecret(name, "v")
		ids = append(ids, name)
	}
	c := secretsmanager.NewFromConfig(defaultConfig(emu))
	ctx := context.Background()

	_, err := c.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids[:21]})
	if code(err) != "ValidationException" {
		t.Errorf("21 IDs: want ValidationException, got %v", err)
	}
	out, err := c.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: append(ids[:19:19], "missing")})
	if err != nil || len(out.SecretValues) != 19 || len(out.Errors) != 1 || sdkaws.ToString(out.Errors[0].ErrorCode) != "ResourceNotFoundException" {
		t.Errorf("19 IDs and a missing one: %+v, %v", out, err)
	}

	var names []string
	pages := secretsmanager.NewBatchGetSecretValuePaginator(c, &secretsmanager.BatchGetSecretValueInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"s/"}}}, MaxResults: sdkaws.Int32(10),
	})
	for n := 0; pages.HasMorePages(); n++ {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.SecretValues {
			names = append(names, sdkaws.ToString(v.Name))
		}
	}
	if diff := cmp.Diff(ids, names); diff != "" {
		t.Errorf("BatchGetSecretValue pages (-want +got):\n%s", diff)
	}

	_, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{NextToken: sdkaws.String("forged")})
	if code(err) != "InvalidNextTokenException" {
		t.Errorf("a forged token: want InvalidNextTokenException, got %v", err)
	}
	list, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"!s/0", "!s/1"}}}})
	if err != nil || len(list.SecretList) != 25 {
		t.Errorf("negated values are ORed, so this matches all: %d, %v", len(list.SecretList), err)
	}
	list, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"!s/0"}}}})
	if err != nil || len(list.SecretList) != 15 {
		t.Errorf("a negation: %d secrets, %v", len(list.SecretList), err)
	}
}

func TestSecretsManagerVersions(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	v1 := emu.PutSecret("db", "one")
	v2 := emu.PutSecret("db", "two")
	v3 := emu.PutSecret("db", "three")
	c := secretsmanager.NewFromConfig(defaultConfig(emu))
	get := func(in *secretsmanager.GetSecretValueInput) (string, []string, error) {
		in.SecretId = sdkaws.String("db")
		out, err := c.GetSecretValue(context.Background(), in)
		if err != nil {
			return "", nil, err
		}
		return sdkaws.ToString(out.SecretString), out.VersionStages, nil
	}
	tests := map[string]struct {
		in     secretsmanager.GetSecretValueInput
		want   string
		stages []string
		code   string
	}{
		"current":                 {want: "three", stages: []string{"AWSCURRENT"}},
		"previous":                {in: secretsmanager.GetSecretValueInput{VersionStage: sdkaws.String("AWSPREVIOUS")}, want: "two", stages: []string{"AWSPREVIOUS"}},
		"a deprecated version":    {in: secretsmanager.GetSecretValueInput{VersionId: &v1}, want: "one"},
		"a version and its stage": {in: secretsmanager.GetSecretValueInput{VersionId: &v3, VersionStage: sdkaws.String("AWSCURRENT")}, want: "three", stages: []string{"AWSCURRENT"}},
		"a version, another stage": {in: secretsmanager.GetSecretValueInput{VersionId: &v2, VersionStage: sdkaws.String("AWSCURRENT")},
			code: "InvalidParameterException"},
		"a short version ID": {in: secretsmanager.GetSecretValueInput{VersionId: sdkaws.String("v1")}, code: "ValidationException"},
		"an unknown stage":   {in: secretsmanager.GetSecretValueInput{VersionStage: sdkaws.String("AWSPENDING")}, code: "ResourceNotFoundException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, stages, err := get(&tc.in)
			if code(err) != tc.code || got != tc.want || !cmp.Equal(stages, tc.stages) {
				t.Fatalf("got %q %v %v, want %q %v %s", got, stages, err, tc.want, tc.stages, tc.code)
			}
		})
	}
}

func TestParameters(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	emu.PutParameter("/a/secure", awsemu.SecureString, "hush")
	c := ssm.NewFromConfig(defaultConfig(emu))
	ctx := context.Background()
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: sdkaws.String("/a/secure")})
	if err != nil || sdkaws.ToString(out.Parameter.Value) == "hush" {
		t.Errorf("without decryption a SecureString must not read as its value: %v", err)
	}
	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf("/p%d", i)
	}
	if _, err := c.GetParameters(ctx, &ssm.GetParametersInput{Names: names}); code(err) != "ValidationException" {
		t.Errorf("11 names: want ValidationException, got %v", err)
	}
	if _, err := c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: sdkaws.String("/a"), MaxResults: sdkaws.Int32(11)}); code(err) != "ValidationException" {
		t.Errorf("MaxResults 11: want ValidationException, got %v", err)
	}
	if _, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: sdkaws.String("/a/secure:2")}); code(err) != "ParameterVersionNotFound" {
		t.Errorf("version 2: want ParameterVersionNotFound, got %v", err)
	}
}

func TestSecretsManagerWrites(t *testing.T) {
	ctx := context.Background()
	id := func(s string) *string { return sdkaws.String(s) }
	token := "00000000-0000-4000-8000-000000000001"
	tests := map[string]struct {
		// do makes the calls under test of a secret "db" holding "v",
		// tagged a=1 and b=2, with the default key.
		do   func(*secretsmanager.Client) error
		code string
		want func(*testing.T, awsemu.SecretState, bool)
	}{
		"delete with both a window and force": {
			do: func(c *secretsmanager.Client) error {
				_, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id("db"), RecoveryWindowInDays: sdkaws.Int64(7), ForceDeleteWithoutRecovery: sdkaws.Bool(true)})
				return err
			},
			code: "InvalidParameterException",
		},
		"delete with a window too short": {
			do: func(c *secretsmanager.Client) error {
				_, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id("db"), RecoveryWindowInDays: sdkaws.Int64(6)})
				return err
			},
			code: "InvalidParameterException",
		},
		"delete with the default window": {
			do: func(c *secretsmanager.Client) error {
				_, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id("db")})
				return err
			},
			want: func(t *testing.T, s awsemu.SecretState, ok bool) {
				if !ok || s.RecoveryWindowInDays != 30 {
					t.Errorf("exists %v, window %d", ok, s.RecoveryWindowInDays)
				}
			},
		},
		"a secret scheduled for deletion refuses reads, writes and its name": {
			do: func(c *secretsmanager.Client) error {
				if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id("db"), RecoveryWindowInDays: sdkaws.Int64(7)}); err != nil {
					return err
				}
				if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id("db")}); code(err) != "InvalidRequestException" {
					return fmt.Errorf("GetSecretValue: %v", err)
				}
				if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: id("db"), SecretString: id("w")}); code(err) != "InvalidRequestException" {
					return fmt.Errorf("CreateSecret: %v", err)
				}
				if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id("db")}); code(err) != "InvalidRequestException" {
					return fmt.Errorf("DeleteSecret again: %v", err)
				}
				_, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id("db"), SecretString: id("w")})
				return err
			},
			code: "InvalidRequestException",
			want: func(t *testing.T, s awsemu.SecretState, ok bool) {
				if !ok || s.RecoveryWindowInDays != 7 || *s.String != "v" {
					t.Errorf("exists %v, window %d, value %q", ok, s.RecoveryWindowInDays, *s.String)
				}
			},
		},
		"restore undoes a deletion": {
			do: func(c *secretsmanager.Client) error {
				if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id("db")}); err != nil {
					return err
				}
				if _, err := c.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: id("db")}); err != nil {
					return err
				}
				_, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id("db")})
				return err
			},
			want: func(t *testing.T, s awsemu.SecretState, ok bool) {
				if !ok || s.RecoveryWindowInDays != 0 {
					t.Errorf("exists %v, window %d", ok, s.RecoveryWindowInDays)
				}
			},
		},
		"a forced delete is immediate, and quiet about a missing secret": {
			do: func(c *secretsmanager.Client) error {
				for _, name := range []string{"db", "db", "none"} {
					if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id(name), ForceDeleteWithoutRecovery: sdkaws.Bool(true)}); err != nil {
						return err
					}
				}
				return nil
			},
			want: func(t *testing.T, _ awsemu.SecretState, ok bool) {
				if ok {
					t.Error("the secret still exists")
				}
			},
		},
		"a repeated request token makes one version": {
			do: func(c *secretsmanager.Client) error {
				for i := 0; i < 2; i++ {
					out, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id("db"), SecretString: id("w"), ClientRequestToken: &token})
					if err != nil || sdkaws.ToString(out.VersionId) != token {
						return fmt.Errorf("put %d: %v", i, err)
					}
				}
				_, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id("db"), SecretString: id("x"), ClientRequestToken: &token})
				return err
			},
			code: "ResourceExistsException",
			want: func(t *testing.T, s awsemu.SecretState, _ bool) {
				if s.Versions != 2 || *s.String != "w" {
					t.Errorf("%d versions, value %q", s.Versions, *s.String)
				}
			},
		},
		"untag, and describe the key": {
			do: func(c *secretsmanager.Client) error {
				if _, err := c.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: id("db"), TagKeys: []string{"a", "none"}}); err != nil {
					return err
				}
				out, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: id("db")})
				if err != nil || out.KmsKeyId != nil {
					return fmt.Errorf("the default key is not described: %v %v", out.KmsKeyId, err)
				}
				if _, err := c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: id("db"), KmsKeyId: id("alias/mine"), Description: id("d")}); err != nil {
					return err
				}
				if out, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: id("db")}); sdkaws.ToString(out.KmsKeyId) != "alias/mine" {
					return fmt.Errorf("key %v, %v", out.KmsKeyId, err)
				}
				return nil
			},
			want: func(t *testing.T, s awsemu.SecretState, _ bool) {
				if !cmp.Equal(s.Tags, map[string]string{"b": "2"}) || s.Description != "d" {
					t.Errorf("tags %v, description %q", s.Tags, s.Description)
				}
			},
		},
		"a malformed resource policy": {
			do: func(c *secretsmanager.Client) error {
				_, err := c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: id("db"), ResourcePolicy: id("{")})
				return err
			},
			code: "MalformedPolicyDocumentException",
		},
		"a resource policy put, read and deleted": {
			do: func(c *secretsmanager.Client) error {
				if _, err := c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: id("db"), ResourcePolicy: id(`{"Version":"2012-10-17"}`)}); err != nil {
					return err
				}
				out, err := c.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: id("db")})
				if err != nil || sdkaws.ToString(out.ResourcePolicy) != `{"Version":"2012-10-17"}` {
					return fmt.Errorf("got %v, %v", out.ResourcePolicy, err)
				}
				if _, err := c.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: id("db")}); err != nil {
					return err
				}
				if out, err = c.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: id("db")}); err != nil || out.ResourcePolicy != nil {
					return fmt.Errorf("after delete: %v, %v", out.ResourcePolicy, err)
				}
				return nil
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			emu := awsemu.New(region)
			defer emu.Close()
			c := secretsmanager.NewFromConfig(defaultConfig(emu))
			if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name: id("db"), SecretString: id("v"), KmsKeyId: id("alias/aws/secretsmanager"),
				Tags: []smtypes.Tag{{Key: id("a"), Value: id("1")}, {Key: id("b"), Value: id("2")}},
			}); err != nil {
				t.Fatal(err)
			}
			if err := tc.do(c); code(err) != tc.code || (tc.code == "" && err != nil) {
				t.Fatalf("got %v, want code %q", err, tc.code)
			}
			if tc.want != nil {
				s, ok := emu.Secret("db")
				tc.want(t, s, ok)
			}
		})
	}
}

func TestParameterWrites(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	c := ssm.NewFromConfig(defaultConfig(emu))
	ctx := context.Background()
	name := sdkaws.String("/db")
	tags := []ssmtypes.Tag{{Key: sdkaws.String("a"), Value: sdkaws.String("1")}, {Key: sdkaws.String("b"), Value: sdkaws.String("2")}}
	_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: name, Value: sdkaws.String("v"), Type: ssmtypes.ParameterTypeSecureString,
		Description: sdkaws.String("d"), KeyId: sdkaws.String("alias/k"), Tier: ssmtypes.ParameterTierAdvanced, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: name, Value: sdkaws.String("w")}); code(err) != "ParameterAlreadyExists" {
		t.Errorf("a put without Overwrite: got %v", err)
	}
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: name, Value: sdkaws.String("w"), Overwrite: sdkaws.Bool(true), Tags: tags}); code(err) != "ValidationException" {
		t.Errorf("tags with Overwrite: got %v", err)
	}
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: name, Value: sdkaws.String("w"), Overwrite: sdkaws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: name, TagKeys: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: sdkaws.String("/none"), TagKeys: []string{"a"}})
	if code(err) != "InvalidResourceId" {
		t.Errorf("untag a missing parameter: got %v", err)
	}
	got, _ := emu.Parameter("/db")
	want := awsemu.ParameterState{Type: awsemu.SecureString, Value: "w", Version: 2, Description: "d", KeyID: "alias/k", Tier: awsemu.TierAdvanced, Tags: map[string]string{"b": "2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("an overwrite keeps what it does not name (-want +got):\n%s", diff)
	}
}

// jwt returns an RS256 token signed with key.
func jwt(key *rsa.PrivateKey, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestWebIdentityTokens(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	trusted, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	const issuer = "https://issuer.example/"
	emu.TrustIssuer(issuer, &trusted.PublicKey)
	role := "arn:aws:iam::123456789012:role/irsa"
	emu.AddRole(awsemu.Role{ARN: role, WebIdentity: &awsemu.WebIdentityTrust{Issuer: issuer, Subject: "system:serviceaccount:ns:sa"}})

	valid := func() map[string]any {
		return map[string]any{"iss": issuer, "sub": "system:serviceaccount:ns:sa", "aud": []string{"sts.amazonaws.com"}, "exp": time.Now().Add(time.Hour).Unix()}
	}
	with := func(k string, v any) map[string]any {
		c := valid()
		c[k] = v
		return c
	}
	tests := map[string]struct {
		token string
		code  string
	}{
		"a valid token":          {token: jwt(trusted, valid())},
		"an audience as string":  {token: jwt(trusted, with("aud", "sts.amazonaws.com"))},
		"another signing key":    {token: jwt(other, valid()), code: "InvalidIdentityToken"},
		"an unknown issuer":      {token: jwt(trusted, with("iss", "https://evil.example/")), code: "InvalidIdentityToken"},
		"another audience":       {token: jwt(trusted, with("aud", "vault")), code: "InvalidIdentityToken"},
		"an expired token":       {token: jwt(trusted, with("exp", time.Now().Add(-time.Minute).Unix())), code: "ExpiredTokenException"},
		"a token not valid yet":  {token: jwt(trusted, with("nbf", time.Now().Add(time.Hour).Unix())), code: "InvalidIdentityToken"},
		"another subject":        {token: jwt(trusted, with("sub", "system:serviceaccount:ns:other")), code: "AccessDenied"},
		"not a JWT":              {token: "opaque", code: "InvalidIdentityToken"},
		"a tampered claims part": {token: strings.Replace(jwt(trusted, valid()), ".", ".e30", 1), code: "InvalidIdentityToken"},
	}
	c := sts.NewFromConfig(sdkaws.Config{Region: region, BaseEndpoint: sdkaws.String(emu.URL), HTTPClient: emu.Client(), Retryer: func() sdkaws.Retryer { return sdkaws.NopRetryer{} }})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := c.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: &role, RoleSessionName: sdkaws.String("test"), WebIdentityToken: &tc.token,
			})
			if code(err) != tc.code {
				t.Fatalf("want %q, got %v", tc.code, err)
			}
			if err != nil {
				return
			}
			// The credentials work, as the assumed role.
			who, err := sts.NewFromConfig(config(emu, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)).
				GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil || sdkaws.ToString(who.Arn) != "arn:aws:sts::123456789012:assumed-role/irsa/test" {
				t.Fatalf("caller %v, %v", who, err)
			}
		})
	}
}

func TestThrottleAndDeny(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	emu.PutSecret("db", "v")
	c := secretsmanager.NewFromConfig(defaultConfig(emu))
	get := func() error {
		_, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: sdkaws.String("db")})
		return err
	}
	emu.Throttle("secretsmanager:GetSecretValue", 2)
	for i, want := range []string{"ThrottlingException", "ThrottlingException", ""} {
		if err := get(); code(err) != want {
			t.Errorf("call %d: want %q, got %v", i, want, err)
		}
	}
	if n := emu.Throttled("secretsmanager:GetSecretValue"); n != 2 {
		t.Errorf("throttled %d, want 2", n)
	}
	emu.Deny(awsemu.UserARN, "secretsmanager:GetSecretValue")
	if err := get(); code(err) != "AccessDeniedException" {
		t.Errorf("want AccessDeniedException, got %v", err)
	}
}
