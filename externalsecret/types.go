package externalsecret

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExternalSecret declares which remote values to read and the Kubernetes
// Secret to write them to.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets},shortName=es
// +kubebuilder:printcolumn:name="StoreType",type=string,JSONPath=`.spec.secretStoreRef.kind`,priority=1
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshInterval`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExternalSecretSpec   `json:"spec,omitempty"`
	Status ExternalSecretStatus `json:"status,omitempty"`
}

// ExternalSecretList is a list of ExternalSecrets.
//
// +kubebuilder:object:root=true
type ExternalSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExternalSecret `json:"items"`
}

// ExternalSecretSpec is the desired state of an ExternalSecret.
//
// +kubebuilder:validation:XValidation:rule="(has(self.data) && size(self.data) > 0) || (has(self.dataFrom) && size(self.dataFrom) > 0)",message="either data or dataFrom must be set"
type ExternalSecretSpec struct {
	// SecretStoreRef names the store that data without a sourceRef reads from.
	// +optional
	SecretStoreRef SecretStoreRef `json:"secretStoreRef,omitempty"`

	// Target describes the Secret to write.
	// +kubebuilder:default={creationPolicy:Owner,deletionPolicy:Retain}
	// +optional
	Target Target `json:"target,omitempty"`

	// RefreshPolicy decides when values are read again:
	// CreatedOnce reads them once, when the Secret is created;
	// Periodic reads them every refreshInterval (never again if it is 0);
	// OnChange reads them only when the ExternalSecret changes.
	// Defaults to Periodic.
	// +optional
	RefreshPolicy RefreshPolicy `json:"refreshPolicy,omitempty"`

	// RefreshInterval is how often values are read again, as a Go duration
	// ("1h", "10m30s"). Zero means read once. Defaults to 1h.
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="refreshInterval must be a Go duration of zero or more, such as 1h or 10m30s"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// Data maps single remote values to keys of the Secret.
	// +listType=map
	// +listMapKey=secretKey
	// +optional
	Data []Data `json:"data,omitempty"`

	// DataFrom copies many remote values at once, by extracting a map from
	// one remote secret or by finding secrets by name or tag.
	// +optional
	DataFrom []DataFrom `json:"dataFrom,omitempty"`

	// SyncWindows limits when periodic refreshes may happen. A first sync,
	// a changed ExternalSecret and a missing Secret are synced at any time.
	// +optional
	SyncWindows *SyncWindows `json:"syncWindows,omitempty"`
}

// SyncWindows are times when periodic refreshes are allowed, or denied.
type SyncWindows struct {
	// Kind allow permits refreshes only while a window is open; deny
	// blocks them while any window is open.
	Kind SyncWindowKind `json:"kind"`
	// Windows are the windows; with none, refreshes are never limited.
	Windows []SyncWindow `json:"windows"`
}

// SyncWindowKind says whether windows allow or deny refreshes.
//
// +kubebuilder:validation:Enum=allow;deny
type SyncWindowKind string

const (
	SyncWindowAllow SyncWindowKind = "allow"
	SyncWindowDeny  SyncWindowKind = "deny"
)

// SyncWindow is a window that opens at each time of a schedule and stays
// open for a duration, both ends included.
type SyncWindow struct {
	// Schedule is a 5-field cron expression, evaluated in UTC, or a
	// shorthand such as @daily or @every 1h. A schedule that does not
	// parse never opens its window.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$`
	Schedule string `json:"schedule"`
	// Duration is how long the window stays open, such as "8h".
	Duration metav1.Duration `json:"duration"`
}

// SecretStoreRef names a SecretStore or ClusterSecretStore.
type SecretStoreRef struct {
	// Name of the store.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`

	// Kind of the store: SecretStore (the default) or ClusterSecretStore.
	// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
	// +optional
	Kind string `json:"kind,omitempty"`
}

// Store kinds a SecretStoreRef may name.
const (
	KindSecretStore        = "SecretStore"
	KindClusterSecretStore = "ClusterSecretStore"
)

