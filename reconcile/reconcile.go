package reconcile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/template"
)

const (
	// LabelManaged marks the Secrets secretsync writes, so a controller can
	// watch only those.
	LabelManaged = "secretsync.io/managed"
	// AnnotationDataHash holds a hash of the data secretsync wrote, so an
	// unchanged Secret is never rewritten and one edited by hand is
	// noticed.
	AnnotationDataHash = "secretsync.io/data-hash"
	// MaxSecretSize is the most data a Secret may hold.
	MaxSecretSize = 1 << 20
)

// Action is what to do with the target Secret.
type Action string

const (
	// ActionNone leaves the Secret as it is.
	ActionNone Action = "None"
	// ActionCreate creates Output.Secret.
	ActionCreate Action = "Create"
	// ActionUpdate updates the Secret to Output.Secret, which carries the
	// resourceVersion of the existing one.
	ActionUpdate Action = "Update"
	// ActionDelete deletes the existing Secret.
	ActionDelete Action = "Delete"
)

// Input is everything Reconcile needs.
type Input struct {
	// ExternalSecret to reconcile.
	ExternalSecret *externalsecret.ExternalSecret
	// StoreErr, when set, is why the store cannot be used; nothing was
	// fetched.
	StoreErr error
	// Fetched is what Fetch read.
	Fetched *Fetched
	// Existing is the target Secret, nil if it does not exist.
	Existing *corev1.Secret
	// ExistingObject is the target of an ExternalSecret with a manifest
	// target (spec.target.manifest naming a kind other than Secret), nil
	// if it does not exist. Existing is not used then.
	ExistingObject *unstructured.Unstructured
	// TargetErr, when set, is why the target cannot be written, such as a
	// manifest target the host does not allow; nothing is written.
	TargetErr error
	// ConfigMaps and Secrets are the templateFrom sources, by name, from
	// the ExternalSecret's namespace.
	ConfigMaps map[string]map[string]string
	Secrets    map[string]map[string][]byte
	// Now is the time of the reconcile.
	Now time.Time
	// Owner is the controller of the Secret with creationPolicy Owner.
	// When nil it is the ExternalSecret. A host that builds the
	// ExternalSecret in memory from a resource of its own names that
	// resource here (see metav1.NewControllerRef), so the Secret is
	// garbage-collected with it.
	Owner *metav1.OwnerReference
}

// ErrIncompleteInput is the error of an Output whose Input lacked a field
// Reconcile needs.
var ErrIncompleteInput = errors.New("incomplete reconcile.Input")

func (in *Input) check() error {
	switch {
	case in.ExternalSecret == nil:
		return fmt.Errorf("%w: ExternalSecret is nil", ErrIncompleteInput)
	case in.Now.IsZero():
		return fmt.Errorf("%w: Now is the zero time", ErrIncompleteInput)
	}
	return nil
}

// Output is everything Reconcile decided.
type Output struct {
	// Action to take on the target Secret.
	Action Action
	// Secret to create or update.
	Secret *corev1.Secret
	// Object, for a manifest target, is the resource to create or update,
	// or with ActionDelete the one to delete. Secret is nil then.
	Object *unstructured.Unstructured
	// Status is the new status. Write it only when StatusChanged.
	Status        externalsecret.ExternalSecretStatus
	StatusChanged bool
	// Events to record on the ExternalSecret.
	Events []Event
	// RequeueAfter is when to read the values again; zero means only when
	// something changes.
	RequeueAfter time.Duration
	// Err is set when the sync failed; the caller should retry with
	// backoff. Status already describes it.
	Err error
}

// Event is a Kubernetes Event to record on the ExternalSecret.
type Event struct {
	Type    string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason  string
	Message string
}

// Event reasons.
const (
	EventCreated      = "Created"
	EventUpdated      = "Updated"
	EventDeleted      = "Deleted"
	EventSyncFailed   = "UpdateFailed"
	EventStoreInvalid = "StoreInvalid"
)

