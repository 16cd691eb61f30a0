package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/reconcile"
)

// What the engine generates is kept in a state Secret per generator entry
// of an ExternalSecret, in its namespace, owned by it and labelled with
// its UID: the values, and in annotations the generator, a hash of its
// spec, when the values were made and when they are renewed, what revokes
// them, and the replaced values still to revoke. Nothing else holds them,
// so a restart or an upgrade makes no new values.
const (
	// LabelGeneratorOwner holds the UID of the ExternalSecret a state
	// Secret belongs to.
	LabelGeneratorOwner = "secretsync.io/generator-owner"
	// AnnotationGenerator names the generator, Kind/name.
	AnnotationGenerator = "secretsync.io/generator"
	// AnnotationGeneratorSpec is a hash of the generator's spec: a new
	// spec makes new values.
	AnnotationGeneratorSpec = "secretsync.io/generator-spec"
	// AnnotationGeneratedAt and AnnotationRenewAt are RFC 3339 times.
	AnnotationGeneratedAt = "secretsync.io/generated-at"
	AnnotationRenewAt     = "secretsync.io/renew-at"
	// AnnotationGeneratorRevoke holds what revokes the current values and
	// the replaced ones, as JSON: the generator resource and its state.
	AnnotationGeneratorRevoke = "secretsync.io/generator-revoke"
	// GeneratorFinalizer holds an ExternalSecret whose generated values
	// must be revoked until they are.
	GeneratorFinalizer = "secretsync.io/generated-values"
)

// Defaults of Config.RenewFraction and Config.RevokeGrace.
const (
	DefaultRenewFraction = 2.0 / 3
	DefaultRevokeGrace   = 5 * time.Minute
)

// GeneratorGetter reads the generator resource a generatorRef names:
// namespaced in namespace, or a ClusterGenerator. [CRDClient] is one.
type GeneratorGetter interface {
	Generator(ctx context.Context, ref externalsecret.GeneratorRef, namespace string) (runtime.Object, error)
}

// revocation is what revokes one generation: the generator resource it
// came from and the generator's state.
type revocation struct {
	Resource json.RawMessage   `json:"resource"`
	Kind     string            `json:"kind"`
	State    map[string]string `json:"state,omitempty"`
	// RevokeAt is when a replaced generation is revoked; zero for the
	// current one.
	RevokeAt *metav1.Time `json:"revokeAt,omitempty"`
}

// revocations is the JSON of AnnotationGeneratorRevoke.
type revocations struct {
	Current  *revocation  `json:"current,omitempty"`
	Replaced []revocation `json:"replaced,omitempty"`
}

