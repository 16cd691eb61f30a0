package rollout

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func local(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }

func envFrom(name string, optional bool) corev1.EnvFromSource {
	return corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: local(name), Optional: ptr(optional)}}
}

func keyRef(name, key string, optional bool) corev1.EnvVar {
	return corev1.EnvVar{Name: "V_" + key, ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: local(name), Key: key, Optional: ptr(optional)},
	}}
}

func items(keys ...string) []corev1.KeyToPath {
	var out []corev1.KeyToPath
	for _, k := range keys {
		out = append(out, corev1.KeyToPath{Key: k, Path: "p/" + k})
	}
	return out
}

func secretVolume(name string, optional bool, keys ...string) corev1.Volume {
	return corev1.Volume{Name: "v-" + name, VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: name, Items: items(keys...), Optional: ptr(optional)},
	}}
}

func projected(sources ...corev1.VolumeProjection) corev1.Volume {
	return corev1.Volume{Name: "projected", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: sources},
	}}
}

func projectedSecret(name string, optional bool, keys ...string) corev1.VolumeProjection {
	return corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: local(name), Items: items(keys...), Optional: ptr(optional)}}
}

func podSpec(mods ...func(*corev1.PodSpec)) *corev1.PodTemplateSpec {
	t := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	for _, m := range mods {
		m(&t.Spec)
	}
	return t
}

func container(mod func(*corev1.Container)) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) { mod(&s.Containers[0]) }
}

