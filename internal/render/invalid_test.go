package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
)

// invalidHeader starts every manifest of invalidExternalSecrets that does
// not bring its own metadata.
const invalidHeader = `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: ns}
spec:
  secretStoreRef: {name: s, kind: SecretStore}
`

const oneData = `  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`

// invalidExternalSecrets are ExternalSecrets that `kubectl apply` refuses
// with the CRDs of config/crd/bases, or that the External Secrets
// Operator's admission webhook refuses. render must refuse each, and so
// must externalsecret.Validate, except where only the manifest shows what
// is wrong (untyped). TestInvalidExternalSecretsRefusedByAPIServer
// holds the apiserver to the same table, so the two cannot drift.
var invalidExternalSecrets = map[string]struct {
	manifest string
	wantErr  string
	// untyped is set when the decoded object looks valid: a required
	// field left out decodes to its zero value, an unknown field to
	// nothing.
	untyped bool
}{
	"neither data nor dataFrom": {
		manifest: invalidHeader + "  target: {name: x}\n",
		wantErr:  "either data or dataFrom must be set",
	},
	"a duplicate secretKey": {
		manifest: invalidHeader + oneData + "  - secretKey: p\n    remoteRef: {key: db}\n",
		wantErr:  `spec.data[1].secretKey: Duplicate value: "p"`,
	},
	"a secretKey that is not a Secret key": {
		manifest: invalidHeader + "  data:\n  - secretKey: a/b\n    remoteRef: {key: db}\n",
		wantErr:  `spec.data[0].secretKey: Invalid value: "a/b"`,
	},
	"a templateFrom target that is neither a part nor a field path": {
		manifest: invalidHeader + oneData + "  target:\n    manifest: {apiVersion: v1, kind: ConfigMap}\n    template:\n      templateFrom:\n      - literal: 'a: b'\n        target: spec..x\n",
		wantErr:  "spec.target.template.templateFrom[0].target",
	},
	"a manifest target without a kind": {
		manifest: invalidHeader + oneData + "  target:\n    manifest: {apiVersion: v1}\n",
		wantErr:  "spec.target.manifest.kind: Required value",
	},
	"a secretKey left out": {
		manifest: invalidHeader + "  data:\n  - remoteRef: {key: db}\n",
		wantErr:  "spec.data[0].secretKey: Required value",
	},
	"an empty remote key": {
		manifest: invalidHeader + "  data:\n  - secretKey: p\n    remoteRef: {key: ''}\n",
		wantErr:  "spec.data[0].remoteRef.key: Required value",
	},
	"an unknown decodingStrategy": {
		manifest: invalidHeader + "  data:\n  - secretKey: p\n    remoteRef: {key: db, decodingStrategy: Hex}\n",
		wantErr:  `spec.data[0].remoteRef.decodingStrategy: Unsupported value: "Hex"`,
	},
	"an unknown store kind": {
		manifest: strings.Replace(invalidHeader, "kind: SecretStore}", "kind: VaultStore}", 1) + oneData,
		wantErr:  `spec.secretStoreRef.kind: Unsupported value: "VaultStore"`,
	},
	"a store name that is not a DNS name": {
		manifest: strings.Replace(invalidHeader, "{name: s,", "{name: My_Store,", 1) + oneData,
		wantErr:  `spec.secretStoreRef.name: Invalid value: "My_Store"`,
	},
	"a target name that is not a DNS name": {
		manifest: invalidHeader + "  target: {name: App_Secret}\n" + oneData,
		wantErr:  `spec.target.name: Invalid value: "App_Secret"`,
	},
	"deletionPolicy Delete with creationPolicy Merge": {
		manifest: invalidHeader + "  target: {creationPolicy: Merge, deletionPolicy: Delete}\n" + oneData,
		wantErr:  "deletionPolicy Delete needs creationPolicy Owner",
	},
	"deletionPolicy Delete with creationPolicy Orphan": {
		manifest: invalidHeader + "  target: {creationPolicy: Orphan, deletionPolicy: Delete}\n" + oneData,
		wantErr:  "deletionPolicy Delete needs creationPolicy Owner",
	},
	"deletionPolicy Merge with creationPolicy None": {
		manifest: invalidHeader + "  target: {creationPolicy: None, deletionPolicy: Merge}\n" + oneData,
		wantErr:  "deletionPolicy Merge cannot be used with creationPolicy None",
	},
	"an unknown refreshPolicy": {
		manifest: invalidHeader + "  refreshPolicy: Sometimes\n" + oneData,
		wantErr:  `spec.refreshPolicy: Unsupported value: "Sometimes"`,
	},
	"a negative refreshInterval": {
		manifest: invalidHeader + "  refreshInterval: -1m\n" + oneData,
		wantErr:  "refreshInterval must be a Go duration of zero or more",
	},
	"extract and find together": {
		manifest: invalidHeader + "  dataFrom:\n  - extract: {key: db}\n    find: {name: {regexp: .*}}\n",
		wantErr:  "set either extract or find, not both",
	},
	"a dataFrom entry with neither extract nor find": {
		manifest: invalidHeader + "  dataFrom:\n  - rewrite: [{regexp: {source: a, target: b}}]\n",
		wantErr:  "set extract or find",
	},
	"extract with a generatorRef": {
		manifest: invalidHeader + "  dataFrom:\n  - extract: {key: db}\n    sourceRef: {generatorRef: {kind: Password, name: pw}}\n",
		wantErr:  "a generatorRef cannot be used with extract or find",
	},
	"a sourceRef with neither storeRef nor generatorRef": {
		manifest: invalidHeader + "  dataFrom:\n  - extract: {key: db}\n    sourceRef: {}\n",
		wantErr:  "set exactly one of storeRef or generatorRef",
	},
	"a sourceRef with both storeRef and generatorRef": {
		manifest: invalidHeader + "  dataFrom:\n  - sourceRef: {storeRef: {name: s}, generatorRef: {kind: Password, name: pw}}\n",
		wantErr:  "set exactly one of storeRef or generatorRef",
	},
	"a bootstrap token template": {
		manifest: invalidHeader + "  target:\n    template: {type: bootstrap.kubernetes.io/token}\n" + oneData,
		wantErr:  "template type bootstrap.kubernetes.io/token is not allowed",
	},
	"a service account token template naming its account": {
		manifest: invalidHeader + "  target:\n    template:\n      type: kubernetes.io/service-account-token\n      metadata: {annotations: {kubernetes.io/service-account.name: admin}}\n" + oneData,
		wantErr:  "with annotation kubernetes.io/service-account.name is not allowed",
	},
	"a service account token template with annotations from templateFrom": {
		manifest: invalidHeader + "  target:\n    template:\n      type: kubernetes.io/service-account-token\n      templateFrom: [{literal: 'a: b', target: Annotations}]\n" + oneData,
		wantErr:  "with templateFrom target Annotations is not allowed",
	},
	"an unknown creationPolicy": {
		manifest: invalidHeader + "  target: {creationPolicy: Always}\n" + oneData,
		wantErr:  `spec.target.creationPolicy: Unsupported value: "Always"`,
	},
	"deletionPolicy Delete with creationPolicy CreateOrMerge": {
		manifest: invalidHeader + "  target: {creationPolicy: CreateOrMerge, deletionPolicy: Delete}\n" + oneData,
		wantErr:  "deletionPolicy Delete needs creationPolicy Owner",
	},
	"a rewrite with both regexp and transform": {
		manifest: invalidHeader + "  dataFrom:\n  - extract: {key: db}\n    rewrite: [{regexp: {source: a, target: b}, transform: {template: x}}]\n",
		wantErr:  "set exactly one of regexp or transform or merge",
	},
	"an unknown merge strategy": {
		manifest: invalidHeader + "  dataFrom:\n  - find: {name: {regexp: .*}}\n    rewrite: [{merge: {strategy: YAML}}]\n",
		wantErr:  `spec.dataFrom[0].rewrite[0].merge.strategy: Unsupported value: "YAML"`,
	},
	"a sync window schedule that is not a schedule": {
		manifest: invalidHeader + "  syncWindows: {kind: allow, windows: [{schedule: 'at night', duration: 1h}]}\n" + oneData,
		wantErr:  `spec.syncWindows.windows[0].schedule: Invalid value: "at night"`,
	},
	"an unknown sync window kind": {
		manifest: invalidHeader + "  syncWindows: {kind: maybe, windows: [{schedule: '@daily', duration: 1h}]}\n" + oneData,
		wantErr:  `spec.syncWindows.kind: Unsupported value: "maybe"`,
	},
	"a sync window without a duration": {
		manifest: invalidHeader + "  syncWindows: {kind: deny, windows: [{schedule: '@daily'}]}\n" + oneData,
		wantErr:  "spec.syncWindows.windows[0].duration: Required value",
		untyped:  true,
	},
	"a rewrite without a target": {
		manifest: invalidHeader + "  dataFrom:\n  - extract: {key: db}\n    rewrite: [{regexp: {source: a}}]\n",
		wantErr:  "spec.dataFrom[0].rewrite[0].regexp.target: Required value",
		untyped:  true,
	},
	"a templateFrom ConfigMap without items": {
		manifest: invalidHeader + "  target:\n    template:\n      templateFrom: [{configMap: {name: tpl}}]\n" + oneData,
		wantErr:  "spec.target.template.templateFrom[0].configMap.items: Required value",
	},
	"a templateFrom item key that is not a key": {
		manifest: invalidHeader + "  target:\n    template:\n      templateFrom: [{configMap: {name: tpl, items: [{key: a/b}]}}]\n" + oneData,
		wantErr:  `spec.target.template.templateFrom[0].configMap.items[0].key: Invalid value: "a/b"`,
	},
	"an unknown template engineVersion": {
		manifest: invalidHeader + "  target:\n    template: {engineVersion: v1}\n" + oneData,
		wantErr:  `spec.target.template.engineVersion: Unsupported value: "v1"`,
	},
	"an unknown field": {
		manifest: invalidHeader + "  unknownField: 1\n" + oneData,
		wantErr:  `unknown field "unknownField"`,
		untyped:  true,
	},
	"a name that is not a DNS name": {
		manifest: strings.Replace(invalidHeader, "{name: app,", "{name: App,", 1) + oneData,
		wantErr:  `metadata.name: Invalid value: "App"`,
	},
	"a label value that is not a label value": {
		manifest: strings.Replace(invalidHeader, "{name: app,", "{labels: {team: 'not valid!'}, name: app,", 1) + oneData,
		wantErr:  `metadata.labels: Invalid value: "not valid!"`,
	},
}