// Target describes the Kubernetes Secret an ExternalSecret writes.
//
// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy) || self.deletionPolicy != 'Delete' || !has(self.creationPolicy) || self.creationPolicy == 'Owner'",message="deletionPolicy Delete needs creationPolicy Owner: only a Secret the ExternalSecret owns may be deleted"
// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy) || self.deletionPolicy != 'Merge' || !has(self.creationPolicy) || self.creationPolicy != 'None'",message="deletionPolicy Merge cannot be used with creationPolicy None"
type Target struct {
	// Name of the Secret. Defaults to the ExternalSecret's name.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`

	// CreationPolicy says who owns the Secret. Defaults to Owner.
	// +kubebuilder:default="Owner"
	// +optional
	CreationPolicy CreationPolicy `json:"creationPolicy,omitempty"`

	// DeletionPolicy says what happens to the Secret when every remote value
	// it reads is gone. Defaults to Retain.
	// +kubebuilder:default="Retain"
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Template shapes the Secret from the values read.
	// +optional
	Template *Template `json:"template,omitempty"`

	// Manifest, when set, makes the target a resource of another kind
	// than Secret: a ConfigMap or a custom resource, in the
	// ExternalSecret's namespace. Its content is not encrypted at rest as
	// a Secret's may be; a controller writes such targets only when it is
	// told to (--unsafe-allow-generic-targets).
	// +optional
	Manifest *Manifest `json:"manifest,omitempty"`

	// Immutable makes the written Secret immutable.
	// +optional
	Immutable bool `json:"immutable,omitempty"`
}

// Manifest names the kind of a target other than a Secret.
type Manifest struct {
	// APIVersion of the target, such as v1 or config.example.com/v1.
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind of the target, such as ConfigMap.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
}

// CreationPolicy says whether and how the Secret is created.
//
// +kubebuilder:validation:Enum=Owner;Orphan;Merge;None;CreateOrMerge
type CreationPolicy string

const (
	// CreatePolicyOwner creates the Secret with an owner reference to the
	// ExternalSecret, so it is garbage-collected with it.
	CreatePolicyOwner CreationPolicy = "Owner"
	// CreatePolicyOrphan creates the Secret without an owner reference.
	CreatePolicyOrphan CreationPolicy = "Orphan"
	// CreatePolicyMerge does not create the Secret; it merges keys into an
	// existing one and leaves other keys alone.
	CreatePolicyMerge CreationPolicy = "Merge"
	// CreatePolicyNone writes no Secret at all.
	CreatePolicyNone CreationPolicy = "None"
	// CreatePolicyCreateOrMerge creates the Secret, without an owner
	// reference, when it does not exist, and otherwise merges keys into it
	// as Merge does. A Secret deleted is created again.
	CreatePolicyCreateOrMerge CreationPolicy = "CreateOrMerge"
)

// DeletionPolicy says what happens when the remote values are gone.
//
// +kubebuilder:validation:Enum=Delete;Merge;Retain
type DeletionPolicy string

const (
	// DeletionPolicyDelete deletes the Secret once every remote value is gone.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyMerge removes the keys whose remote values are gone and
	// keeps the Secret.
	DeletionPolicyMerge DeletionPolicy = "Merge"
	// DeletionPolicyRetain keeps the Secret as it is and reports an error.
	DeletionPolicyRetain DeletionPolicy = "Retain"
)

// Template shapes the Secret from the values read.
//
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'bootstrap.kubernetes.io/token'",message="template type bootstrap.kubernetes.io/token is not allowed"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'kubernetes.io/service-account-token' || !has(self.metadata) || !has(self.metadata.annotations) || !('kubernetes.io/service-account.name' in self.metadata.annotations)",message="template type kubernetes.io/service-account-token with annotation kubernetes.io/service-account.name is not allowed"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'kubernetes.io/service-account-token' || !has(self.templateFrom) || !self.templateFrom.exists(t, has(t.target) && t.target == 'Annotations')",message="template type kubernetes.io/service-account-token with templateFrom target Annotations is not allowed"
type Template struct {
	// Type of the Secret, such as kubernetes.io/tls. Defaults to Opaque.
	// +optional
	Type corev1.SecretType `json:"type,omitempty"`

	// EngineVersion of the template language. Only v2 exists.
	// +kubebuilder:default="v2"
	// +optional
	EngineVersion TemplateEngineVersion `json:"engineVersion,omitempty"`

	// Metadata adds labels and annotations to the Secret.
	// +optional
	Metadata TemplateMetadata `json:"metadata,omitempty"`

	// MergePolicy decides whether templated keys replace the values read
	// (Replace, the default) or are added to them (Merge).
	// +kubebuilder:default="Replace"
	// +optional
	MergePolicy TemplateMergePolicy `json:"mergePolicy,omitempty"`

	// Data maps Secret keys to templates.
	// +optional
	Data map[string]string `json:"data,omitempty"`

	// TemplateFrom reads templates from ConfigMaps, Secrets or literals.
	// +optional
	TemplateFrom []TemplateFrom `json:"templateFrom,omitempty"`
}

