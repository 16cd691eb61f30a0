package aws_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/secretstore"
)

func TestValidateStore(t *testing.T) {
	valid := func() *secretstore.AWSProvider {
		return &secretstore.AWSProvider{Service: secretstore.AWSServiceSecretsManager, Region: "us-east-1"}
	}
	other := "other"
	tests := map[string]struct {
		mod     func(*secretstore.AWSProvider)
		cluster bool
		want    string // in the error; empty when valid
	}{
		"the SDK default chain": {},
		"Parameter Store":       {mod: func(a *secretstore.AWSProvider) { a.Service = secretstore.AWSServiceParameterStore }},
		"GovCloud":              {mod: func(a *secretstore.AWSProvider) { a.Region = "us-gov-west-1" }},
		"static keys":           {mod: staticKeys(nil)},
		"a role chain": {mod: func(a *secretstore.AWSProvider) {
			a.Role = "arn:aws:iam::1:role/a"
			a.AdditionalRoles = []string{"arn:aws:iam::1:role/b"}
		}},
		"IRSA":                   {mod: irsaRef(nil)},
		"an unknown service":     {mod: func(a *secretstore.AWSProvider) { a.Service = "KMS" }, want: "must be SecretsManager or ParameterStore"},
		"no region":              {mod: func(a *secretstore.AWSProvider) { a.Region = "" }, want: "is not an AWS region"},
		"a region name in prose": {mod: func(a *secretstore.AWSProvider) { a.Region = "US East" }, want: "is not an AWS region"},
		"both auth methods":      {mod: func(a *secretstore.AWSProvider) { staticKeys(nil)(a); irsaRef(nil)(a) }, want: "not both"},
		"a key reference with no key": {mod: func(a *secretstore.AWSProvider) {
			staticKeys(nil)(a)
			a.Auth.SecretRef.SecretAccessKey.Key = ""
		}, want: "secretAccessKeySecretRef needs name and key"},
		"another namespace's keys":                   {mod: staticKeys(&other), want: `may only name namespace "team-a"`},
		"a cluster store without namespace":          {mod: staticKeys(nil), cluster: true, want: "must set namespace"},
		"a cluster store with IRSA and no namespace": {mod: irsaRef(nil), cluster: true, want: "must set namespace"},
		"a cluster store naming a namespace":         {mod: staticKeys(&other), cluster: true},
		"IRSA without a ServiceAccount": {mod: func(a *secretstore.AWSProvider) {
			a.Auth.JWTAuth = &secretstore.AWSJWTAuth{}
		}, want: "serviceAccountRef.name is not set"},
		"a role that is a name":     {mod: func(a *secretstore.AWSProvider) { a.Role = "reader" }, want: `role "reader" is not an ARN`},
		"an additional role name":   {mod: func(a *secretstore.AWSProvider) { a.AdditionalRoles = []string{"hop"} }, want: `role "hop" is not an ARN`},
		"a transitive key untagged": {mod: func(a *secretstore.AWSProvider) { k := "x"; a.TransitiveTagKeys = []*string{&k} }, want: "must name session tags"},
		"a session tag with no key": {mod: func(a *secretstore.AWSProvider) { a.SessionTags = []*secretstore.AWSTag{{Value: "v"}} }, want: "has no key"},
		"sessionTagsPolicy Simple": {mod: func(a *secretstore.AWSProvider) {
			a.Role, a.SessionTagsPolicy = "arn:aws:iam::1:role/a", secretstore.AWSSessionTagsPolicySimple
		}},
		"sessionTagsPolicy Custom with a transitive custom tag": {mod: func(a *secretstore.AWSProvider) {
			a.Role, a.SessionTagsPolicy = "arn:aws:iam::1:role/a", secretstore.AWSSessionTagsPolicyCustom
			a.CustomSessionTags = map[string]string{"team": "a"}
			k := "team"
			a.TransitiveTagKeys = []*string{&k}
		}},
		"sessionTagsPolicy without a role": {mod: func(a *secretstore.AWSProvider) { a.SessionTagsPolicy = secretstore.AWSSessionTagsPolicySimple },
			want: "sessionTagsPolicy Simple tags the session of spec.provider.aws.role, which is not set"},
		"sessionTagsPolicy on a ClusterSecretStore": {cluster: true, mod: func(a *secretstore.AWSProvider) {
			a.Role, a.SessionTagsPolicy = "arn:aws:iam::1:role/a", secretstore.AWSSessionTagsPolicySimple
		}, want: "sessionTagsPolicy Simple is not supported on a ClusterSecretStore"},
		"an unknown sessionTagsPolicy": {mod: func(a *secretstore.AWSProvider) {
			a.Role, a.SessionTagsPolicy = "arn:aws:iam::1:role/a", "All"
		}, want: "must be None, Simple or Custom"},
		"customSessionTags without Custom": {mod: func(a *secretstore.AWSProvider) {
			a.Role, a.SessionTagsPolicy = "arn:aws:iam::1:role/a", secretstore.AWSSessionTagsPolicySimple
			a.CustomSessionTags = map[string]string{"team": "a"}
		}, want: "customSessionTags are added only with sessionTagsPolicy Custom"},
		"a session tag the policy sets": {mod: func(a *secretstore.AWSProvider) {
			a.Role, a.SessionTagsPolicy = "arn:aws:iam::1:role/a", secretstore.AWSSessionTagsPolicySimple
			a.SessionTags = []*secretstore.AWSTag{{Key: "esoNamespace", Value: "x"}}
		}, want: "sets esoNamespace, which sessionTagsPolicy Simple sets"},
		"secretsManager, for PushSecret": {mod: func(a *secretstore.AWSProvider) {
			a.SecretsManager = &secretstore.AWSSecretsManager{RecoveryWindowInDays: 7}
		}},
		"secretsManager with both delete settings": {mod: func(a *secretstore.AWSProvider) {
			a.SecretsManager = &secretstore.AWSSecretsManager{ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7}
		}, want: "not both"},
		"secretsManager with a recovery window out of range": {mod: func(a *secretstore.AWSProvider) {
			a.SecretsManager = &secretstore.AWSSecretsManager{RecoveryWindowInDays: 3}
		}, want: "from 7 to 30"},
		"a key reference with no name": {mod: func(a *secretstore.AWSProvider) {
			staticKeys(nil)(a)
			a.Auth.SecretRef.AccessKeyID = secretstore.SecretKeySelector{}
		}, want: "accessKeyIDSecretRef needs name and key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := valid()
			if tc.mod != nil {
				tc.mod(a)
			}
			spec := secretstore.Spec{Provider: &secretstore.Provider{AWS: a}}
			var store secretstore.GenericStore = &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "team-a"}, Spec: spec}
			if tc.cluster {
				store = &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: spec}
			}
			err := aws.New().ValidateStore(store)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	if err := aws.New().ValidateStore(&secretstore.SecretStore{Spec: secretstore.Spec{Provider: &secretstore.Provider{}}}); err == nil {
		t.Error("a store without provider.aws must be an error")
	}
}

func staticKeys(ns *string) func(*secretstore.AWSProvider) {
	return func(a *secretstore.AWSProvider) {
		a.Auth.SecretRef = &secretstore.AWSAuthSecretRef{
			AccessKeyID:     secretstore.SecretKeySelector{Name: "aws", Key: "id", Namespace: ns},
			SecretAccessKey: secretstore.SecretKeySelector{Name: "aws", Key: "secret", Namespace: ns},
		}
	}
}

func irsaRef(ns *string) func(*secretstore.AWSProvider) {
	return func(a *secretstore.AWSProvider) {
		a.Role = "arn:aws:iam::1:role/irsa"
		a.Auth.JWTAuth = &secretstore.AWSJWTAuth{ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "sa", Namespace: ns}}
	}
}
