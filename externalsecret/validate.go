package externalsecret

import (
	"regexp"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The patterns of the CRD's schema, from the markers in types.go.
var (
	dnsSubdomainPattern   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	secretKeyPattern      = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	templateTargetPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	schedulePattern       = regexp.MustCompile(`^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$`)
)

// Validate checks es as the apiserver does with this package's CRD, and
// as the External Secrets Operator's admission webhook does: the schema's
// enums, lengths and patterns, its CEL rules, unique secretKeys, and the
// object's metadata. It also checks one rule the CRD cannot hold, as CEL
// over every templateFrom entry costs more than the apiserver allows: a
// templateFrom target that is a field path needs target.manifest. A host that builds ExternalSecrets in memory calls it
// to refuse what `kubectl apply` would refuse. Empty enum fields count as
// unset, as the CRD's defaults make them.
//
// Validate cannot see a required field that was left out of a manifest
// but decodes to its zero value, such as a rewrite's target: only the
// manifest itself shows that.
//
// The error, when not nil, is an aggregate of every problem, each naming
// its field. It quotes names and keys, never a secret value: an
// ExternalSecret holds none.
func Validate(es *ExternalSecret) error {
	errs := apivalidation.ValidateObjectMeta(&es.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateSpec(&es.Spec, field.NewPath("spec"))...)
	return errs.ToAggregate()
}

func validateSpec(spec *ExternalSecretSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Data) == 0 && len(spec.DataFrom) == 0 {
		errs = append(errs, field.Required(p, "either data or dataFrom must be set"))
	}
	errs = append(errs, validateStoreRef(spec.SecretStoreRef, p.Child("secretStoreRef"))...)
	errs = append(errs, validateTarget(&spec.Target, p.Child("target"))...)
	errs = append(errs, enum(p.Child("refreshPolicy"), string(spec.RefreshPolicy), RefreshPolicyCreatedOnce, RefreshPolicyPeriodic, RefreshPolicyOnChange)...)
	if spec.RefreshInterval != nil && spec.RefreshInterval.Duration < 0 {
		errs = append(errs, field.Invalid(p.Child("refreshInterval"), spec.RefreshInterval.Duration.String(), "refreshInterval must be a Go duration of zero or more, such as 1h or 10m30s"))
	}
	if sw := spec.SyncWindows; sw != nil {
		sp := p.Child("syncWindows")
		if sw.Kind == "" {
			errs = append(errs, field.Required(sp.Child("kind"), ""))
		}
		errs = append(errs, enum(sp.Child("kind"), string(sw.Kind), SyncWindowAllow, SyncWindowDeny)...)
		if sw.Windows == nil {
			errs = append(errs, field.Required(sp.Child("windows"), ""))
		}
		for i, w := range sw.Windows {
			wp := sp.Child("windows").Index(i).Child("schedule")
			if w.Schedule == "" {
				errs = append(errs, field.Required(wp, ""))
			} else if !schedulePattern.MatchString(w.Schedule) {
				errs = append(errs, field.Invalid(wp, w.Schedule, "must be a 5-field cron expression or a shorthand such as @daily or @every 1h"))
			}
		}
	}
	seen := map[string]bool{}
	for i := range spec.Data {
		d := &spec.Data[i]
		dp := p.Child("data").Index(i)
		errs = append(errs, validateSecretKey(d.SecretKey, dp.Child("secretKey"))...)
		if seen[d.SecretKey] {
			errs = append(errs, field.Duplicate(dp.Child("secretKey"), d.SecretKey))
		}
		seen[d.SecretKey] = true
		errs = append(errs, validateRemoteRef(&d.RemoteRef, dp.Child("remoteRef"))...)
		if d.SourceRef != nil {
			sp := dp.Child("sourceRef")
			errs = append(errs, validateStoreRef(d.SourceRef.SecretStoreRef, sp.Child("storeRef"))...)
		}
	}
	for i := range spec.DataFrom {
		errs = append(errs, validateDataFrom(&spec.DataFrom[i], p.Child("dataFrom").Index(i))...)
	}
	return errs
}

func validateStoreRef(ref SecretStoreRef, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Name != "" {
		errs = append(errs, validateName(ref.Name, p.Child("name"))...)
	}
	return append(errs, enum(p.Child("kind"), ref.Kind, KindSecretStore, KindClusterSecretStore)...)
}

