package aws_test

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
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// The generators sign with a user key whose secret is a canary: no error
// may quote it.
const (
	genKeyID  = "AKIAGENERATOR0000000"
	genSecret = canary + "-secret-access-key"
)

// genHarness is a harness whose user signs with the canary key, kept in
// Secret "gen".
func genHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.needEmulator()
	h.emu.AddAccessKey(genKeyID, genSecret, awsemu.UserARN)
	h.creds.SetSecret(namespace, "gen", "id", genKeyID)
	h.creds.SetSecret(namespace, "gen", "secret", genSecret)
	return h
}

func genKeys() secretstore.AWSAuth {
	return secretstore.AWSAuth{SecretRef: &secretstore.AWSAuthSecretRef{
		AccessKeyID:     secretstore.SecretKeySelector{Name: "gen", Key: "id"},
		SecretAccessKey: secretstore.SecretKeySelector{Name: "gen", Key: "secret"},
	}}
}

func ecrToken(region string, mod func(*generators.ECRAuthorizationTokenSpec)) *generators.ECRAuthorizationToken {
	g := &generators.ECRAuthorizationToken{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: namespace},
		Spec:       generators.ECRAuthorizationTokenSpec{Region: region, Auth: genKeys()},
	}
	if mod != nil {
		mod(&g.Spec)
	}
	return g
}

func stsToken(region string, mod func(*generators.STSSessionTokenSpec)) *generators.STSSessionToken {
	g := &generators.STSSessionToken{
		ObjectMeta: metav1.ObjectMeta{Name: "session", Namespace: namespace},
		Spec:       generators.STSSessionTokenSpec{Region: region, Auth: genKeys()},
	}
	if mod != nil {
		mod(&g.Spec)
	}
	return g
}

// noValue fails the test if err quotes a credential.
func noValue(t *testing.T, err error, values ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range append([]string{canary, genSecret}, values...) {
		if v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("the error quotes a value: %v", err)
		}
	}
}