func TestSecretRefs(t *testing.T) {
	tests := map[string]struct {
		template *corev1.PodTemplateSpec
		want     []Ref
	}{
		"a nil template references nothing": {},
		"ConfigMaps, the downward API and emptyDir are not Secrets": {
			template: podSpec(
				container(func(c *corev1.Container) {
					c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: local("cm")}}}
					c.Env = []corev1.EnvVar{
						{Name: "PLAIN", Value: "v"},
						{Name: "CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: local("cm"), Key: "k"}}},
						{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					}
				}),
				func(s *corev1.PodSpec) {
					s.Volumes = []corev1.Volume{
						{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: local("cm")}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						projected(
							corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: local("cm")}},
							corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
							corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{}},
						),
					}
				},
			),
		},
		"envFrom reads the whole Secret": {
			template: podSpec(container(func(c *corev1.Container) { c.EnvFrom = []corev1.EnvFromSource{envFrom("db", false)} })),
			want:     []Ref{{Name: "db"}},
		},
		"envFrom with a prefix still reads the whole Secret": {
			template: podSpec(container(func(c *corev1.Container) {
				from := envFrom("db", false)
				from.Prefix = "DB_"
				c.EnvFrom = []corev1.EnvFromSource{from}
			})),
			want: []Ref{{Name: "db"}},
		},
		"a secretKeyRef reads one key, which pods need": {
			template: podSpec(container(func(c *corev1.Container) { c.Env = []corev1.EnvVar{keyRef("db", "password", false)} })),
			want:     []Ref{{Name: "db", Keys: []string{"password"}, RequiredKeys: []string{"password"}}},
		},
		"secretKeyRefs to one Secret read their keys, sorted, once each": {
			template: podSpec(container(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{keyRef("db", "user", false), keyRef("db", "password", false), keyRef("db", "user", false)}
			})),
			want: []Ref{{Name: "db", Keys: []string{"password", "user"}, RequiredKeys: []string{"password", "user"}}},
		},
		"a secret volume without items reads the whole Secret": {
			template: podSpec(func(s *corev1.PodSpec) { s.Volumes = []corev1.Volume{secretVolume("tls", false)} }),
			want:     []Ref{{Name: "tls"}},
		},
		"a secret volume with items reads their keys": {
			template: podSpec(func(s *corev1.PodSpec) { s.Volumes = []corev1.Volume{secretVolume("tls", false, "tls.key", "tls.crt")} }),
			want:     []Ref{{Name: "tls", Keys: []string{"tls.crt", "tls.key"}, RequiredKeys: []string{"tls.crt", "tls.key"}}},
		},
		"projected secret sources, with and without items": {
			template: podSpec(func(s *corev1.PodSpec) {
				s.Volumes = []corev1.Volume{projected(
					projectedSecret("whole", false),
					corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: local("cm")}},
					projectedSecret("some", false, "a"),
				)}
			}),
			want: []Ref{{Name: "some", Keys: []string{"a"}, RequiredKeys: []string{"a"}}, {Name: "whole"}},
		},
		"imagePullSecrets are read whole and are optional": {
			template: podSpec(func(s *corev1.PodSpec) { s.ImagePullSecrets = []corev1.LocalObjectReference{local("registry")} }),
			want:     []Ref{{Name: "registry", Optional: true}},
		},
		"init containers": {
			template: podSpec(func(s *corev1.PodSpec) {
				s.InitContainers = []corev1.Container{{Name: "migrate", EnvFrom: []corev1.EnvFromSource{envFrom("migrations", false)}, Env: []corev1.EnvVar{keyRef("db", "dsn", false)}}}
			}),
			want: []Ref{{Name: "db", Keys: []string{"dsn"}, RequiredKeys: []string{"dsn"}}, {Name: "migrations"}},
		},
		"ephemeral containers": {
			template: podSpec(func(s *corev1.PodSpec) {
				s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debug", EnvFrom: []corev1.EnvFromSource{envFrom("debug", false)}, Env: []corev1.EnvVar{keyRef("db", "password", true)},
				}}}
			}),
			want: []Ref{{Name: "db", Keys: []string{"password"}, Optional: true}, {Name: "debug"}},
		},
		"a whole reference makes every key count": {
			template: podSpec(
				container(func(c *corev1.Container) { c.Env = []corev1.EnvVar{keyRef("db", "password", false)} }),
				func(s *corev1.PodSpec) { s.Volumes = []corev1.Volume{secretVolume("db", false)} },
			),
			want: []Ref{{Name: "db", RequiredKeys: []string{"password"}}},
		},
		"optional references make an optional Secret with no required keys": {
			template: podSpec(
				container(func(c *corev1.Container) {
					c.EnvFrom = []corev1.EnvFromSource{envFrom("extra", true)}
					c.Env = []corev1.EnvVar{keyRef("db", "password", true)}
				}),
				func(s *corev1.PodSpec) {
					s.Volumes = []corev1.Volume{secretVolume("certs", true, "ca.crt"), projected(projectedSecret("tokens", true))}
				},
			),
			want: []Ref{
				{Name: "certs", Keys: []string{"ca.crt"}, Optional: true},
				{Name: "db", Keys: []string{"password"}, Optional: true},
				{Name: "extra", Optional: true},
				{Name: "tokens", Optional: true},
			},
		},
		"one required reference makes the Secret required": {
			template: podSpec(
				container(func(c *corev1.Container) {
					c.Env = []corev1.EnvVar{keyRef("db", "user", true), keyRef("db", "password", false)}
				}),
				func(s *corev1.PodSpec) { s.ImagePullSecrets = []corev1.LocalObjectReference{local("db")} },
			),
			want: []Ref{{Name: "db", RequiredKeys: []string{"password"}}},
		},
		"a nil optional is required, as the kubelet reads it": {
			template: podSpec(container(func(c *corev1.Container) {
				c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: local("db")}}}
			})),
			want: []Ref{{Name: "db"}},
		},
		"Secrets of volume plugins are node credentials, not listed": {
			template: podSpec(func(s *corev1.PodSpec) {
				s.Volumes = []corev1.Volume{
					{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d", NodePublishSecretRef: ptr(local("csi-creds"))}}},
					{Name: "ceph", VolumeSource: corev1.VolumeSource{CephFS: &corev1.CephFSVolumeSource{Monitors: []string{"m"}, SecretRef: ptr(local("ceph-creds"))}}},
					{Name: "azure", VolumeSource: corev1.VolumeSource{AzureFile: &corev1.AzureFileVolumeSource{SecretName: "azure-creds", ShareName: "s"}}},
				}
			}),
		},
		"empty names are skipped": {
			template: podSpec(
				container(func(c *corev1.Container) {
					c.EnvFrom = []corev1.EnvFromSource{envFrom("", false)}
					c.Env = []corev1.EnvVar{keyRef("", "k", false)}
				}),
				func(s *corev1.PodSpec) { s.ImagePullSecrets = []corev1.LocalObjectReference{{}} },
			),
		},
		"every kind of reference at once, sorted by name": {
			template: podSpec(
				container(func(c *corev1.Container) {
					c.EnvFrom = []corev1.EnvFromSource{envFrom("e-envfrom", false)}
					c.Env = []corev1.EnvVar{keyRef("d-keyref", "k", false)}
				}),
				func(s *corev1.PodSpec) {
					s.Containers = append(s.Containers, corev1.Container{Name: "sidecar", EnvFrom: []corev1.EnvFromSource{envFrom("e-envfrom", false)}})
					s.Volumes = []corev1.Volume{secretVolume("c-volume", false), projected(projectedSecret("b-projected", false, "x"))}
					s.ImagePullSecrets = []corev1.LocalObjectReference{local("a-pull")}
				},
			),
			want: []Ref{
				{Name: "a-pull", Optional: true},
				{Name: "b-projected", Keys: []string{"x"}, RequiredKeys: []string{"x"}},
				{Name: "c-volume"},
				{Name: "d-keyref", Keys: []string{"k"}, RequiredKeys: []string{"k"}},
				{Name: "e-envfrom"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var before *corev1.PodTemplateSpec
			if tc.template != nil {
				before = tc.template.DeepCopy()
			}
			got := SecretRefs(tc.template)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.template); diff != "" {
				t.Errorf("SecretRefs changed the template:\n%s", diff)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	refs := []Ref{{Name: "api"}, {Name: "db", Keys: []string{"password"}, RequiredKeys: []string{"password"}}}
	tests := map[string]struct {
		value  string
		want   []Ref
		wantOK bool
	}{
		"empty is off":                 {value: ""},
		"false is off":                 {value: "false"},
		"False is off":                 {value: " False "},
		"true selects every reference": {value: "true", want: refs, wantOK: true},
		"TRUE selects every reference": {value: "TRUE", want: refs, wantOK: true},
		"a name selects that Secret":   {value: "db", want: refs[1:], wantOK: true},
		"a list selects those, sorted, once each": {
			value: " db, api ,db,", want: refs, wantOK: true,
		},
		"a name the template does not reference is watched whole and optional": {
			value: "db,read-by-api", want: []Ref{refs[1], {Name: "read-by-api", Optional: true}}, wantOK: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := Select(refs, tc.value)
			if ok != tc.wantOK {
				t.Errorf("ok: want %v, got %v", tc.wantOK, ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
		})
	}
}

func secret(name string, data map[string]string, mods ...func(*corev1.Secret)) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	for _, m := range mods {
		m(s)
	}
	return s
}

func secrets(ss ...*corev1.Secret) map[string]*corev1.Secret {
	m := map[string]*corev1.Secret{}
	for _, s := range ss {
		m[s.Name] = s
	}
	return m
}

func TestHash(t *testing.T) {
	whole := []Ref{{Name: "db"}}
	password := []Ref{{Name: "db", Keys: []string{"password"}}}
	base := secret("db", map[string]string{"user": "admin", "password": "p1"})
	tests := map[string]struct {
		refsA, refsB       []Ref
		secretsA, secretsB map[string]*corev1.Secret
		wantSame           bool
	}{
		"metadata churn keeps the hash": {
			refsA: whole, secretsA: secrets(base),
			secretsB: secrets(secret("db", map[string]string{"user": "admin", "password": "p1"}, func(s *corev1.Secret) {
				s.ResourceVersion, s.UID, s.Generation = "99", "uid", 3
				s.Labels = map[string]string{"reconcile.external-secrets.io/managed": "true"}
				s.Annotations = map[string]string{"reconcile.external-secrets.io/data-hash": "abc"}
				s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "eso"}}
			})),
			wantSame: true,
		},
		"the Secret type does not count": {
			refsA: whole, secretsA: secrets(base),
			secretsB: secrets(secret("db", map[string]string{"user": "admin", "password": "p1"}, func(s *corev1.Secret) { s.Type = corev1.SecretTypeBasicAuth })),
			wantSame: true,
		},
		"a referenced value rotates": {
			refsA: password, secretsA: secrets(base),
			secretsB: secrets(secret("db", map[string]string{"user": "admin", "password": "p2"})),
		},
		"a key the refs do not read changes": {
			refsA: password, secretsA: secrets(base),
			secretsB: secrets(secret("db", map[string]string{"user": "root", "password": "p1", "new": "x"})),
			wantSame: true,
		},
		"a whole reference sees any key change": {
			refsA: whole, secretsA: secrets(base),
			secretsB: secrets(secret("db", map[string]string{"user": "root", "password": "p1"})),
		},
		"a whole reference sees a key added": {
			refsA: whole, secretsA: secrets(base),
			secretsB: secrets(secret("db", map[string]string{"user": "admin", "password": "p1", "new": ""})),
		},
		"a missing key differs from an empty value": {
			refsA: password, secretsA: secrets(secret("db", map[string]string{"password": ""})),
			secretsB: secrets(secret("db", nil)),
		},
		"an absent Secret differs from an empty one": {
			refsA: whole, secretsA: secrets(),
			secretsB: secrets(secret("db", nil)),
		},
		"an absent optional Secret hashes the same, missing or nil": {
			refsA: []Ref{{Name: "db", Optional: true}}, secretsA: secrets(),
			secretsB: map[string]*corev1.Secret{"db": nil},
			wantSame: true,
		},
		"Secrets no ref names do not count": {
			refsA: whole, secretsA: secrets(base),
			secretsB: secrets(base, secret("other", map[string]string{"x": "y"})),
			wantSame: true,
		},
		"the order of refs does not count": {
			refsA: []Ref{{Name: "a"}, {Name: "db"}}, secretsA: secrets(base, secret("a", map[string]string{"k": "v"})),
			refsB:    []Ref{{Name: "db"}, {Name: "a"}},
			wantSame: true,
		},
		"bytes do not move between key and value": {
			refsA: whole, secretsA: secrets(secret("db", map[string]string{"ab": "c"})),
			secretsB: secrets(secret("db", map[string]string{"a": "bc"})),
		},
		"bytes do not move between Secrets": {
			refsA: []Ref{{Name: "a"}, {Name: "b"}}, secretsA: secrets(secret("a", map[string]string{"k": "v1"}), secret("b", nil)),
			secretsB: secrets(secret("a", nil), secret("b", map[string]string{"k": "v1"})),
		},
		"the same data under another name differs": {
			refsA: whole, secretsA: secrets(base),
			refsB: []Ref{{Name: "db2"}}, secretsB: map[string]*corev1.Secret{"db2": base},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.refsB == nil {
				tc.refsB = tc.refsA
			}
			if tc.secretsB == nil {
				tc.secretsB = tc.secretsA
			}
			a, b := Hash(tc.refsA, tc.secretsA), Hash(tc.refsB, tc.secretsB)
			if (a == b) != tc.wantSame {
				t.Errorf("same hash: want %v, got %v (%s, %s)", tc.wantSame, a == b, a, b)
			}
			if again := Hash(tc.refsA, tc.secretsA); again != a {
				t.Errorf("not stable: %s then %s", a, again)
			}
		})
	}
}