// TemplateMetadata holds labels and annotations for the Secret, whose
// values are templates too, and finalizers to add to it.
type TemplateMetadata struct {
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Finalizers are added to the Secret, unless it is being deleted.
	// They are never removed: whoever put a finalizer there removes it.
	// +optional
	Finalizers []string `json:"finalizers,omitempty"`
}

// TemplateEngineVersion names the template language.
//
// +kubebuilder:validation:Enum=v2
type TemplateEngineVersion string

// TemplateEngineV2 is Go text/template with the sprig functions.
const TemplateEngineV2 TemplateEngineVersion = "v2"

// TemplateMergePolicy decides how templated keys meet the values read.
//
// +kubebuilder:validation:Enum=Replace;Merge
type TemplateMergePolicy string

const (
	// MergePolicyReplace writes only the templated keys.
	MergePolicyReplace TemplateMergePolicy = "Replace"
	// MergePolicyMerge writes the values read plus the templated keys.
	MergePolicyMerge TemplateMergePolicy = "Merge"
)

// TemplateFrom is one source of templates.
type TemplateFrom struct {
	// ConfigMap in the ExternalSecret's namespace holding templates.
	// +optional
	ConfigMap *TemplateRef `json:"configMap,omitempty"`
	// Secret in the ExternalSecret's namespace holding templates.
	// +optional
	Secret *TemplateRef `json:"secret,omitempty"`
	// Target is the part of the Secret the output goes to: Data, Labels
	// or Annotations. Defaults to Data. With spec.target.manifest it may
	// also be a dotted field path, such as spec.database, where the
	// output, read as YAML, is merged.
	// +kubebuilder:default="Data"
	// +optional
	Target TemplateTarget `json:"target,omitempty"`
	// Literal is a template whose output is a YAML map of keys to values.
	// +optional
	Literal *string `json:"literal,omitempty"`
	// ValuesDecodingStrategy decodes the values this entry renders, as
	// decodingStrategy decodes values read. None when unset.
	// +optional
	ValuesDecodingStrategy DecodingStrategy `json:"valuesDecodingStrategy,omitempty"`
}

// TemplateRef names a ConfigMap or Secret and the keys in it to use.
type TemplateRef struct {
	// Name of the ConfigMap or Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Items are the keys to use as templates.
	Items []TemplateRefItem `json:"items"`
}

// TemplateRefItem is one key of a template ConfigMap or Secret.
type TemplateRefItem struct {
	// Key in the ConfigMap or Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
	// TemplateAs Values renders the value into the same key; KeysAndValues
	// renders a YAML map of keys to values. Defaults to Values.
	// +kubebuilder:default="Values"
	// +optional
	TemplateAs TemplateScope `json:"templateAs,omitempty"`
}

// TemplateScope says how a templateFrom item is rendered.
//
// +kubebuilder:validation:Enum=Values;KeysAndValues
type TemplateScope string

const (
	// TemplateScopeValues renders the item into the key of the same name.
	TemplateScopeValues TemplateScope = "Values"
	// TemplateScopeKeysAndValues renders the item into a map of keys to values.
	TemplateScopeKeysAndValues TemplateScope = "KeysAndValues"
)