func TestECRGenerator(t *testing.T) {
	const lifetime = 10 * time.Minute
	tests := map[string]struct {
		mod        func(*generators.ECRAuthorizationTokenSpec)
		setup      func(h *harness)
		wantCaller string
		wantCalls  map[string]int
		observed   []aws.Call
	}{
		"static keys": {
			wantCaller: awsemu.UserARN,
			wantCalls:  map[string]int{"ecr:GetAuthorizationToken": 1},
			observed:   []aws.Call{{Service: "ECR", Operation: "GetAuthorizationToken", Attempts: 1}},
		},
		"throttled once": {
			setup:      func(h *harness) { h.emu.Throttle("ecr:GetAuthorizationToken", 1) },
			wantCaller: awsemu.UserARN,
			wantCalls:  map[string]int{"ecr:GetAuthorizationToken": 2},
			observed:   []aws.Call{{Service: "ECR", Operation: "GetAuthorizationToken", Attempts: 2, Throttled: 1}},
		},
		"static session keys": {
			setup: func(h *harness) {
				h.emu.AddSessionKey("ASIAGENERATOR", genSecret, "token-"+canary, roleARN("temp"), time.Now().Add(time.Hour))
				h.creds.SetSecret(namespace, "temp", "id", "ASIAGENERATOR")
				h.creds.SetSecret(namespace, "temp", "token", "token-"+canary)
			},
			mod: func(s *generators.ECRAuthorizationTokenSpec) {
				s.Auth.SecretRef.AccessKeyID.Name = "temp"
				s.Auth.SecretRef.SessionToken = &secretstore.SecretKeySelector{Name: "temp", Key: "token"}
			},
			wantCaller: roleARN("temp"),
			wantCalls:  map[string]int{"ecr:GetAuthorizationToken": 1},
			observed:   []aws.Call{{Service: "ECR", Operation: "GetAuthorizationToken", Attempts: 1}},
		},
		"an assumed role": {
			setup: func(h *harness) {
				h.emu.AddRole(awsemu.Role{ARN: roleARN("puller"), TrustedPrincipals: []string{awsemu.UserARN}})
			},
			mod:        func(s *generators.ECRAuthorizationTokenSpec) { s.Role = roleARN("puller") },
			wantCaller: "arn:aws:sts::" + awsemu.Account + ":assumed-role/puller/secretsync",
			wantCalls:  map[string]int{"sts:AssumeRole": 1, "ecr:GetAuthorizationToken": 1},
			observed: []aws.Call{
				{Service: "STS", Operation: "AssumeRole", Attempts: 1},
				{Service: "ECR", Operation: "GetAuthorizationToken", Attempts: 1},
			},
		},
		"a credential reference naming its namespace": {
			mod: func(s *generators.ECRAuthorizationTokenSpec) {
				s.Auth.SecretRef.SecretAccessKey.Namespace = ptr(namespace)
				s.Scope = "private"
			},
			wantCaller: awsemu.UserARN,
			wantCalls:  map[string]int{"ecr:GetAuthorizationToken": 1},
			observed:   []aws.Call{{Service: "ECR", Operation: "GetAuthorizationToken", Attempts: 1}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := genHarness(t)
			h.emu.SetECRTokenLifetime(lifetime)
			if tc.setup != nil {
				tc.setup(h)
			}
			var log callLog
			g := aws.NewECRGenerator(append(h.opts, aws.WithRetry(3, time.Millisecond), aws.WithCallObserver(log.observe))...)
			h.emu.ResetCalls()
			res, err := g.Generate(context.Background(), ecrToken(h.region, tc.mod), secretsOnly{h.creds}, namespace)
			if err != nil {
				noValue(t, err)
				t.Fatal(err)
			}
			issued := h.emu.ECRTokens()
			if len(issued) != 1 {
				t.Fatalf("the emulator issued %d tokens, want 1", len(issued))
			}
			tok := issued[0]
			want := map[string]string{
				"username":       "AWS",
				"password":       tok.Password,
				"proxy_endpoint": "https://" + awsemu.Account + ".dkr.ecr." + h.region + ".amazonaws.com",
				"expires_at":     strconv.FormatInt(tok.Expires.Unix(), 10),
			}
			if diff := cmp.Diff(want, asStrings(res.Values)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if until := time.Until(tok.Expires); res.TTL > until+time.Second || res.TTL < until-time.Second || res.TTL > lifetime {
				t.Errorf("TTL %v, want the token's %v", res.TTL, until)
			}
			if res.State != nil {
				t.Errorf("State %v, want none", res.State)
			}
			if tok.Caller != tc.wantCaller {
				t.Errorf("token issued to %s, want %s", tok.Caller, tc.wantCaller)
			}
			if diff := cmp.Diff(tc.wantCalls, h.emu.CallCounts()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.observed, log.calls); diff != "" {
				t.Errorf("observed calls (-want +got):\n%s", diff)
			}
		})
	}
}

// ECR Public serves its API in us-east-1, so this emulator does too.
func TestECRGeneratorPublic(t *testing.T) {
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	emu.AddAccessKey(genKeyID, genSecret, awsemu.UserARN)
	emu.SetECRTokenLifetime(time.Hour)
	creds := &fake.Credentials{}
	creds.SetSecret(namespace, "gen", "id", genKeyID)
	creds.SetSecret(namespace, "gen", "secret", genSecret)
	g := aws.NewECRGenerator(aws.WithEndpoint(emu.URL), aws.WithRetry(2, 10*time.Millisecond))
	obj := ecrToken("us-east-1", func(s *generators.ECRAuthorizationTokenSpec) { s.Scope = "public" })

	res, err := g.Generate(context.Background(), obj, creds, namespace)
	if err != nil {
		t.Fatal(err)
	}
	tok := emu.ECRTokens()[0]
	want := map[string]string{"username": "AWS", "password": tok.Password, "expires_at": strconv.FormatInt(tok.Expires.Unix(), 10)}
	if diff := cmp.Diff(want, asStrings(res.Values)); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if !tok.Public || res.TTL > time.Hour || res.TTL < time.Hour-5*time.Second {
		t.Errorf("token %+v, TTL %v", tok, res.TTL)
	}
	if diff := cmp.Diff(map[string]int{"ecr-public:GetAuthorizationToken": 1}, emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	emu.Deny(awsemu.UserARN, "sts:GetServiceBearerToken")
	_, err = g.Generate(context.Background(), obj, creds, namespace)
	if err == nil || !strings.Contains(err.Error(), "ECR PUBLIC GetAuthorizationToken: AccessDeniedException") || !strings.Contains(err.Error(), "sts:GetServiceBearerToken") {
		t.Errorf("want AccessDeniedException for sts:GetServiceBearerToken, got %v", err)
	}
	noValue(t, err)
}

func TestECRGeneratorErrors(t *testing.T) {
	tests := map[string]struct {
		obj       func(region string) runtime.Object
		namespace string
		setup     func(h *harness)
		want      []string // in the error
		notFound  bool
		calls     int // requests that reach the emulator
	}{
		"another kind": {
			obj:  func(string) runtime.Object { return &generators.Password{} },
			want: []string{"takes a *generators.ECRAuthorizationToken, not *generators.Password"},
		},
		"an unknown scope": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Scope = "global" })
			},
			want: []string{`spec.scope must be private or public, not "global"`},
		},
		"no region": {
			obj:  func(string) runtime.Object { return ecrToken("", nil) },
			want: []string{`spec.region "" is not an AWS region`},
		},
		"a role that is not an ARN": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Role = "puller" })
			},
			want: []string{`spec.role "puller" is not an ARN`},
		},
		"secretRef and jwt": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) {
					s.Auth.JWTAuth = &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "sa"}}
				})
			},
			want: []string{"spec.auth: set secretRef or jwt, not both"},
		},
		"a key without a name": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Auth.SecretRef.SecretAccessKey.Name = "" })
			},
			want: []string{"spec.auth.secretRef.secretAccessKeySecretRef needs name and key"},
		},
		"a key in another namespace": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Auth.SecretRef.AccessKeyID.Namespace = ptr("team-b") })
			},
			want: []string{`spec.auth.secretRef.accessKeyIDSecretRef.namespace: a generator reads credentials in namespace "team-a" only, not "team-b"`},
		},
		"no namespace": {
			obj:       func(r string) runtime.Object { return ecrToken(r, nil) },
			namespace: "-",
			want:      []string{"spec.auth.secretRef.accessKeyIDSecretRef: no namespace to read credentials in"},
		},
		"a ServiceAccount in another namespace": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) {
					s.Auth = secretstore.AWSAuth{JWTAuth: &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "sa", Namespace: ptr("kube-system")}}}
				})
			},
			want: []string{`spec.auth.jwt.serviceAccountRef.namespace: a generator reads credentials in namespace "team-a" only, not "kube-system"`},
		},
		"jwt without a role": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) {
					s.Auth = secretstore.AWSAuth{JWTAuth: &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "sa"}}}
				})
			},
			want: []string{"spec.auth.jwt needs a role: set spec.role or annotate the ServiceAccount with " + aws.RoleAnnotation},
		},
		"a missing credential Secret": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Auth.SecretRef.AccessKeyID.Name = "absent" })
			},
			want: []string{"access key ID", "Secret team-a/absent"},
		},
		"a wrong secret key": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Auth.SecretRef.SecretAccessKey.Name = "wrong" })
			},
			want:  []string{"ECR GetAuthorizationToken: InvalidSignatureException"},
			calls: 1,
		},
		"denied": {
			obj:   func(r string) runtime.Object { return ecrToken(r, nil) },
			setup: func(h *harness) { h.emu.Deny(awsemu.UserARN, "ecr:GetAuthorizationToken") },
			want:  []string{"ECR GetAuthorizationToken: AccessDeniedException: User: " + awsemu.UserARN + " is not authorized to perform: ecr:GetAuthorizationToken"},
			calls: 1,
		},
		"throttled past the retries": {
			obj:   func(r string) runtime.Object { return ecrToken(r, nil) },
			setup: func(h *harness) { h.emu.Throttle("ecr:GetAuthorizationToken", 10) },
			want:  []string{"gave up after 3 attempts: ECR GetAuthorizationToken: ThrottlingException: Rate exceeded"},
			calls: 3,
		},
		"a role that does not trust the user": {
			obj: func(r string) runtime.Object {
				return ecrToken(r, func(s *generators.ECRAuthorizationTokenSpec) { s.Role = roleARN("stranger") })
			},
			setup: func(h *harness) { h.emu.AddRole(awsemu.Role{ARN: roleARN("stranger")}) },
			want:  []string{"STS AssumeRole: AccessDenied: User: " + awsemu.UserARN + " is not authorized to perform: sts:AssumeRole"},
			// The credentials fail before ECR is called.
			calls: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := genHarness(t)
			h.creds.SetSecret(namespace, "wrong", "secret", "wrong-"+canary)
			if tc.setup != nil {
				tc.setup(h)
			}
			ns := namespace
			if tc.namespace == "-" {
				ns = ""
			}
			h.emu.ResetCalls()
			g := aws.NewECRGenerator(append(h.opts, aws.WithRetry(3, time.Millisecond))...)
			res, err := g.Generate(context.Background(), tc.obj(h.region), secretsOnly{h.creds}, ns)
			if err == nil {
				t.Fatalf("want an error, got %v", res)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in the error, got %v", w, err)
				}
			}
			if errors.Is(err, provider.ErrNotFound) {
				t.Errorf("the error is ErrNotFound: %v", err)
			}
			if strings.Contains(err.Error(), "RequestID") {
				t.Errorf("the error carries a request ID: %v", err)
			}
			noValue(t, err, "wrong-"+canary)
			if n := h.emu.TotalCalls(""); n != tc.calls {
				t.Errorf("%d requests reached AWS, want %d: %v", n, tc.calls, h.emu.CallCounts())
			}
			if len(h.emu.ECRTokens()) != 0 {
				t.Errorf("a token was issued")
			}
		})
	}
}