// Reconcile decides what to do with the Secret of an ExternalSecret, given
// what was fetched for it. It is pure: it does no I/O, reads no clock and
// never modifies its input.
//
// An incomplete Input (no ExternalSecret, or a zero Now) gets an Output
// with Action None, no status change and an Err that names the missing
// field.
func Reconcile(in Input) Output {
	if err := in.check(); err != nil {
		return Output{Action: ActionNone, Err: err}
	}
	// Times are stored with second precision; deciding with the same
	// precision keeps an unchanged status equal to the stored one.
	in.Now = in.Now.Truncate(time.Second)
	es := in.ExternalSecret
	if es.DeletionTimestamp != nil {
		return Output{Action: ActionNone, Status: es.Status}
	}
	if in.StoreErr != nil {
		return failed(in, EventStoreInvalid, in.StoreErr)
	}
	if in.Fetched == nil {
		return failed(in, EventSyncFailed, errors.New("nothing was fetched"))
	}
	if in.TargetErr != nil {
		return failed(in, EventSyncFailed, in.TargetErr)
	}

	data, missing, err := assemble(es, in.Fetched)
	if err != nil {
		return failed(in, EventSyncFailed, err)
	}
	if len(missing) > 0 {
		switch es.DeletionPolicy() {
		case externalsecret.DeletionPolicyRetain:
			return failed(in, EventSyncFailed, missingError(missing))
		case externalsecret.DeletionPolicyDelete:
			if len(data) == 0 {
				return deleteSecret(in)
			}
		}
		// Delete with some values left, and Merge: write what is left.
	}

	var out template.Output
	out, err = template.Render(template.Input{
		Template:   es.Spec.Target.Template,
		Data:       data,
		ConfigMaps: in.ConfigMaps,
		Secrets:    in.Secrets,
		Manifest:   es.GenericTarget(),
	})
	if err != nil {
		return failed(in, EventSyncFailed, err)
	}
	if es.GenericTarget() {
		return reconcileManifest(in, out)
	}
	if err := checkKeys(out.Data); err != nil {
		return failed(in, EventSyncFailed, err)
	}
	if err := checkType(out.Type); err != nil {
		return failed(in, EventSyncFailed, err)
	}
	if es.Spec.Target.Template == nil {
		out.Labels, out.Annotations = copyMetadata(es)
	}
	if size := dataSize(out.Data); size > MaxSecretSize {
		return failed(in, EventSyncFailed, fmt.Errorf("the Secret would hold %d bytes of data, over the limit of %d", size, MaxSecretSize))
	}

	desired, action, err := plan(in, out)
	if err != nil {
		return failed(in, EventSyncFailed, err)
	}
	return succeeded(in, Output{Action: action, Secret: desired}, "Secret", changedKeys(in.Existing, desired))
}

// succeeded completes o, the Output of a sync that decided its action on a
// target of kind: its event, status and requeue. detail ends the event of
// an update.
func succeeded(in Input, o Output, kind, detail string) Output {
	es := in.ExternalSecret
	switch o.Action {
	case ActionCreate:
		o.Events = append(o.Events, Event{corev1.EventTypeNormal, EventCreated, fmt.Sprintf("created %s %s", kind, es.TargetName())})
	case ActionUpdate:
		o.Events = append(o.Events, Event{corev1.EventTypeNormal, EventUpdated, fmt.Sprintf("updated %s %s%s", kind, es.TargetName(), detail)})
	}
	o.Status = syncedStatus(in, o.Action != ActionNone, corev1.ConditionTrue, externalsecret.ReasonSecretSynced, kind+" was synced")
	o.StatusChanged = !apiequality.Semantic.DeepEqual(es.Status, o.Status)
	o.RequeueAfter = requeue(es, in.Now)
	return o
}

