package externalsecret_test

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/externalsecret"
)

// Manifests written for the External Secrets Operator decode unchanged,
// and the accessors apply its defaults.
func Example() {
	manifest := `
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: my-first-external-secret
spec:
  secretStoreRef:
    name: my-secretstore
    kind: SecretStore
  target:
    creationPolicy: Owner
  data:
  - secretKey: my-secret
    remoteRef:
      key: MyTestSecret
`
	var es externalsecret.ExternalSecret
	if err := yaml.UnmarshalStrict([]byte(manifest), &es); err != nil {
		panic(err)
	}
	fmt.Println(es.TargetName(), es.RefreshInterval(), es.RefreshPolicy(), es.DeletionPolicy())
	// Output:
	// my-first-external-secret 1h0m0s Periodic Retain
}

// Validate refuses what the apiserver would refuse, naming each field.
func ExampleValidate() {
	es := &externalsecret.ExternalSecret{}
	es.Name, es.Namespace = "app", "team-a"
	es.Spec.Target.CreationPolicy = externalsecret.CreatePolicyMerge
	es.Spec.Target.DeletionPolicy = externalsecret.DeletionPolicyDelete
	es.Spec.Data = []externalsecret.Data{
		{SecretKey: "password", RemoteRef: externalsecret.RemoteRef{Key: "db"}},
		{SecretKey: "password", RemoteRef: externalsecret.RemoteRef{Key: "db2"}},
	}
	fmt.Println(externalsecret.Validate(es))
	// Output:
	// [spec.target.deletionPolicy: Invalid value: "Delete": deletionPolicy Delete needs creationPolicy Owner: only a Secret the ExternalSecret owns may be deleted, spec.data[1].secretKey: Duplicate value: "password"]
}