// The hash lives in annotations: a new encoding would roll every workload
// on upgrade. This pins it.
func TestHashEncodingIsStable(t *testing.T) {
	refs := []Ref{{Name: "api"}, {Name: "db", Keys: []string{"password", "user"}}, {Name: "gone", Optional: true}}
	ss := secrets(
		secret("api", map[string]string{"token": "t"}),
		secret("db", map[string]string{"password": "p", "unused": "u"}),
	)
	before := map[string]*corev1.Secret{}
	for k, v := range ss {
		before[k] = v.DeepCopy()
	}
	refsBefore := append([]Ref(nil), refs...)
	if got, want := Hash(refs, ss), "2f8187c197732de66ed309360da411b0"; got != want {
		t.Errorf("Hash: want %s, got %s", want, got)
	}
	if diff := cmp.Diff(before, ss); diff != "" {
		t.Errorf("Hash changed the Secrets:\n%s", diff)
	}
	if diff := cmp.Diff(refsBefore, refs); diff != "" {
		t.Errorf("Hash changed the refs:\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	tests := map[string]struct {
		refs    []Ref
		secrets map[string]*corev1.Secret
		want    []string // the errors, joined by newlines
	}{
		"all present": {
			refs:    []Ref{{Name: "db", Keys: []string{"password"}, RequiredKeys: []string{"password"}}},
			secrets: secrets(secret("db", map[string]string{"password": "p"})),
		},
		"a required Secret is missing": {
			refs: []Ref{{Name: "db"}}, secrets: secrets(),
			want: []string{"Secret db: missing"},
		},
		"an optional Secret may be missing": {
			refs: []Ref{{Name: "db", Optional: true}}, secrets: secrets(),
		},
		"a required key is missing": {
			refs:    []Ref{{Name: "db", Keys: []string{"password", "user"}, RequiredKeys: []string{"password", "user"}}},
			secrets: secrets(secret("db", map[string]string{"user": "u"})),
			want:    []string{"Secret db key password: missing"},
		},
		"an optional key may be missing": {
			refs:    []Ref{{Name: "db", Keys: []string{"password"}, Optional: true}},
			secrets: secrets(secret("db", nil)),
		},
		"every gap is named": {
			refs:    []Ref{{Name: "a"}, {Name: "b", RequiredKeys: []string{"k"}}},
			secrets: secrets(secret("b", nil)),
			want:    []string{"Secret a: missing", "Secret b key k: missing"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Check(tc.refs, tc.secrets)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want nil, got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMissing) {
				t.Errorf("want an ErrMissing, got %v", err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