// IRSA: the generator's ServiceAccount, in the namespace it generates
// for, is exchanged for the role's credentials.
func TestECRGeneratorWebIdentity(t *testing.T) {
	h := genHarness(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://oidc.example"
	h.emu.TrustIssuer(issuer, &key.PublicKey)
	subject := "system:serviceaccount:" + namespace + ":puller"
	h.emu.AddRole(awsemu.Role{ARN: roleARN("irsa"), WebIdentity: &awsemu.WebIdentityTrust{Issuer: issuer, Subject: subject}})
	var asked []string
	h.creds.SetToken(func(_ context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
		asked = append(asked, ns+"/"+name)
		return signJWT(t, key, map[string]any{
			"iss": issuer, "sub": "system:serviceaccount:" + ns + ":" + name, "aud": audiences,
			"exp": time.Now().Add(exp).Unix(), "iat": time.Now().Unix(),
		}), nil
	})
	obj := ecrToken(h.region, func(s *generators.ECRAuthorizationTokenSpec) {
		s.Auth = secretstore.AWSAuth{JWTAuth: &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "puller"}}}
		s.Role = roleARN("irsa")
	})
	res, err := aws.NewECRGenerator(h.opts...).Generate(context.Background(), obj, secretsOnly{h.creds}, namespace)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{namespace + "/puller"}, asked); diff != "" {
		t.Errorf("tokens requested (-want +got):\n%s", diff)
	}
	if tok := h.emu.ECRTokens()[0]; tok.Caller != "arn:aws:sts::"+awsemu.Account+":assumed-role/irsa/secretsync" || string(res.Values["password"]) != tok.Password {
		t.Errorf("token %+v", tok)
	}
	if n := h.emu.Calls("sts:AssumeRole"); n != 0 {
		t.Errorf("%d AssumeRole calls: the web identity role is spec.role, want 0", n)
	}
}