// generated returns the values of the generator ref for entry of es: the
// kept ones while they are good, else new ones, kept before they are
// returned.
func (e *Engine) generated(ctx context.Context, es *externalsecret.ExternalSecret, entry string, ref externalsecret.GeneratorRef, owner *metav1.OwnerReference) (map[string][]byte, error) {
	if e.cfg.Generators == nil {
		return nil, fmt.Errorf("generator %s %s: this engine serves no generators (engine.Config.Generators)", ref.Kind, ref.Name)
	}
	getter := e.cfg.GeneratorObjects
	if getter == nil && e.cfg.CRD != nil {
		getter = e.cfg.CRD
	}
	if getter == nil {
		return nil, fmt.Errorf("generator %s %s: this engine cannot read generators (engine.Config.GeneratorObjects)", ref.Kind, ref.Name)
	}
	name := stateSecretName(es, entry)
	unlock := e.lockGeneration(es.Namespace + "/" + name)
	defer unlock()

	obj, err := getter.Generator(ctx, ref, es.Namespace)
	if err != nil {
		return nil, fmt.Errorf("generator %s %s: %w", ref.Kind, ref.Name, err)
	}
	if obj, err = generatorOf(obj, ref); err != nil {
		return nil, err
	}
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	g, err := e.cfg.Generators.For(kind)
	if err != nil {
		return nil, err
	}
	resource, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	specHash := hashOf(resource)

	now := e.cfg.Now()
	state, err := e.stateSecret(ctx, es.Namespace, name)
	if err != nil {
		return nil, err
	}
	if state != nil && !ownedStateOf(state, es) {
		return nil, fmt.Errorf("generator %s %s: Secret %s/%s exists and does not belong to this ExternalSecret", ref.Kind, ref.Name, es.Namespace, name)
	}
	var revs revocations
	if state != nil {
		if err := json.Unmarshal([]byte(state.Annotations[AnnotationGeneratorRevoke]), &revs); err != nil && state.Annotations[AnnotationGeneratorRevoke] != "" {
			return nil, fmt.Errorf("Secret %s/%s: annotation %s: %w", es.Namespace, name, AnnotationGeneratorRevoke, err)
		}
		// Replaced values whose grace period is over are revoked.
		kept := revs.Replaced[:0]
		changed := false
		for _, r := range revs.Replaced {
			if r.RevokeAt != nil && !now.Before(r.RevokeAt.Time) {
				if err := e.revoke(ctx, es.Namespace, r); err != nil {
					return nil, err
				}
				changed = true
				continue
			}
			kept = append(kept, r)
		}
		revs.Replaced = kept
		renewAt, _ := time.Parse(time.RFC3339, state.Annotations[AnnotationRenewAt])
		keep := state.Annotations[AnnotationGeneratorSpec] == specHash &&
			(es.RefreshPolicy() == externalsecret.RefreshPolicyCreatedOnce || renewAt.IsZero() || now.Before(renewAt))
		if keep {
			if changed {
				state = state.DeepCopy()
				setRevocations(state, revs)
				if _, err := e.cfg.Kube.CoreV1().Secrets(es.Namespace).Update(ctx, state, metav1.UpdateOptions{FieldManager: e.cfg.FieldManager}); err != nil {
					return nil, fmt.Errorf("update Secret %s/%s: %w", es.Namespace, name, err)
				}
			}
			e.noteGeneratorEvent(es, renewAt, revs)
			return state.Data, nil
		}
	}

	// New values. One that must be revoked holds its ExternalSecret
	// until it is: the finalizer goes on first.
	if _, revokes := g.(generator.Revoker); revokes && owner == nil && e.cfg.Kube != nil {
		if err := e.addGeneratorFinalizer(ctx, es); err != nil {
			return nil, err
		}
	}
	res, err := g.Generate(ctx, obj, e.clients.creds, es.Namespace)
	e.auditGenerator("Generate", es, ref.Kind, ref.Name, err)
	if err != nil {
		return nil, fmt.Errorf("generator %s %s: %w", ref.Kind, ref.Name, err)
	}
	if e.cfg.Kube == nil {
		// Plan without a cluster, as render does: what would be
		// generated, kept nowhere.
		return res.Values, nil
	}
	if revs.Current != nil {
		r := *revs.Current
		r.RevokeAt = &metav1.Time{Time: now.Add(e.cfg.RevokeGrace).Truncate(time.Second)}
		revs.Replaced = append(revs.Replaced, r)
	}
	revs.Current = nil
	if _, revokes := g.(generator.Revoker); revokes {
		revs.Current = &revocation{Resource: resource, Kind: kind, State: res.State}
	}
	renewAt := e.renewAt(es, now, res.TTL)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: es.Namespace,
			Labels:    map[string]string{reconcile.LabelManaged: "true", LabelGeneratorOwner: string(es.UID)},
			Annotations: map[string]string{
				AnnotationGenerator:     ref.Kind + "/" + ref.Name,
				AnnotationGeneratorSpec: specHash,
				AnnotationGeneratedAt:   now.UTC().Format(time.RFC3339),
			},
		},
		Type: corev1.SecretTypeOpaque,
		Data: res.Values,
	}
	if !renewAt.IsZero() {
		s.Annotations[AnnotationRenewAt] = renewAt.UTC().Format(time.RFC3339)
	}
	setRevocations(s, revs)
	if owner != nil {
		s.OwnerReferences = []metav1.OwnerReference{*owner}
	} else if es.UID != "" {
		s.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: externalsecret.SchemeGroupVersion.String(), Kind: externalsecret.Kind,
			Name: es.Name, UID: es.UID, BlockOwnerDeletion: ptrTo(true),
		}}
	}
	secrets := e.cfg.Kube.CoreV1().Secrets(es.Namespace)
	if state == nil {
		_, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: e.cfg.FieldManager})
	} else {
		s.ResourceVersion = state.ResourceVersion
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: e.cfg.FieldManager})
	}
	if err != nil {
		// The values were made but not kept: revoke them now rather than
		// leak them, and let the retry make new ones.
		if revs.Current != nil {
			if rerr := e.revoke(ctx, es.Namespace, *revs.Current); rerr != nil {
				klog.FromContext(ctx).Error(rerr, "Could not revoke generated values that could not be kept", "generator", ref.Kind+"/"+ref.Name)
			}
		}
		return nil, fmt.Errorf("keep generated values in Secret %s/%s: %w", es.Namespace, name, err)
	}
	e.noteGeneratorEvent(es, renewAt, revs)
	return res.Values, nil
}

