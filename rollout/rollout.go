// Package rollout decides when the pods that read Secrets must restart to
// see new values, so that workloads restart the way Kubernetes means them
// to: by a change to their pod template.
//
// [SecretRefs] lists the Secrets a pod template references and the keys it
// reads from each; [Hash] turns the data of those keys into a config hash.
// Written to the template's [AnnotationConfigHash], the hash makes the
// Deployment, StatefulSet or DaemonSet controller roll the pods whenever a
// value they read changes, and only then: metadata churn and keys the pods
// do not read leave it alone. [Check] says whether the pods of a new roll
// could start at all.
//
// An operator that builds its own workloads calls these in its reconcile
// and sets the annotation on the template it writes; the package Example
// shows exactly that. Package
// [github.com/secretsync/secretsync/rollout/controller] does the same for
// workloads it does not own, once they opt in with
// [AnnotationRestartOnSecretChange]; the reference controller runs it with
// --rollout, and any operator can.
//
// The package does no I/O and watches nothing: it reads only the Secrets it
// is given, and the host decides when to call it. It never mutates its
// inputs.
package rollout

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

const (
	// AnnotationConfigHash, on a pod template, holds the [Hash] of the
	// Secrets the template references. A new value rolls the pods.
	AnnotationConfigHash = "secretsync.io/config-hash"

	// AnnotationRestartOnSecretChange, on a Deployment, StatefulSet or
	// DaemonSet, asks the secretsync controller to keep the workload's
	// [AnnotationConfigHash] current. Its value is "true" for every Secret
	// the pod template references, or a comma-separated list of Secret
	// names; see [Select].
	AnnotationRestartOnSecretChange = "secretsync.io/restart-on-secret-change"
)

// ErrMissing is wrapped by the errors of [Check]: a Secret or key the pods
// need is not there.
var ErrMissing = errors.New("missing")

// Ref is one Secret a pod template references, with every way it does.
type Ref struct {
	// Name is the Secret's name, in the namespace of the pod.
	Name string
	// Keys lists, sorted, the keys the template reads. It is nil when the
	// template reads the whole Secret (envFrom, a volume without items,
	// imagePullSecrets), so that every key, and a key added, counts.
	Keys []string
	// Optional is true when every reference to the Secret is optional, so
	// pods start without it.
	Optional bool
	// RequiredKeys lists, sorted, the keys pods cannot start without: those
	// of secretKeyRefs and volume items that are not optional.
	RequiredKeys []string
}

// SecretRefs lists the Secrets a pod template references, sorted by name,
// one [Ref] per Secret: envFrom secretRefs, env secretKeyRefs (in
// containers, init containers and ephemeral containers), secret volumes,
// secret sources of projected volumes, and imagePullSecrets.
//
// imagePullSecrets count as optional, since the kubelet starts pods without
// them. Secrets that volume plugins use to mount storage (csi
// nodePublishSecretRef, cephfs, rbd, iscsi, flexVolume, azureFile, scaleIO,
// storageos) are not listed: they are credentials of the node, not
// configuration the pods read, and rotating them needs no restart.
func SecretRefs(template *corev1.PodTemplateSpec) []Ref {
	if template == nil {
		return nil
	}
	c := collector{}
	spec := &template.Spec
	for _, s := range spec.ImagePullSecrets {
		c.whole(s.Name, true)
	}
	for _, v := range spec.Volumes {
		switch {
		case v.Secret != nil:
			c.items(v.Secret.SecretName, v.Secret.Items, isTrue(v.Secret.Optional))
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					c.items(src.Secret.Name, src.Secret.Items, isTrue(src.Secret.Optional))
				}
			}
		}
	}
	for _, ctr := range spec.InitContainers {
		c.env(ctr.EnvFrom, ctr.Env)
	}
	for _, ctr := range spec.Containers {
		c.env(ctr.EnvFrom, ctr.Env)
	}
	for _, ctr := range spec.EphemeralContainers {
		c.env(ctr.EnvFrom, ctr.Env)
	}
	return c.refs()
}

// collector gathers the references to each Secret.
type collector map[string]*refSet

type refSet struct {
	whole    bool
	required bool
	keys     map[string]bool
	reqKeys  map[string]bool
}

func (c collector) get(name string) *refSet {
	r, ok := c[name]
	if !ok {
		r = &refSet{keys: map[string]bool{}, reqKeys: map[string]bool{}}
		c[name] = r
	}
	return r
}

func (c collector) whole(name string, optional bool) {
	if name == "" {
		return
	}
	r := c.get(name)
	r.whole = true
	r.required = r.required || !optional
}

func (c collector) key(name, key string, optional bool) {
	if name == "" {
		return
	}
	r := c.get(name)
	r.keys[key] = true
	if !optional {
		r.required = true
		r.reqKeys[key] = true
	}
}