func TestSTSGenerator(t *testing.T) {
	const serial = "arn:aws:iam::" + awsemu.Account + ":mfa/emulator"
	tests := map[string]struct {
		params  func(emu *awsemu.Server) *generators.RequestParameters
		want    time.Duration
		wantMFA string
	}{
		"twelve hours by default": {want: 12 * time.Hour},
		"a session duration": {
			params: func(*awsemu.Server) *generators.RequestParameters {
				return &generators.RequestParameters{SessionDuration: ptr[int64](900)}
			},
			want: 15 * time.Minute,
		},
		"with MFA": {
			params: func(emu *awsemu.Server) *generators.RequestParameters {
				return &generators.RequestParameters{SessionDuration: ptr[int64](3600), SerialNumber: ptr(serial), TokenCode: ptr(emu.MFACode(serial))}
			},
			want: time.Hour, wantMFA: serial,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := genHarness(t)
			h.emu.AddMFADevice(serial, awsemu.UserARN)
			obj := stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
				if tc.params != nil {
					s.RequestParameters = tc.params(h.emu)
				}
			})
			h.emu.ResetCalls()
			res, err := aws.NewSTSGenerator(h.opts...).Generate(context.Background(), obj, secretsOnly{h.creds}, namespace)
			if err != nil {
				noValue(t, err)
				t.Fatal(err)
			}
			sessions := h.emu.Sessions()
			if len(sessions) != 1 {
				t.Fatalf("%d sessions issued, want 1", len(sessions))
			}
			s := sessions[0]
			if s.Caller != awsemu.UserARN || s.MFASerialNumber != tc.wantMFA || s.AccessKeyID != string(res.Values["access_key_id"]) {
				t.Errorf("session %+v, want the user's, MFA %q, access key %s", s, tc.wantMFA, res.Values["access_key_id"])
			}
			if got := string(res.Values["expiration"]); got != strconv.FormatInt(s.Expires.Unix(), 10) {
				t.Errorf("expiration %s, want %d", got, s.Expires.Unix())
			}
			if until := time.Until(s.Expires); res.TTL > until+time.Second || res.TTL < until-time.Second || res.TTL > tc.want || res.TTL < tc.want-5*time.Second {
				t.Errorf("TTL %v, want %v, the session's %v", res.TTL, tc.want, until)
			}
			if diff := cmp.Diff([]string{"access_key_id", "expiration", "secret_access_key", "session_token"}, keys(res.Values)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if res.State != nil {
				t.Errorf("State %v, want none", res.State)
			}
			if diff := cmp.Diff(map[string]int{"sts:GetSessionToken": 1}, h.emu.CallCounts()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			// The generated credentials work, as the user.
			c, err := aws.New(h.opts...).NewClient(context.Background(), h.store(sm, func(a *secretstore.AWSProvider) {
				a.Auth.SecretRef = &secretstore.AWSAuthSecretRef{
					AccessKeyID:     secretstore.SecretKeySelector{Name: "generated", Key: "access_key_id"},
					SecretAccessKey: secretstore.SecretKeySelector{Name: "generated", Key: "secret_access_key"},
					SessionToken:    &secretstore.SecretKeySelector{Name: "generated", Key: "session_token"},
				}
			}), secretsOnly{secretsOf(namespace, "generated", res.Values)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.(provider.Validator).Validate(context.Background()); err != nil {
				t.Errorf("the generated credentials do not sign: %v", err)
			}
		})
	}
}

func TestSTSGeneratorErrors(t *testing.T) {
	const serial = "arn:aws:iam::" + awsemu.Account + ":mfa/emulator"
	tests := map[string]struct {
		obj   func(h *harness) runtime.Object
		setup func(h *harness)
		want  []string
		calls int
	}{
		"another kind": {
			obj:  func(h *harness) runtime.Object { return ecrToken(h.region, nil) },
			want: []string{"takes a *generators.STSSessionToken, not *generators.ECRAuthorizationToken"},
		},
		"jwt": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.Auth = secretstore.AWSAuth{JWTAuth: &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "sa"}}}
				})
			},
			want: []string{"spec.auth.jwt makes session credentials", "AWS refuses GetSessionToken to session credentials"},
		},
		"a role": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) { s.Role = roleARN("r") })
			},
			want: []string{"spec.role makes session credentials"},
		},
		"a session token": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.Auth.SecretRef.SessionToken = &secretstore.SecretKeySelector{Name: "gen", Key: "token"}
				})
			},
			want: []string{"spec.auth.secretRef.sessionTokenSecretRef names session credentials"},
		},
		"a duration too short": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.RequestParameters = &generators.RequestParameters{SessionDuration: ptr[int64](60)}
				})
			},
			want: []string{"spec.requestParameters.sessionDuration must be from 900 to 129600 seconds, not 60"},
		},
		"a code without a serial number": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.RequestParameters = &generators.RequestParameters{TokenCode: ptr(canary)}
				})
			},
			want: []string{"spec.requestParameters: set serialNumber and tokenCode together"},
		},
		"a malformed code": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.RequestParameters = &generators.RequestParameters{SerialNumber: ptr(serial), TokenCode: ptr(canary)}
				})
			},
			want:  []string{"STS GetSessionToken: ValidationError", "tokenCode"},
			calls: 1,
		},
		"a wrong code": {
			obj: func(h *harness) runtime.Object {
				// Not the code now, nor the one before, which AWS
				// accepts too.
				code := h.emu.MFACode(serial)
				wrong := fmt.Sprintf("%06d", (mustAtoi(code)+500000)%1000000)
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.RequestParameters = &generators.RequestParameters{SerialNumber: ptr(serial), TokenCode: &wrong}
				})
			},
			want:  []string{"STS GetSessionToken: AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code"},
			calls: 1,
		},
		"an unknown MFA device": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
					s.RequestParameters = &generators.RequestParameters{SerialNumber: ptr(serial + "-lost"), TokenCode: ptr("123456")}
				})
			},
			want:  []string{"STS GetSessionToken: AccessDenied: MultiFactorAuthentication failed, unable to validate MFA code"},
			calls: 1,
		},
		"a wrong secret key": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) { s.Auth.SecretRef.SecretAccessKey.Name = "wrong" })
			},
			want:  []string{"STS GetSessionToken: SignatureDoesNotMatch"},
			calls: 1,
		},
		"session credentials from the default chain": {
			obj: func(h *harness) runtime.Object {
				return stsToken(h.region, func(s *generators.STSSessionTokenSpec) { s.Auth = secretstore.AWSAuth{} })
			},
			setup: func(h *harness) {
				h.emu.AddSessionKey("ASIADEFAULT", genSecret, "token-"+canary, roleARN("node"), time.Now().Add(time.Hour))
				h.t.Setenv("AWS_CONFIG_FILE", h.t.TempDir()+"/config")
				h.t.Setenv("AWS_SHARED_CREDENTIALS_FILE", h.t.TempDir()+"/credentials")
				h.t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
				h.t.Setenv("AWS_ACCESS_KEY_ID", "ASIADEFAULT")
				h.t.Setenv("AWS_SECRET_ACCESS_KEY", genSecret)
				h.t.Setenv("AWS_SESSION_TOKEN", "token-"+canary)
			},
			want:  []string{"STS GetSessionToken: AccessDenied: Cannot call GetSessionToken with session credentials"},
			calls: 1,
		},
		"throttled past the retries": {
			obj:   func(h *harness) runtime.Object { return stsToken(h.region, nil) },
			setup: func(h *harness) { h.emu.Throttle("sts:GetSessionToken", 10) },
			want:  []string{"gave up after 3 attempts: STS GetSessionToken: Throttling: Rate exceeded"},
			calls: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := genHarness(t)
			h.creds.SetSecret(namespace, "wrong", "secret", "wrong-"+canary)
			h.emu.AddMFADevice(serial, awsemu.UserARN)
			if tc.setup != nil {
				tc.setup(h)
			}
			h.emu.ResetCalls()
			g := aws.NewSTSGenerator(append(h.opts, aws.WithRetry(3, time.Millisecond))...)
			res, err := g.Generate(context.Background(), tc.obj(h), secretsOnly{h.creds}, namespace)
			if err == nil {
				t.Fatalf("want an error, got %v", res)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in the error, got %v", w, err)
				}
			}
			noValue(t, err, "wrong-"+canary)
			if n := h.emu.TotalCalls(""); n != tc.calls {
				t.Errorf("%d requests reached AWS, want %d: %v", n, tc.calls, h.emu.CallCounts())
			}
			if len(h.emu.Sessions()) != 0 {
				t.Errorf("a session was issued")
			}
		})
	}
}