// auditGenerator records a call to a generator.
func (e *Engine) auditGenerator(op string, es *externalsecret.ExternalSecret, kind, name string, err error) {
	if e.cfg.Audit == nil {
		return
	}
	r := Access{Time: e.cfg.Now(), Resource: externalsecret.Kind, Namespace: es.Namespace, Name: es.Name,
		StoreRef: "Generator/" + kind + "/" + name, Provider: kind, Operation: op}
	r.Result, r.Error = accessResult(err)
	e.cfg.Audit(r)
}

// renewAt is when values made at now with lifetime ttl are made again: at
// Config.RenewFraction of the lifetime; for values without one, after
// the refresh interval; never with refreshPolicy CreatedOnce.
func (e *Engine) renewAt(es *externalsecret.ExternalSecret, now time.Time, ttl time.Duration) time.Time {
	switch {
	case es.RefreshPolicy() == externalsecret.RefreshPolicyCreatedOnce:
		return time.Time{}
	case ttl > 0:
		return now.Add(time.Duration(float64(ttl) * e.cfg.RenewFraction)).Truncate(time.Second)
	case es.RefreshInterval() > 0:
		return now.Add(es.RefreshInterval()).Truncate(time.Second)
	}
	return time.Time{}
}

// noteGeneratorEvent records the next time es must be synced for its
// generated values: a renewal, or a revocation after a grace period.
func (e *Engine) noteGeneratorEvent(es *externalsecret.ExternalSecret, renewAt time.Time, revs revocations) {
	next := renewAt
	for _, r := range revs.Replaced {
		if r.RevokeAt != nil && (next.IsZero() || r.RevokeAt.Before(&metav1.Time{Time: next})) {
			next = r.RevokeAt.Time
		}
	}
	if next.IsZero() {
		return
	}
	e.mu.Lock()
	st := e.stateOfLocked(types.NamespacedName{Namespace: es.Namespace, Name: es.Name})
	if st.genNext.IsZero() || next.Before(st.genNext) {
		st.genNext = next
	}
	e.mu.Unlock()
}

// stateSecret returns the state Secret name, from Config.Secrets or else
// the API; nil when there is none.
func (e *Engine) stateSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s, err := e.cfg.Secrets.Secret(ctx, namespace, name)
	if err == nil {
		return s, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get Secret %s/%s: %w", namespace, name, err)
	}
	// A cache may not show a state Secret written a moment ago: making
	// new values for that would replace good ones.
	return e.getSecret(ctx, namespace, name)
}