// items records a secret volume or projection: without items it holds the
// whole Secret, with items only the keys they name.
func (c collector) items(name string, items []corev1.KeyToPath, optional bool) {
	if len(items) == 0 {
		c.whole(name, optional)
		return
	}
	for _, it := range items {
		c.key(name, it.Key, optional)
	}
}

func (c collector) env(envFrom []corev1.EnvFromSource, env []corev1.EnvVar) {
	for _, from := range envFrom {
		if from.SecretRef != nil {
			c.whole(from.SecretRef.Name, isTrue(from.SecretRef.Optional))
		}
	}
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			c.key(ref.Name, ref.Key, isTrue(ref.Optional))
		}
	}
}

func (c collector) refs() []Ref {
	if len(c) == 0 {
		return nil
	}
	refs := make([]Ref, 0, len(c))
	for name, r := range c {
		ref := Ref{Name: name, Optional: !r.required, RequiredKeys: sortedKeys(r.reqKeys)}
		if !r.whole {
			ref.Keys = sortedKeys(r.keys)
		}
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs
}

// Select returns the refs an [AnnotationRestartOnSecretChange] value
// selects from those of a template. ok is false when the value turns the
// feature off: empty or "false".
//
// "true" selects every ref. Otherwise the value is a comma-separated list
// of Secret names: the refs of those names, and, for a name the template
// does not reference (its pods may read the Secret through the API), a ref
// to the whole Secret, optional. "true" and "false" are never names.
func Select(refs []Ref, value string) (selected []Ref, ok bool) {
	value = strings.TrimSpace(value)
	switch {
	case value == "" || strings.EqualFold(value, "false"):
		return nil, false
	case strings.EqualFold(value, "true"):
		return refs, true
	}
	byName := make(map[string]Ref, len(refs))
	for _, r := range refs {
		byName[r.Name] = r
	}
	seen := map[string]bool{}
	for _, name := range strings.Split(value, ",") {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		r, found := byName[name]
		if !found {
			r = Ref{Name: name, Optional: true}
		}
		selected = append(selected, r)
	}
	sort.Slice(selected, func(i, j int) bool { return selected[i].Name < selected[j].Name })
	return selected, true
}

// Hash returns the config hash of the data refs read from secrets, keyed
// by Secret name. It depends on nothing else: not on metadata, not on the
// Secret's type, not on keys the refs do not read, not on the order of
// refs. A Secret missing from secrets (or nil) hashes as absent, and a
// missing key as absent, distinct from an empty value.
//
// The hash is stored in annotations, so its encoding is part of the API: a
// change would roll every workload once. Whoever reads the workload reads
// the hash, and a SHA-256 of a guessable value (a short PIN, a dictionary
// word) lets them confirm a guess without reading the Secret; values that
// are long and random, as generated credentials are, give nothing away.
func Hash(refs []Ref, secrets map[string]*corev1.Secret) string {
	sorted := make([]Ref, len(refs))
	copy(sorted, refs)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	h := sha256.New()
	for _, r := range sorted {
		field(h, 'S', []byte(r.Name))
		s := secrets[r.Name]
		if s == nil {
			field(h, 'A', nil)
			continue
		}
		keys := r.Keys
		if keys == nil {
			keys = make([]string, 0, len(s.Data))
			for k := range s.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		for _, k := range keys {
			v, ok := s.Data[k]
			if !ok {
				field(h, 'M', []byte(k))
				continue
			}
			field(h, 'K', []byte(k))
			field(h, 'V', v)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// field writes a tagged, length-prefixed field, so no two inputs share an
// encoding.
func field(h hash.Hash, tag byte, b []byte) {
	var head [9]byte
	head[0] = tag
	binary.BigEndian.PutUint64(head[1:], uint64(len(b)))
	h.Write(head[:])
	h.Write(b)
}

// Check reports the Secrets and keys that refs require and secrets lacks:
// pods rolled now would not start. Each error names the Secret and key and
// wraps [ErrMissing]; Check returns nil when nothing is missing.
func Check(refs []Ref, secrets map[string]*corev1.Secret) error {
	var errs []error
	for _, r := range refs {
		s := secrets[r.Name]
		if s == nil {
			if !r.Optional {
				errs = append(errs, fmt.Errorf("Secret %s: %w", r.Name, ErrMissing))
			}
			continue
		}
		for _, k := range r.RequiredKeys {
			if _, ok := s.Data[k]; !ok {
				errs = append(errs, fmt.Errorf("Secret %s key %s: %w", r.Name, k, ErrMissing))
			}
		}
	}
	return errors.Join(errs...)
}

func isTrue(b *bool) bool { return b != nil && *b }

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