// An MFA code is good once: a renewal with the spec's code fails, naming
// the operation and not the code.
func TestSTSGeneratorMFACodeOnce(t *testing.T) {
	const serial = "arn:aws:iam::" + awsemu.Account + ":mfa/emulator"
	h := genHarness(t)
	h.emu.AddMFADevice(serial, awsemu.UserARN)
	code := h.emu.MFACode(serial)
	obj := stsToken(h.region, func(s *generators.STSSessionTokenSpec) {
		s.RequestParameters = &generators.RequestParameters{SerialNumber: ptr(serial), TokenCode: &code}
	})
	g := aws.NewSTSGenerator(h.opts...)
	if _, err := g.Generate(context.Background(), obj, secretsOnly{h.creds}, namespace); err != nil {
		t.Fatal(err)
	}
	_, err := g.Generate(context.Background(), obj, secretsOnly{h.creds}, namespace)
	if err == nil || !strings.Contains(err.Error(), "STS GetSessionToken: AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code") {
		t.Fatalf("want AccessDenied for a used code, got %v", err)
	}
	noValue(t, err, code)
}

// Both generators serve their kinds in a registry.
func TestGeneratorKinds(t *testing.T) {
	r, err := generator.NewRegistry(aws.NewECRGenerator(), aws.NewSTSGenerator(), &aws.ECRGenerator{}, &aws.STSGenerator{})
	if err == nil {
		t.Fatalf("two generators of one kind: want an error, got %v", r.Kinds())
	}
	r, err = generator.NewRegistry(&aws.ECRGenerator{}, &aws.STSGenerator{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{generators.KindECRAuthorizationToken, generators.KindSTSSessionToken}, r.Kinds()); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func asStrings(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// secretsOf returns credentials holding values as the Secret
// namespace/name.
func secretsOf(namespace, name string, values map[string][]byte) *fake.Credentials {
	c := &fake.Credentials{}
	for k, v := range values {
		c.SetSecret(namespace, name, k, string(v))
	}
	return c
}

// signJWT signs claims with RS256, as a kube-apiserver signs
// ServiceAccount tokens.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}