func validateTarget(t *Target, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Name != "" {
		errs = append(errs, validateName(t.Name, p.Child("name"))...)
	}
	errs = append(errs, enum(p.Child("creationPolicy"), string(t.CreationPolicy), CreatePolicyOwner, CreatePolicyOrphan, CreatePolicyMerge, CreatePolicyNone, CreatePolicyCreateOrMerge)...)
	errs = append(errs, enum(p.Child("deletionPolicy"), string(t.DeletionPolicy), DeletionPolicyDelete, DeletionPolicyMerge, DeletionPolicyRetain)...)
	creation, deletion := t.CreationPolicy, t.DeletionPolicy
	if creation == "" {
		creation = CreatePolicyOwner
	}
	if deletion == DeletionPolicyDelete && creation != CreatePolicyOwner {
		errs = append(errs, field.Invalid(p.Child("deletionPolicy"), string(deletion), "deletionPolicy Delete needs creationPolicy Owner: only a Secret the ExternalSecret owns may be deleted"))
	}
	if deletion == DeletionPolicyMerge && creation == CreatePolicyNone {
		errs = append(errs, field.Invalid(p.Child("deletionPolicy"), string(deletion), "deletionPolicy Merge cannot be used with creationPolicy None"))
	}
	if t.Template != nil {
		errs = append(errs, validateTemplate(t.Template, p.Child("template"))...)
	}
	if m := t.Manifest; m != nil {
		if m.APIVersion == "" {
			errs = append(errs, field.Required(p.Child("manifest", "apiVersion"), ""))
		}
		if m.Kind == "" {
			errs = append(errs, field.Required(p.Child("manifest", "kind"), ""))
		}
	} else if t.Template != nil {
		for i, from := range t.Template.TemplateFrom {
			if from.Target.IsPath() {
				errs = append(errs, field.Invalid(p.Child("template", "templateFrom").Index(i).Child("target"), string(from.Target), "a templateFrom target that is a field path needs target.manifest; a Secret takes Data, Annotations or Labels"))
			}
		}
	}
	return errs
}

func validateTemplate(t *Template, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	// A template must not make a token Secret the token controller would
	// fill in: it would mint a long-lived token beyond the RBAC of the
	// ExternalSecret's author.
	switch t.Type {
	case corev1.SecretTypeBootstrapToken:
		errs = append(errs, field.Forbidden(p.Child("type"), "template type bootstrap.kubernetes.io/token is not allowed"))
	case corev1.SecretTypeServiceAccountToken:
		if _, ok := t.Metadata.Annotations[corev1.ServiceAccountNameKey]; ok {
			errs = append(errs, field.Forbidden(p.Child("metadata", "annotations"), "template type kubernetes.io/service-account-token with annotation kubernetes.io/service-account.name is not allowed"))
		}
		for i, from := range t.TemplateFrom {
			if from.Target == TemplateTargetAnnotations {
				errs = append(errs, field.Forbidden(p.Child("templateFrom").Index(i).Child("target"), "template type kubernetes.io/service-account-token with templateFrom target Annotations is not allowed"))
			}
		}
	}
	errs = append(errs, enum(p.Child("engineVersion"), string(t.EngineVersion), TemplateEngineV2)...)
	errs = append(errs, enum(p.Child("mergePolicy"), string(t.MergePolicy), MergePolicyReplace, MergePolicyMerge)...)
	for i, from := range t.TemplateFrom {
		fp := p.Child("templateFrom").Index(i)
		errs = append(errs, length(fp.Child("target"), string(from.Target), 0, 253)...)
		if from.Target != "" && !templateTargetPattern.MatchString(string(from.Target)) {
			errs = append(errs, field.Invalid(fp.Child("target"), string(from.Target), "must be Data, Annotations, Labels or a dotted field path such as spec.database"))
		}
		errs = append(errs, enum(fp.Child("valuesDecodingStrategy"), string(from.ValuesDecodingStrategy), DecodeAuto, DecodeBase64, DecodeBase64URL, DecodeNone)...)
		for _, ref := range []struct {
			name string
			ref  *TemplateRef
		}{{"configMap", from.ConfigMap}, {"secret", from.Secret}} {
			if ref.ref == nil {
				continue
			}
			rp := fp.Child(ref.name)
			errs = append(errs, length(rp.Child("name"), ref.ref.Name, 1, 253)...)
			if ref.ref.Items == nil {
				errs = append(errs, field.Required(rp.Child("items"), ""))
			}
			for j, it := range ref.ref.Items {
				ip := rp.Child("items").Index(j)
				errs = append(errs, validateSecretKey(it.Key, ip.Child("key"))...)
				errs = append(errs, enum(ip.Child("templateAs"), string(it.TemplateAs), TemplateScopeValues, TemplateScopeKeysAndValues)...)
			}
		}
	}
	return errs
}