func ownedStateOf(s *corev1.Secret, es *externalsecret.ExternalSecret) bool {
	return s.Labels[LabelGeneratorOwner] == string(es.UID)
}

func setRevocations(s *corev1.Secret, revs revocations) {
	if revs.Current == nil && len(revs.Replaced) == 0 {
		delete(s.Annotations, AnnotationGeneratorRevoke)
		return
	}
	b, _ := json.Marshal(revs)
	s.Annotations[AnnotationGeneratorRevoke] = string(b)
}

// revoke revokes one generation with the generator resource it came from.
func (e *Engine) revoke(ctx context.Context, namespace string, r revocation) error {
	g, err := e.cfg.Generators.For(r.Kind)
	if err != nil {
		return err
	}
	revoker, ok := g.(generator.Revoker)
	if !ok {
		return nil
	}
	obj, err := Scheme.New(generators.SchemeGroupVersion.WithKind(r.Kind))
	if err != nil {
		return fmt.Errorf("revoke: generator kind %s: %w", r.Kind, err)
	}
	if err := json.Unmarshal(r.Resource, obj); err != nil {
		return fmt.Errorf("revoke: generator %s: %w", r.Kind, err)
	}
	err = revoker.Revoke(ctx, obj, e.clients.creds, namespace, r.State)
	if e.cfg.Audit != nil {
		rec := Access{Time: e.cfg.Now(), Namespace: namespace, StoreRef: "Generator/" + r.Kind, Provider: r.Kind, Operation: "Revoke"}
		if m, ok := obj.(interface{ GetName() string }); ok {
			rec.StoreRef += "/" + m.GetName()
		}
		rec.Result, rec.Error = accessResult(err)
		e.cfg.Audit(rec)
	}
	if err != nil {
		return fmt.Errorf("revoke generated values of %s: %w", r.Kind, err)
	}
	klog.FromContext(ctx).V(1).Info("Revoked generated values", "generator", r.Kind, "namespace", namespace)
	return nil
}

// RevokeGenerated revokes every value generated for es, current and
// replaced, and deletes their state Secrets. The engine calls it for an
// ExternalSecret being deleted that holds GeneratorFinalizer; a host that
// syncs an ExternalSecret it built in memory calls it when its own
// resource goes.
func (e *Engine) RevokeGenerated(ctx context.Context, es *externalsecret.ExternalSecret) error {
	if e.cfg.Kube == nil || es.UID == "" {
		return nil
	}
	secrets := e.cfg.Kube.CoreV1().Secrets(es.Namespace)
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: LabelGeneratorOwner + "=" + string(es.UID)})
	if err != nil {
		return fmt.Errorf("list the generator state of ExternalSecret %s/%s: %w", es.Namespace, es.Name, err)
	}
	var errs []error
	for i := range list.Items {
		s := &list.Items[i]
		var revs revocations
		if raw := s.Annotations[AnnotationGeneratorRevoke]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &revs); err != nil {
				errs = append(errs, fmt.Errorf("Secret %s/%s: annotation %s: %w", s.Namespace, s.Name, AnnotationGeneratorRevoke, err))
				continue
			}
		}
		all := revs.Replaced
		if revs.Current != nil {
			all = append(all, *revs.Current)
		}
		failed := false
		for _, r := range all {
			if err := e.revoke(ctx, es.Namespace, r); err != nil {
				errs = append(errs, err)
				failed = true
			}
		}
		if failed {
			continue
		}
		uid := s.UID
		if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete Secret %s/%s: %w", s.Namespace, s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// releaseGenerated revokes what was generated for es, being deleted, and
// removes GeneratorFinalizer.
func (e *Engine) releaseGenerated(ctx context.Context, es *externalsecret.ExternalSecret) error {
	if err := e.RevokeGenerated(ctx, es); err != nil {
		return err
	}
	return e.setFinalizer(ctx, es, GeneratorFinalizer, false)
}

