package aws_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// The suite runs against the in-process emulator, or, when
// AWS_ENDPOINT_URL is set, against that endpoint (LocalStack, or AWS
// itself) with the credentials of AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. There, tests that need the emulator's fault
// injection, counters or STS trust are skipped, and every name carries a
// per-test prefix and is deleted afterwards.
const (
	namespace = "team-a"
	canary    = "CANARY-5d1e0c7b"
)

type harness struct {
	t      *testing.T
	emu    *awsemu.Server // nil against a real endpoint
	region string
	// unique prefixes names on a real endpoint, where tests share state.
	unique string
	creds  *fake.Credentials
	opts   []aws.Option
	seed   seeder
}

// seeder writes the remote state a test reads.
type seeder interface {
	putSecret(name, value string) string
	putSecretBinary(name string, value []byte) string
	tagSecret(name string, tags map[string]string)
	putParameter(name, typ, value string) int64
	tagParameter(name string, tags map[string]string)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, creds: &fake.Credentials{}}
	if endpoint := os.Getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		h.region = os.Getenv("AWS_REGION")
		if h.region == "" {
			h.region = "us-east-1"
		}
		h.unique = fmt.Sprintf("secretsync-test-%d/", time.Now().UnixNano())
		h.creds.SetSecret(namespace, "aws", "id", os.Getenv("AWS_ACCESS_KEY_ID"))
		h.creds.SetSecret(namespace, "aws", "secret", os.Getenv("AWS_SECRET_ACCESS_KEY"))
		h.seed = newRealSeeder(t, h.region)
		return h
	}
	h.region = "eu-west-1"
	h.emu = awsemu.New(h.region)
	t.Cleanup(h.emu.Close)
	h.creds.SetSecret(namespace, "aws", "id", awsemu.AccessKeyID)
	h.creds.SetSecret(namespace, "aws", "secret", awsemu.SecretAccessKey)
	h.opts = []aws.Option{aws.WithEndpoint(h.emu.URL), aws.WithRetry(4, 10*time.Millisecond)}
	h.seed = emuSeeder{h.emu}
	return h
}

// needEmulator skips tests that inject faults or inspect the server.
func (h *harness) needEmulator() {
	h.t.Helper()
	if h.emu == nil {
		h.t.Skip("needs the emulator: AWS_ENDPOINT_URL is set")
	}
}

// name returns a remote name for the test.
func (h *harness) name(n string) string {
	if h.unique == "" {
		return n
	}
	if strings.HasPrefix(n, "/") {
		return "/" + h.unique + n[1:]
	}
	return h.unique + n
}

func (h *harness) store(svc secretstore.AWSServiceType, mod func(*secretstore.AWSProvider)) *secretstore.SecretStore {
	a := &secretstore.AWSProvider{
		Service: svc,
		Region:  h.region,
		Auth: secretstore.AWSAuth{SecretRef: &secretstore.AWSAuthSecretRef{
			AccessKeyID:     secretstore.SecretKeySelector{Name: "aws", Key: "id"},
			SecretAccessKey: secretstore.SecretKeySelector{Name: "aws", Key: "secret"},
		}},
	}
	if mod != nil {
		mod(a)
	}
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "aws", Namespace: namespace},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{AWS: a}},
	}
}

func (h *harness) client(svc secretstore.AWSServiceType, mod func(*secretstore.AWSProvider), opts ...aws.Option) provider.Client {
	h.t.Helper()
	c, err := h.newClient(h.store(svc, mod), opts...)
	if err != nil {
		h.t.Fatalf("NewClient: %v", err)
	}
	return c
}

func (h *harness) newClient(store secretstore.GenericStore, opts ...aws.Option) (provider.Client, error) {
	return aws.New(append(append([]aws.Option(nil), h.opts...), opts...)...).NewClient(context.Background(), store, secretsOnly{h.creds})
}

// read returns the value, or the property if prop is set, of ref.
func read(c provider.Client, ref provider.Ref, prop string) (string, error) {
	s, err := c.GetSecret(context.Background(), ref)
	if err != nil {
		return "", err
	}
	var v []byte
	if prop == "" {
		v, err = s.Value()
	} else {
		v, err = s.Property(prop)
	}
	return string(v), err
}

type emuSeeder struct{ emu *awsemu.Server }

func (s emuSeeder) putSecret(name, value string) string { return s.emu.PutSecret(name, value) }
func (s emuSeeder) putSecretBinary(name string, v []byte) string {
	return s.emu.PutSecretBinary(name, v)
}
func (s emuSeeder) tagSecret(name string, tags map[string]string) { s.emu.TagSecret(name, tags) }
func (s emuSeeder) putParameter(name, typ, value string) int64 {
	return s.emu.PutParameter(name, typ, value)
}
func (s emuSeeder) tagParameter(name string, tags map[string]string) {
	s.emu.TagParameter(name, tags)
}

// realSeeder writes with the SDK, for runs against a real endpoint, and
// deletes what it wrote when the test ends.
type realSeeder struct {
	t   *testing.T
	sm  *secretsmanager.Client
	ssm *ssm.Client
}

func newRealSeeder(t *testing.T, region string) *realSeeder {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return &realSeeder{t: t, sm: secretsmanager.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg)}
}

func (s *realSeeder) write(name string, str *string, bin []byte) string {
	ctx := context.Background()
	out, err := s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &name, SecretString: str, SecretBinary: bin})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		created, err := s.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &name, SecretString: str, SecretBinary: bin})
		if err != nil {
			s.t.Fatalf("CreateSecret %s: %v", name, err)
		}
		s.t.Cleanup(func() {
			s.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: &name, ForceDeleteWithoutRecovery: sdkaws.Bool(true)})
		})
		return sdkaws.ToString(created.VersionId)
	}
	if err != nil {
		s.t.Fatalf("PutSecretValue %s: %v", name, err)
	}
	return sdkaws.ToString(out.VersionId)
}

func (s *realSeeder) putSecret(name, value string) string { return s.write(name, &value, nil) }
func (s *realSeeder) putSecretBinary(name string, v []byte) string {
	return s.write(name, nil, v)
}

func (s *realSeeder) tagSecret(name string, tags map[string]string) {
	var tt []smtypes.Tag
	for k, v := range tags {
		tt = append(tt, smtypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(v)})
	}
	if _, err := s.sm.TagResource(context.Background(), &secretsmanager.TagResourceInput{SecretId: &name, Tags: tt}); err != nil {
		s.t.Fatalf("TagResource %s: %v", name, err)
	}
}

func (s *realSeeder) putParameter(name, typ, value string) int64 {
	out, err := s.ssm.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: &name, Type: ssmtypes.ParameterType(typ), Value: &value, Overwrite: sdkaws.Bool(true),
	})
	if err != nil {
		s.t.Fatalf("PutParameter %s: %v", name, err)
	}
	s.t.Cleanup(func() { s.ssm.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: &name}) })
	return out.Version
}

func (s *realSeeder) tagParameter(name string, tags map[string]string) {
	var tt []ssmtypes.Tag
	for k, v := range tags {
		tt = append(tt, ssmtypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(v)})
	}
	_, err := s.ssm.AddTagsToResource(context.Background(), &ssm.AddTagsToResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: &name, Tags: tt,
	})
	if err != nil {
		s.t.Fatalf("AddTagsToResource %s: %v", name, err)
	}
}

// secretsOnly hides the ServiceAccount annotations a fake.Credentials
// reads: a host without them, whose IRSA takes the role from spec.role.
type secretsOnly struct{ provider.Credentials }