func TestRenderRefusesInvalidExternalSecrets(t *testing.T) {
	for name, tc := range invalidExternalSecrets {
		t.Run(name, func(t *testing.T) {
			var out, warnings bytes.Buffer
			err := Render(context.Background(), strings.NewReader(store+tc.manifest), &out, options(t, &warnings))
			if err == nil {
				t.Fatalf("render accepted it:\n%s", out.String())
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("want an error containing %q, got: %v", tc.wantErr, err)
			}
		})
	}
}

func TestValidateRefusesInvalidExternalSecrets(t *testing.T) {
	for name, tc := range invalidExternalSecrets {
		t.Run(name, func(t *testing.T) {
			es := &externalsecret.ExternalSecret{}
			if err := yaml.Unmarshal([]byte(tc.manifest), es); err != nil {
				t.Fatal(err)
			}
			err := externalsecret.Validate(es)
			if tc.untyped {
				if err != nil {
					t.Errorf("Validate sees what decoding hides: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("want an error containing %q, got: %v", tc.wantErr, err)
			}
		})
	}
}

// The apiserver, with the CRDs of config/crd/bases and strict field
// validation as `kubectl apply` sends, refuses every ExternalSecret render
// refuses, and accepts the valid one they are all made from.
func TestInvalidExternalSecretsRefusedByAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kube-apiserver")
	}
	env := testenv.StartForTest(t)
	ctx := context.Background()
	applier, err := kubeapply.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	applier.FieldValidation = kubeapply.StrictFieldValidation
	if err := applier.ApplyFiles(ctx, "../../config/crd/bases/*.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := applier.WaitForCRDs(ctx, externalsecret.SchemeGroupVersion, "externalsecrets"); err != nil {
		t.Fatal(err)
	}
	if err := applier.Apply(ctx, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n")); err != nil {
		t.Fatal(err)
	}
	for name, tc := range invalidExternalSecrets {
		t.Run(name, func(t *testing.T) {
			err := applier.Apply(ctx, []byte(tc.manifest))
			switch {
			case err == nil:
				t.Errorf("the apiserver accepted what render refuses")
			case !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err):
				t.Errorf("want the apiserver to refuse it as invalid, got: %v", err)
			default:
				t.Logf("refused: %v", err)
			}
		})
	}
	valid := invalidHeader + oneData
	if err := applier.Apply(ctx, []byte(valid)); err != nil {
		t.Fatalf("the apiserver refused the valid ExternalSecret: %v", err)
	}
	var out, warnings bytes.Buffer
	if err := Render(ctx, strings.NewReader(store+valid), &out, options(t, &warnings)); err != nil {
		t.Fatalf("render refused the valid ExternalSecret: %v", err)
	}
}