func (e *Engine) addGeneratorFinalizer(ctx context.Context, es *externalsecret.ExternalSecret) error {
	if es.UID == "" {
		return nil
	}
	e.mu.Lock()
	done := e.stateOfLocked(types.NamespacedName{Namespace: es.Namespace, Name: es.Name}).finalized == es.UID
	e.mu.Unlock()
	if done {
		return nil
	}
	if err := e.setFinalizer(ctx, es, GeneratorFinalizer, true); err != nil {
		return err
	}
	e.mu.Lock()
	e.stateOfLocked(types.NamespacedName{Namespace: es.Namespace, Name: es.Name}).finalized = es.UID
	e.mu.Unlock()
	return nil
}

// generatorOf returns the generator resource of a ClusterGenerator as the
// kind's own type, and any other as it is.
func generatorOf(obj runtime.Object, ref externalsecret.GeneratorRef) (runtime.Object, error) {
	cg, ok := obj.(*generators.ClusterGenerator)
	if !ok {
		obj.GetObjectKind().SetGroupVersionKind(generators.SchemeGroupVersion.WithKind(ref.Kind))
		return obj, nil
	}
	meta := metav1.ObjectMeta{Name: cg.Name, UID: cg.UID, Generation: cg.Generation}
	var out runtime.Object
	g := cg.Spec.Generator
	switch cg.Spec.Kind {
	case generators.KindPassword:
		out = &generators.Password{ObjectMeta: meta, Spec: deref(g.PasswordSpec)}
	case generators.KindUUID:
		out = &generators.UUID{ObjectMeta: meta}
	case generators.KindFake:
		out = &generators.Fake{ObjectMeta: meta, Spec: deref(g.FakeSpec)}
	case generators.KindVaultDynamicSecret:
		out = &generators.VaultDynamicSecret{ObjectMeta: meta, Spec: deref(g.VaultDynamicSecretSpec)}
	case generators.KindECRAuthorizationToken:
		out = &generators.ECRAuthorizationToken{ObjectMeta: meta, Spec: deref(g.ECRAuthorizationTokenSpec)}
	case generators.KindSTSSessionToken:
		out = &generators.STSSessionToken{ObjectMeta: meta, Spec: deref(g.STSSessionTokenSpec)}
	case generators.KindGCRAccessToken:
		out = &generators.GCRAccessToken{ObjectMeta: meta, Spec: deref(g.GCRAccessTokenSpec)}
	case generators.KindACRAccessToken:
		out = &generators.ACRAccessToken{ObjectMeta: meta, Spec: deref(g.ACRAccessTokenSpec)}
	case generators.KindGithubAccessToken:
		out = &generators.GithubAccessToken{ObjectMeta: meta, Spec: deref(g.GithubAccessTokenSpec)}
	case generators.KindWebhook:
		out = &generators.Webhook{ObjectMeta: meta, Spec: deref(g.WebhookSpec)}
	default:
		return nil, fmt.Errorf("ClusterGenerator %s: kind %q is not served here", cg.Name, cg.Spec.Kind)
	}
	out.GetObjectKind().SetGroupVersionKind(generators.SchemeGroupVersion.WithKind(cg.Spec.Kind))
	return out, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// stateSecretName is the state Secret of entry of es: its name and a hash
// of the entry, within the 253 characters a name may have.
func stateSecretName(es *externalsecret.ExternalSecret, entry string) string {
	h := hashOf([]byte(entry))[:10]
	base := es.Name
	if len(base) > 253-len("-gen-")-len(h) {
		base = base[:253-len("-gen-")-len(h)]
	}
	return base + "-gen-" + h
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// lockGeneration serialises generations of one state Secret, which the
// data entries of one generator share and fetch in parallel.
func (e *Engine) lockGeneration(key string) func() {
	v, _ := e.genLocks.LoadOrStore(key, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func ptrTo[T any](v T) *T { return &v }