// assemble turns what was fetched into the Secret's data, applying
// decoding, key conversion and rewrites. Later entries override earlier
// ones, and data overrides dataFrom. It returns the entries whose remote
// value is missing separately from other errors.
func assemble(es *externalsecret.ExternalSecret, f *Fetched) (map[string][]byte, []string, error) {
	spec := &es.Spec
	if len(f.Data) != len(spec.Data) || len(f.DataFrom) != len(spec.DataFrom) {
		return nil, nil, errors.New("fetched results do not match the spec")
	}
	data := map[string][]byte{}
	var missing []string
	var errs []error
	for i, df := range spec.DataFrom {
		where := fmt.Sprintf("spec.dataFrom[%d]", i)
		r := f.DataFrom[i]
		if r.Err != nil {
			if errors.Is(r.Err, provider.ErrNotFound) {
				missing = append(missing, where)
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %w", where, r.Err))
			continue
		}
		conv, dec, nul := externalsecret.ConversionDefault, externalsecret.DecodeNone, externalsecret.NullBytePolicyIgnore
		switch {
		case df.Extract != nil:
			conv, dec, nul = df.Extract.ConversionStrategy, df.Extract.DecodingStrategy, df.Extract.NullBytePolicy
		case df.Find != nil:
			conv, dec, nul = df.Find.ConversionStrategy, df.Find.DecodingStrategy, df.Find.NullBytePolicy
		}
		if err := checkNullBytes(nul, r.Values); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		m, err := Rewrite(df.Rewrite, r.Values)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if len(df.Rewrite) == 0 {
			if m, err = ConvertKeys(conv, m); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
		}
		for k, v := range m {
			if k == "" {
				// A rewrite that leaves nothing of a key drops it.
				continue
			}
			// With a template, only the keys of the Secret it makes
			// must be valid: a key such as "app/db/password" may be
			// read by a template and never written.
			if es.Spec.Target.Template == nil {
				if err := ValidateKey(k); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", where, err))
					continue
				}
			}
			dv, err := Decode(dec, v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: key %q: %w", where, k, err))
				continue
			}
			data[k] = dv
		}
	}
	for i, d := range spec.Data {
		where := fmt.Sprintf("spec.data[%d] (secretKey %q, remote key %q", i, d.SecretKey, d.RemoteRef.Key)
		if d.RemoteRef.Property != "" {
			where += fmt.Sprintf(", property %q", d.RemoteRef.Property)
		}
		where += ")"
		r := f.Data[i]
		if r.Err != nil {
			if errors.Is(r.Err, provider.ErrNotFound) {
				missing = append(missing, where)
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %w", where, r.Err))
			continue
		}
		if err := checkNullBytes(d.RemoteRef.NullBytePolicy, map[string][]byte{d.SecretKey: r.Value}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		v, err := Decode(d.RemoteRef.DecodingStrategy, r.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		data[d.SecretKey] = v
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return data, missing, nil
}

// checkNullBytes applies a nullBytePolicy to values as they were read,
// before any decoding: Fail refuses the first key, in sorted order, whose
// value holds a NUL byte.
func checkNullBytes(policy externalsecret.NullBytePolicy, values map[string][]byte) error {
	if policy != externalsecret.NullBytePolicyFail {
		return nil
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if bytes.IndexByte(values[k], 0) >= 0 {
			return fmt.Errorf("the value read for key %q holds NUL bytes, which nullBytePolicy Fail refuses", k)
		}
	}
	return nil
}

// checkKeys checks that every key of the Secret is a valid Secret key.
func checkKeys(data map[string][]byte) error {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if err := ValidateKey(k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// copyMetadata returns the labels and annotations of es that a Secret
// written without a template carries, as the External Secrets Operator
// copies them. kubectl's last-applied-configuration annotation is left
// out: it describes the ExternalSecret, and on the Secret kubectl would
// take it for the Secret's own last applied state.
func copyMetadata(es *externalsecret.ExternalSecret) (labels, annotations map[string]string) {
	labels = maps.Clone(es.Labels)
	annotations = maps.Clone(es.Annotations)
	delete(annotations, corev1.LastAppliedConfigAnnotation)
	return labels, annotations
}

func missingError(missing []string) error {
	return fmt.Errorf("not found in the store: %s", strings.Join(missing, "; "))
}

var forbiddenTypes = map[corev1.SecretType]bool{
	corev1.SecretTypeServiceAccountToken: true,
	corev1.SecretTypeBootstrapToken:      true,
}

func checkType(t corev1.SecretType) error {
	if forbiddenTypes[t] {
		return fmt.Errorf("Secret type %s may not be written from a template", t)
	}
	return nil
}

func dataSize(data map[string][]byte) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v)
	}
	return n
}

// plan builds the desired Secret for the creation policy and compares it
// with the existing one.
func plan(in Input, out template.Output) (*corev1.Secret, Action, error) {
	es := in.ExternalSecret
	existing := in.Existing
	policy := es.CreationPolicy()
	switch policy {
	case externalsecret.CreatePolicyNone:
		return nil, ActionNone, nil
	case externalsecret.CreatePolicyMerge:
		if existing == nil {
			return nil, ActionNone, fmt.Errorf("Secret %s does not exist; creationPolicy Merge only adds keys to an existing Secret", es.TargetName())
		}
		return merge(es, existing, out)
	case externalsecret.CreatePolicyCreateOrMerge:
		if existing != nil {
			return merge(es, existing, out)
		}
	}

	typ := out.Type
	if typ == "" {
		typ = corev1.SecretTypeOpaque
	}
	if existing == nil {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:        es.TargetName(),
				Namespace:   es.Namespace,
				Labels:      mergeMaps(out.Labels, map[string]string{LabelManaged: "true"}),
				Annotations: mergeMaps(out.Annotations, map[string]string{AnnotationDataHash: dataHash(typ, out.Data)}),
			},
			Type: typ,
			Data: out.Data,
		}
		if es.Spec.Target.Immutable {
			s.Immutable = ptrTo(true)
		}
		if policy == externalsecret.CreatePolicyOwner {
			s.OwnerReferences = []metav1.OwnerReference{in.owner()}
		}
		addFinalizers(es, s)
		return s, ActionCreate, nil
	}

	if owner := metav1.GetControllerOf(existing); owner != nil && owner.UID != in.owner().UID {
		return nil, ActionNone, fmt.Errorf("Secret %s is controlled by %s %s, not by this ExternalSecret", existing.Name, owner.Kind, owner.Name)
	}
	if existing.Type != typ && !(existing.Type == "" && typ == corev1.SecretTypeOpaque) {
		return nil, ActionNone, fmt.Errorf("Secret %s has type %s but the template asks for %s; the type of a Secret cannot change, delete it to recreate it", existing.Name, existing.Type, typ)
	}
	s := existing.DeepCopy()
	s.Labels = mergeMaps(s.Labels, out.Labels, map[string]string{LabelManaged: "true"})
	s.Annotations = mergeMaps(s.Annotations, out.Annotations, map[string]string{AnnotationDataHash: dataHash(typ, out.Data)})
	s.Data = out.Data
	s.StringData = nil
	if es.Spec.Target.Immutable {
		s.Immutable = ptrTo(true)
	}
	if policy == externalsecret.CreatePolicyOwner && metav1.GetControllerOf(s) == nil {
		s.OwnerReferences = append(s.OwnerReferences, in.owner())
	}
	addFinalizers(es, s)
	if apiequality.Semantic.DeepEqual(existing, s) {
		return nil, ActionNone, nil
	}
	if existing.Immutable != nil && *existing.Immutable {
		return nil, ActionNone, fmt.Errorf("Secret %s is immutable and its data changed; delete it to write the new data", existing.Name)
	}
	return s, ActionUpdate, nil
}

// merge adds the templated keys to an existing Secret it does not own,
// leaving every other key, label and annotation alone.
func merge(es *externalsecret.ExternalSecret, existing *corev1.Secret, out template.Output) (*corev1.Secret, Action, error) {
	s := existing.DeepCopy()
	data := make(map[string][]byte, len(s.Data)+len(out.Data))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range out.Data {
		data[k] = v
	}
	s.Data = data
	s.Labels = mergeMaps(s.Labels, out.Labels, map[string]string{LabelManaged: "true"})
	s.Annotations = mergeMaps(s.Annotations, out.Annotations, map[string]string{AnnotationDataHash: dataHash(s.Type, out.Data)})
	addFinalizers(es, s)
	if apiequality.Semantic.DeepEqual(existing, s) {
		return nil, ActionNone, nil
	}
	if existing.Immutable != nil && *existing.Immutable {
		return nil, ActionNone, fmt.Errorf("Secret %s is immutable; keys cannot be merged into it", existing.Name)
	}
	return s, ActionUpdate, nil
}

// addFinalizers adds the template's finalizers that s lacks, unless s is
// being deleted, when no finalizer may be added.
func addFinalizers(es *externalsecret.ExternalSecret, s *corev1.Secret) {
	t := es.Spec.Target.Template
	if t == nil || s.DeletionTimestamp != nil {
		return
	}
	for _, f := range t.Metadata.Finalizers {
		if !slices.Contains(s.Finalizers, f) {
			s.Finalizers = append(s.Finalizers, f)
		}
	}
}

// deleteSecret handles deletionPolicy Delete once every remote value is
// gone.
func deleteSecret(in Input) Output {
	es := in.ExternalSecret
	o := Output{Action: ActionNone}
	var existing metav1.Object
	kind := "Secret"
	switch {
	case es.GenericTarget():
		kind = es.Spec.Target.Manifest.Kind
		if in.ExistingObject != nil {
			existing = in.ExistingObject
		}
	case in.Existing != nil:
		existing = in.Existing
	}
	if existing != nil {
		if owner := metav1.GetControllerOf(existing); owner != nil && owner.UID == in.owner().UID {
			o.Action = ActionDelete
			o.Object = in.ExistingObject
			o.Events = append(o.Events, Event{corev1.EventTypeNormal, EventDeleted, fmt.Sprintf("deleted %s %s: every remote value is gone and deletionPolicy is Delete", kind, es.TargetName())})
		}
	}
	o.Status = syncedStatus(in, o.Action != ActionNone, corev1.ConditionFalse, externalsecret.ReasonSecretDeleted, "every remote value is gone; the "+kind+" was deleted as deletionPolicy Delete says")
	o.StatusChanged = !apiequality.Semantic.DeepEqual(es.Status, o.Status)
	o.RequeueAfter = requeue(es, in.Now)
	return o
}

// failed reports a sync error and leaves the Secret as it is.
func failed(in Input, reason string, err error) Output {
	es := in.ExternalSecret
	st := *es.Status.DeepCopy()
	setCondition(&st, corev1.ConditionFalse, externalsecret.ReasonSecretSyncedError, "could not sync: "+err.Error(), in.Now)
	return Output{
		Action:        ActionNone,
		Status:        st,
		StatusChanged: !apiequality.Semantic.DeepEqual(es.Status, st),
		Events:        []Event{{corev1.EventTypeWarning, reason, err.Error()}},
		Err:           err,
	}
}

func syncedStatus(in Input, wrote bool, status corev1.ConditionStatus, reason, msg string) externalsecret.ExternalSecretStatus {
	es := in.ExternalSecret
	st := *es.Status.DeepCopy()
	prev := st.ReadyCondition()
	if wrote || prev == nil || prev.Status != status || prev.Reason != reason || st.RefreshTime.IsZero() {
		st.RefreshTime = metav1.NewTime(in.Now)
	}
	st.SyncedResourceVersion = es.SyncVersion()
	st.Binding = corev1.LocalObjectReference{}
	if es.CreationPolicy() != externalsecret.CreatePolicyNone {
		st.Binding.Name = es.TargetName()
	}
	setCondition(&st, status, reason, msg, in.Now)
	return st
}

func setCondition(st *externalsecret.ExternalSecretStatus, status corev1.ConditionStatus, reason, msg string, now time.Time) {
	c := externalsecret.Condition{
		Type:               externalsecret.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            msg,
		LastTransitionTime: metav1.NewTime(now),
	}
	if prev := st.ReadyCondition(); prev != nil {
		if prev.Status == status {
			c.LastTransitionTime = prev.LastTransitionTime
		}
		*prev = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

func requeue(es *externalsecret.ExternalSecret, now time.Time) time.Duration {
	next := NextRefresh(es, now)
	if next.IsZero() {
		return 0
	}
	return next.Sub(now)
}

// owner is the controller reference of the Secrets in's ExternalSecret
// owns: in.Owner, or the ExternalSecret itself.
func (in *Input) owner() metav1.OwnerReference {
	if in.Owner != nil {
		o := *in.Owner
		o.Controller, o.BlockOwnerDeletion = ptrTo(true), ptrTo(true)
		return o
	}
	es := in.ExternalSecret
	return metav1.OwnerReference{
		APIVersion:         externalsecret.SchemeGroupVersion.String(),
		Kind:               externalsecret.Kind,
		Name:               es.Name,
		UID:                es.UID,
		Controller:         ptrTo(true),
		BlockOwnerDeletion: ptrTo(true),
	}
}

// dataHash hashes a Secret's type and data.
func dataHash(t corev1.SecretType, data map[string][]byte) string {
	if t == "" {
		t = corev1.SecretTypeOpaque
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(t))
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%d:%s%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// changedKeys names the keys whose values differ, never the values.
func changedKeys(old, s *corev1.Secret) string {
	if old == nil || s == nil {
		return ""
	}
	var keys []string
	for k, v := range s.Data {
		if ov, ok := old.Data[k]; !ok || string(ov) != string(v) {
			keys = append(keys, k)
		}
	}
	for k := range old.Data {
		if _, ok := s.Data[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	return " (keys changed: " + strings.Join(keys, ", ") + ")"
}

func mergeMaps(ms ...map[string]string) map[string]string {
	var out map[string]string
	for _, m := range ms {
		for k, v := range m {
			if out == nil {
				out = make(map[string]string)
			}
			out[k] = v
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