func validateRemoteRef(r *RemoteRef, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	}
	errs = append(errs, enum(p.Child("metadataPolicy"), string(r.MetadataPolicy), MetadataPolicyNone, MetadataPolicyFetch)...)
	errs = append(errs, enum(p.Child("conversionStrategy"), string(r.ConversionStrategy), ConversionDefault, ConversionUnicode)...)
	errs = append(errs, enum(p.Child("decodingStrategy"), string(r.DecodingStrategy), DecodeAuto, DecodeBase64, DecodeBase64URL, DecodeNone)...)
	errs = append(errs, enum(p.Child("nullBytePolicy"), string(r.NullBytePolicy), NullBytePolicyIgnore, NullBytePolicyFail)...)
	return errs
}

func validateDataFrom(df *DataFrom, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	generator := df.SourceRef != nil && df.SourceRef.GeneratorRef != nil
	switch {
	case df.Extract != nil && df.Find != nil:
		errs = append(errs, field.Invalid(p, "", "set either extract or find, not both"))
	case df.Extract == nil && df.Find == nil && !generator:
		errs = append(errs, field.Required(p, "set extract or find"))
	case (df.Extract != nil || df.Find != nil) && generator:
		errs = append(errs, field.Invalid(p.Child("sourceRef", "generatorRef"), "", "a generatorRef cannot be used with extract or find"))
	}
	if df.Extract != nil {
		errs = append(errs, validateRemoteRef(df.Extract, p.Child("extract"))...)
	}
	if f := df.Find; f != nil {
		fp := p.Child("find")
		errs = append(errs, enum(fp.Child("conversionStrategy"), string(f.ConversionStrategy), ConversionDefault, ConversionUnicode)...)
		errs = append(errs, enum(fp.Child("decodingStrategy"), string(f.DecodingStrategy), DecodeAuto, DecodeBase64, DecodeBase64URL, DecodeNone)...)
		errs = append(errs, enum(fp.Child("nullBytePolicy"), string(f.NullBytePolicy), NullBytePolicyIgnore, NullBytePolicyFail)...)
	}
	for i, rw := range df.Rewrite {
		rp := p.Child("rewrite").Index(i)
		set := 0
		for _, isSet := range []bool{rw.Regexp != nil, rw.Transform != nil, rw.Merge != nil} {
			if isSet {
				set++
			}
		}
		if set != 1 {
			errs = append(errs, field.Invalid(rp, "", "set exactly one of regexp or transform or merge"))
		}
		if m := rw.Merge; m != nil {
			mp := rp.Child("merge")
			errs = append(errs, enum(mp.Child("priorityPolicy"), string(m.PriorityPolicy), MergePriorityIgnoreNotFound, MergePriorityStrict)...)
			errs = append(errs, enum(mp.Child("conflictPolicy"), string(m.ConflictPolicy), MergeConflictIgnore, MergeConflictError)...)
			errs = append(errs, enum(mp.Child("strategy"), string(m.Strategy), MergeStrategyExtract, MergeStrategyJSON)...)
		}
	}
	if src := df.SourceRef; src != nil {
		sp := p.Child("sourceRef")
		if (src.SecretStoreRef == nil) == (src.GeneratorRef == nil) {
			errs = append(errs, field.Invalid(sp, "", "set exactly one of storeRef or generatorRef"))
		}
		if src.SecretStoreRef != nil {
			errs = append(errs, validateStoreRef(*src.SecretStoreRef, sp.Child("storeRef"))...)
		}
	}
	return errs
}

func validateName(name string, p *field.Path) field.ErrorList {
	errs := length(p, name, 0, 253)
	if !dnsSubdomainPattern.MatchString(name) {
		errs = append(errs, field.Invalid(p, name, "must be a lowercase RFC 1123 subdomain"))
	}
	return errs
}

func validateSecretKey(k string, p *field.Path) field.ErrorList {
	errs := length(p, k, 1, 253)
	if k != "" && !secretKeyPattern.MatchString(k) {
		errs = append(errs, field.Invalid(p, k, "must consist of alphanumeric characters, '-', '_' or '.'"))
	}
	return errs
}

// length checks the length of s in characters, as OpenAPI counts it.
func length(p *field.Path, s string, min, max int) field.ErrorList {
	switch n := utf8.RuneCountInString(s); {
	case n == 0 && min > 0:
		return field.ErrorList{field.Required(p, "")}
	case n < min:
		return field.ErrorList{field.Invalid(p, s, "too short")}
	case n > max:
		return field.ErrorList{field.TooLong(p, "", max)}
	}
	return nil
}

// enum checks that v, when set, is one of allowed.
func enum[T ~string](p *field.Path, v string, allowed ...T) field.ErrorList {
	if v == "" {
		return nil
	}
	values := make([]string, len(allowed))
	for i, a := range allowed {
		if string(a) == v {
			return nil
		}
		values[i] = string(a)
	}
	return field.ErrorList{field.NotSupported(p, v, values)}
}