// TemplateTarget is the part of the target a template writes: Data,
// Annotations or Labels, compared without case as the External Secrets
// Operator does, or with a manifest target a field path.
//
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`
type TemplateTarget string

// IsPath reports whether t is a field path rather than Data, Annotations
// or Labels.
func (t TemplateTarget) IsPath() bool {
	for _, k := range []TemplateTarget{"", TemplateTargetData, TemplateTargetAnnotations, TemplateTargetLabels} {
		if strings.EqualFold(string(t), string(k)) {
			return false
		}
	}
	return true
}

const (
	TemplateTargetData        TemplateTarget = "Data"
	TemplateTargetAnnotations TemplateTarget = "Annotations"
	TemplateTargetLabels      TemplateTarget = "Labels"
)

// Data maps one remote value to one key of the Secret.
type Data struct {
	// SecretKey is the key in the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	SecretKey string `json:"secretKey"`

	// RemoteRef locates the remote value.
	RemoteRef RemoteRef `json:"remoteRef"`

	// SourceRef reads this value from another store than the spec's.
	// +optional
	SourceRef *StoreSourceRef `json:"sourceRef,omitempty"`
}

// RemoteRef locates one remote value.
type RemoteRef struct {
	// Key of the secret in the store.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`

	// MetadataPolicy Fetch reads the secret's metadata (tags, labels)
	// instead of its value. Defaults to None.
	// +kubebuilder:default="None"
	// +optional
	MetadataPolicy MetadataPolicy `json:"metadataPolicy,omitempty"`

	// Property selects one field of a JSON value by a gjson path: dots
	// walk into nested objects and arrays, and "\." is a dot in a key.
	// +optional
	Property string `json:"property,omitempty"`

	// Version selects a version of the value, where the store keeps them.
	// +optional
	Version string `json:"version,omitempty"`

	// ConversionStrategy Unicode decodes \uXXXX escapes in keys found by
	// dataFrom. Defaults to Default.
	// +kubebuilder:default="Default"
	// +optional
	ConversionStrategy ConversionStrategy `json:"conversionStrategy,omitempty"`

	// DecodingStrategy decodes values stored encoded. Defaults to None.
	// +kubebuilder:default="None"
	// +optional
	DecodingStrategy DecodingStrategy `json:"decodingStrategy,omitempty"`

	// NullBytePolicy Fail fails the sync when a value read holds a NUL
	// byte; Ignore, like leaving it unset, writes it.
	// +optional
	NullBytePolicy NullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// NullBytePolicy says what to do with a value read that holds NUL bytes.
//
// +kubebuilder:validation:Enum=Ignore;Fail
type NullBytePolicy string

const (
	// NullBytePolicyIgnore writes values with NUL bytes.
	NullBytePolicyIgnore NullBytePolicy = "Ignore"
	// NullBytePolicyFail fails the sync on a value with NUL bytes.
	NullBytePolicyFail NullBytePolicy = "Fail"
)

// MetadataPolicy says whether to read a secret's value or its metadata.
//
// +kubebuilder:validation:Enum=None;Fetch
type MetadataPolicy string

const (
	MetadataPolicyNone  MetadataPolicy = "None"
	MetadataPolicyFetch MetadataPolicy = "Fetch"
)

// ConversionStrategy says how keys found by dataFrom are converted.
//
// +kubebuilder:validation:Enum=Default;Unicode
type ConversionStrategy string

const (
	// ConversionDefault replaces characters not valid in a Secret key by "_".
	ConversionDefault ConversionStrategy = "Default"
	// ConversionUnicode replaces them by their "_Uxxxx_" code point.
	ConversionUnicode ConversionStrategy = "Unicode"
)

// DecodingStrategy says how a value stored encoded is decoded.
//
// +kubebuilder:validation:Enum=Auto;Base64;Base64URL;None
type DecodingStrategy string

const (
	// DecodeAuto tries padded base64, then padded base64url, and keeps the
	// value as it is when neither decodes it.
	DecodeAuto      DecodingStrategy = "Auto"
	DecodeBase64    DecodingStrategy = "Base64"
	DecodeBase64URL DecodingStrategy = "Base64URL"
	DecodeNone      DecodingStrategy = "None"
)

// DataFrom copies many remote values at once.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.extract) && has(self.find))",message="set either extract or find, not both"
// +kubebuilder:validation:XValidation:rule="has(self.extract) || has(self.find) || (has(self.sourceRef) && has(self.sourceRef.generatorRef))",message="set extract or find"
// +kubebuilder:validation:XValidation:rule="!((has(self.extract) || has(self.find)) && has(self.sourceRef) && has(self.sourceRef.generatorRef))",message="a generatorRef cannot be used with extract or find"
type DataFrom struct {
	// Extract copies every key of one remote secret.
	// +optional
	Extract *RemoteRef `json:"extract,omitempty"`

	// Find copies every remote secret matching a name or tags.
	// +optional
	Find *Find `json:"find,omitempty"`

	// Rewrite renames the keys copied, or merges their values, in order.
	// +optional
	Rewrite []Rewrite `json:"rewrite,omitempty"`

	// SourceRef reads from another store than the spec's.
	// +optional
	SourceRef *StoreGeneratorSourceRef `json:"sourceRef,omitempty"`
}

// Find selects remote secrets by name and tags.
type Find struct {
	// Path is the root the search starts from.
	// +optional
	Path *string `json:"path,omitempty"`
	// Name matches secret names by regular expression.
	// +optional
	Name *FindName `json:"name,omitempty"`
	// Tags matches secrets carrying all of these tags.
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
	// +kubebuilder:default="Default"
	// +optional
	ConversionStrategy ConversionStrategy `json:"conversionStrategy,omitempty"`
	// +kubebuilder:default="None"
	// +optional
	DecodingStrategy DecodingStrategy `json:"decodingStrategy,omitempty"`
	// NullBytePolicy Fail fails the sync when a value found holds a NUL
	// byte; Ignore, like leaving it unset, writes it.
	// +optional
	NullBytePolicy NullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// FindName matches secret names.
type FindName struct {
	// RegExp is an RE2 regular expression.
	// +optional
	RegExp string `json:"regexp,omitempty"`
}

// Rewrite renames keys copied by dataFrom, or merges their values.
// Exactly one field is set.
//
// +kubebuilder:validation:XValidation:rule="(has(self.regexp) ? 1 : 0) + (has(self.transform) ? 1 : 0) + (has(self.merge) ? 1 : 0) == 1",message="set exactly one of regexp or transform or merge"
type Rewrite struct {
	// Regexp replaces every match of Source in a key by Target.
	// +optional
	Regexp *RewriteRegexp `json:"regexp,omitempty"`
	// Transform renders a template with the key as .value.
	// +optional
	Transform *RewriteTransform `json:"transform,omitempty"`
	// Merge reads every value as a JSON object and merges them into one.
	// +optional
	Merge *RewriteMerge `json:"merge,omitempty"`
}

// RewriteMerge merges values that are JSON objects. Values are merged in
// the order of their keys, the keys of Priority last and in its order, so
// a later value's key wins a conflict.
type RewriteMerge struct {
	// Into is the key the merged JSON object is written to, beside the
	// values merged. Required with strategy JSON; ignored otherwise.
	// +optional
	Into string `json:"into,omitempty"`
	// Priority lists keys whose values are merged last, in this order.
	// +optional
	Priority []string `json:"priority,omitempty"`
	// PriorityPolicy Strict (the default) fails when a key of Priority is
	// not among the values; IgnoreNotFound skips it.
	// +optional
	PriorityPolicy RewriteMergePriorityPolicy `json:"priorityPolicy,omitempty"`
	// ConflictPolicy Error (the default) fails when two values hold the
	// same key; Ignore lets the later one win.
	// +optional
	ConflictPolicy RewriteMergeConflictPolicy `json:"conflictPolicy,omitempty"`
	// Strategy Extract (the default) replaces the values by the keys of
	// the merged object; JSON keeps them and adds the merged object, as
	// JSON, under Into.
	// +optional
	Strategy RewriteMergeStrategy `json:"strategy,omitempty"`
}

// RewriteMergePriorityPolicy says what a key of Priority that is not
// among the values does.
//
// +kubebuilder:validation:Enum=IgnoreNotFound;Strict
type RewriteMergePriorityPolicy string

const (
	MergePriorityIgnoreNotFound RewriteMergePriorityPolicy = "IgnoreNotFound"
	MergePriorityStrict         RewriteMergePriorityPolicy = "Strict"
)

// RewriteMergeConflictPolicy says what two values with one key do.
//
// +kubebuilder:validation:Enum=Ignore;Error
type RewriteMergeConflictPolicy string

const (
	MergeConflictIgnore RewriteMergeConflictPolicy = "Ignore"
	MergeConflictError  RewriteMergeConflictPolicy = "Error"
)

// RewriteMergeStrategy says what a merge writes.
//
// +kubebuilder:validation:Enum=Extract;JSON
type RewriteMergeStrategy string

const (
	MergeStrategyExtract RewriteMergeStrategy = "Extract"
	MergeStrategyJSON    RewriteMergeStrategy = "JSON"
)

// RewriteRegexp is a regular-expression rewrite of keys.
type RewriteRegexp struct {
	// Source is an RE2 regular expression.
	Source string `json:"source"`
	// Target is the replacement; $1 and ${name} refer to groups.
	Target string `json:"target"`
}

// RewriteTransform is a template rewrite of keys.
type RewriteTransform struct {
	// Template is rendered with the key as .value.
	Template string `json:"template"`
}

// StoreSourceRef overrides the store of one data entry.
type StoreSourceRef struct {
	// SecretStoreRef names the store to read from.
	// +optional
	SecretStoreRef SecretStoreRef `json:"storeRef,omitempty"`
	// GeneratorRef takes the value from a generator instead: the key
	// remoteRef.key (or remoteRef.property) of what it generates. The
	// data entries that name one generator share one generation.
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// StoreGeneratorSourceRef overrides the store of one dataFrom entry.
//
// +kubebuilder:validation:XValidation:rule="has(self.storeRef) != has(self.generatorRef)",message="set exactly one of storeRef or generatorRef"
type StoreGeneratorSourceRef struct {
	// SecretStoreRef names the store to read from.
	// +optional
	SecretStoreRef *SecretStoreRef `json:"storeRef,omitempty"`
	// GeneratorRef takes every key a generator generates.
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// GeneratorRef names a generator resource.
type GeneratorRef struct {
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// RefreshPolicy decides when values are read again.
//
// +kubebuilder:validation:Enum=CreatedOnce;Periodic;OnChange
type RefreshPolicy string

const (
	RefreshPolicyCreatedOnce RefreshPolicy = "CreatedOnce"
	RefreshPolicyPeriodic    RefreshPolicy = "Periodic"
	RefreshPolicyOnChange    RefreshPolicy = "OnChange"
)

// ExternalSecretStatus is the observed state of an ExternalSecret.
type ExternalSecretStatus struct {
	// RefreshTime is when the Secret was last written from fresh values.
	// +nullable
	// +optional
	RefreshTime metav1.Time `json:"refreshTime,omitempty"`

	// SyncedResourceVersion is the generation and metadata hash of the
	// ExternalSecret that was last synced.
	// +optional
	SyncedResourceVersion string `json:"syncedResourceVersion,omitempty"`

	// Conditions hold the Ready condition.
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`

	// Binding names the Secret written.
	// +optional
	Binding corev1.LocalObjectReference `json:"binding,omitempty"`
}

// Condition is a condition of an ExternalSecret or a store.
type Condition struct {
	Type   ConditionType          `json:"type"`
	Status corev1.ConditionStatus `json:"status"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// ConditionType is the type of a Condition.
type ConditionType string

const (
	// ConditionReady is True when the Secret holds the current values.
	ConditionReady ConditionType = "Ready"
	// ConditionDeleted is True when the Secret was deleted by deletionPolicy.
	ConditionDeleted ConditionType = "Deleted"
)

// Reasons of the Ready condition.
const (
	ReasonSecretSynced      = "SecretSynced"
	ReasonSecretSyncedError = "SecretSyncedError"
	ReasonSecretDeleted     = "SecretDeleted"
	ReasonSecretMissing     = "SecretMissing"
)
