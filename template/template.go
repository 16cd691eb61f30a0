package template

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	texttemplate "text/template"

	corev1 "k8s.io/api/core/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/externalsecret"
)

// MaxSize is the most bytes a template may render for one key, and for all
// keys of one [Render] together. It is also the most one template function
// call may take in and give back. Kubernetes refuses a Secret larger than
// this, so nothing larger could be written anyway.
const MaxSize = 1 << 20

var (
	// ErrTooLarge is wrapped by errors from output, or from a function's
	// arguments or result, over [MaxSize].
	ErrTooLarge = errors.New("larger than 1 MiB")
	// ErrTooCostly is wrapped by errors from templates that do more work
	// than [Render] allows: about a second's worth of function calls and
	// range iterations.
	ErrTooCostly = errors.New("template does too much work")
	// ErrSourceNotFound is wrapped by errors from a templateFrom ConfigMap
	// or Secret, or a key of one, that is not in the [Input].
	ErrSourceNotFound = errors.New("template source not found")
)

// Input is everything a render needs.
type Input struct {
	// Template is the ExternalSecret's spec.target.template. When nil,
	// Data passes through unchanged.
	Template *externalsecret.Template
	// Data holds the values read from the stores, after dataFrom rewrites.
	Data map[string][]byte
	// ConfigMaps and Secrets are the sources templateFrom may name, by
	// name, from the ExternalSecret's namespace.
	ConfigMaps map[string]map[string]string
	Secrets    map[string]map[string][]byte
	// Manifest allows templateFrom targets that are field paths: the
	// target is a resource named by spec.target.manifest, not a Secret.
	Manifest bool
}

// Output is the rendered Secret content. Its maps are never nil and share
// no memory with the [Input].
type Output struct {
	Data        map[string][]byte
	Labels      map[string]string
	Annotations map[string]string
	// Type is the template's type, or "" when the template sets none.
	Type corev1.SecretType
	// Fields are the outputs of templateFrom entries whose target is a
	// field path, in the order rendered, for a manifest target.
	Fields []Field
}

// Field is a value for a field path of a manifest target.
type Field struct {
	// Path is the dotted path, such as spec.database.
	Path string
	// Value is the rendered output read as YAML: a map, a list or a
	// scalar. A map is merged into a map already at Path; anything else
	// replaces what is there.
	Value any
}

// Render renders in.Template over in.Data as the External Secrets
// Operator's engine v2 does:
//
//   - No template: Data is a copy of in.Data.
//   - Templates are applied in order: templateFrom entries (each one's
//     ConfigMap items, then Secret items, then literal), then
//     template.data, then metadata labels, then metadata annotations; a
//     later template of the same key wins.
//   - mergePolicy Replace (the default) writes only templated keys; Merge
//     starts from in.Data, so a templated key wins over a value read.
//   - A template with neither data nor templateFrom passes in.Data
//     through, whatever its mergePolicy. One with templateFrom, even
//     templateFrom that targets only labels, does not.
//   - A templateFrom entry's valuesDecodingStrategy decodes the values it
//     renders, as decodingStrategy decodes values read; template.data is
//     never decoded.
func Render(in Input) (Output, error) {
	out := Output{
		Data:        map[string][]byte{},
		Labels:      map[string]string{},
		Annotations: map[string]string{},
	}
	tpl := in.Template
	if tpl == nil {
		copyData(out.Data, in.Data)
		return out, nil
	}
	if v := tpl.EngineVersion; v != "" && v != externalsecret.TemplateEngineV2 {
		return Output{}, fmt.Errorf("template engineVersion %q is not supported, only %q", v, externalsecret.TemplateEngineV2)
	}
	switch tpl.MergePolicy {
	case "", externalsecret.MergePolicyReplace:
	case externalsecret.MergePolicyMerge:
		copyData(out.Data, in.Data)
	default:
		return Output{}, fmt.Errorf("template mergePolicy %q is not supported", tpl.MergePolicy)
	}
	out.Type = tpl.Type

	r := newRenderer(in)
	for i, from := range tpl.TemplateFrom {
		if err := r.templateFrom(i, from, &out); err != nil {
			return Output{}, err
		}
	}
	steps := []struct {
		what string
		tpls map[string]string
		set  func(k string, v []byte)
	}{
		{"template key", tpl.Data, func(k string, v []byte) { out.Data[k] = v }},
		{"template label", tpl.Metadata.Labels, func(k string, v []byte) { out.Labels[k] = string(v) }},
		{"template annotation", tpl.Metadata.Annotations, func(k string, v []byte) { out.Annotations[k] = string(v) }},
	}
	for _, s := range steps {
		for _, k := range sortedKeys(s.tpls) {
			v, err := r.execute(fmt.Sprintf("%s %q", s.what, k), k, s.tpls[k])
			if err != nil {
				return Output{}, err
			}
			s.set(k, v)
		}
	}
	if len(tpl.Data) == 0 && len(tpl.TemplateFrom) == 0 {
		out.Data = map[string][]byte{}
		copyData(out.Data, in.Data)
	}
	return out, nil
}

// Execute renders one template against data with the functions of
// [Funcs] and the same bounds and redaction as [Render]: every string in
// data is treated as secret. It is meant for small templates such as
// dataFrom rewrite transforms, which see the key as .value. Templates
// cannot change data: set, unset and merge fail on maps in it, and
// sortAlpha sorts a copy.
func Execute(name, tpl string, data any) ([]byte, error) {
	r := &renderer{data: data, left: MaxSize}
	r.init(data)
	r.secrets = func() []string { return stringLeaves(reflect.ValueOf(data), nil) }
	return r.execute(fmt.Sprintf("template %q", name), name, tpl)
}

// renderer runs the templates of one Render.
type renderer struct {
	in    Input
	data  any
	funcs texttemplate.FuncMap
	calls calls
	// left is what the output of all templates together may still grow by.
	left int
	// secrets lists the values to redact from errors; it is only called
	// when there is an error to redact.
	secrets func() []string
	// secretSource is set while templates read from a Secret run: their
	// text is secret too.
	secretSource bool
	// public is the text of the template being run when it is not secret.
	public string
}

func newRenderer(in Input) *renderer {
	data := make(map[string]string, len(in.Data))
	for k, v := range in.Data {
		data[k] = string(v)
	}
	r := &renderer{in: in, data: data, left: MaxSize}
	r.init(data)
	r.secrets = func() []string {
		var s []string
		for _, v := range in.Data {
			s = append(s, string(v))
		}
		for _, sec := range in.Secrets {
			for _, v := range sec {
				s = append(s, string(v))
			}
		}
		return s
	}
	return r
}

func (r *renderer) init(data any) {
	r.funcs = r.calls.funcMap()
	r.funcs[rangeGuard] = r.calls.guardRange
	r.calls.protect(data)
	r.calls.budget = workBudget
}

// execute renders src, named name in text/template's messages; what says
// which template it is in an error.
func (r *renderer) execute(what, name, src string) ([]byte, error) {
	r.public = src
	if r.secretSource {
		r.public = ""
	}
	r.calls.start(r.public)
	t, err := texttemplate.New(name).Option("missingkey=error").Funcs(r.funcs).Parse(src)
	if err != nil {
		return nil, r.fail(what, err)
	}
	for _, t := range t.Templates() {
		if t.Tree != nil {
			guardRanges(t.Tree, t.Tree.Root)
		}
	}
	limit := min(MaxSize, r.left)
	w := &limitWriter{max: limit}
	if err := t.Execute(w, r.data); err != nil {
		if errors.Is(err, errWriteLimit) {
			if limit < MaxSize {
				err = fmt.Errorf("rendered output of all templates together is %w", ErrTooLarge)
			} else {
				err = fmt.Errorf("rendered value is %w", ErrTooLarge)
			}
		}
		return nil, r.fail(what, err)
	}
	r.left -= w.buf.Len()
	if w.buf.Len() == 0 {
		return []byte{}, nil
	}
	return w.buf.Bytes(), nil
}

// fail builds the error for the template what, with every secret taken
// out of err's message.
func (r *renderer) fail(what string, err error, extra ...string) error {
	secrets := append(r.secrets(), r.calls.recent...)
	secrets = append(secrets, extra...)
	msg := what + ": " + truncate(redact(err.Error(), secrets, r.public))
	var kind error
	switch {
	case errors.Is(err, ErrTooLarge):
		kind = ErrTooLarge
	case errors.Is(err, ErrTooCostly):
		kind = ErrTooCostly
	case errors.Is(err, ErrSourceNotFound):
		kind = ErrSourceNotFound
	}
	return &renderError{msg: msg, kind: kind}
}

func (r *renderer) templateFrom(i int, from externalsecret.TemplateFrom, out *Output) error {
	if from.Target.IsPath() {
		return r.templateFromPath(i, from, out)
	}
	set, err := targetSetter(from.Target, out)
	if err != nil {
		return fmt.Errorf("templateFrom[%d]: %w", i, err)
	}
	if dec := from.ValuesDecodingStrategy; dec != "" && dec != externalsecret.DecodeNone {
		store := set
		set = func(k, v string) error {
			dv, err := dec.Decode([]byte(v))
			if err != nil {
				return fmt.Errorf("templateFrom[%d]: rendered value of key %q: valuesDecodingStrategy %s: %w", i, k, dec, err)
			}
			return store(k, string(dv))
		}
	}
	if ref := from.ConfigMap; ref != nil {
		cm, ok := r.in.ConfigMaps[ref.Name]
		if !ok {
			return fmt.Errorf("templateFrom[%d]: configMap %q: %w", i, ref.Name, ErrSourceNotFound)
		}
		for _, item := range ref.Items {
			src, ok := cm[item.Key]
			if !ok {
				return fmt.Errorf("templateFrom[%d]: configMap %q has no key %q: %w", i, ref.Name, item.Key, ErrSourceNotFound)
			}
			if err := r.item(fmt.Sprintf("templateFrom[%d]: configMap %q", i, ref.Name), item, src, set); err != nil {
				return err
			}
		}
	}
	if ref := from.Secret; ref != nil {
		sec, ok := r.in.Secrets[ref.Name]
		if !ok {
			return fmt.Errorf("templateFrom[%d]: secret %q: %w", i, ref.Name, ErrSourceNotFound)
		}
		for _, item := range ref.Items {
			src, ok := sec[item.Key]
			if !ok {
				return fmt.Errorf("templateFrom[%d]: secret %q has no key %q: %w", i, ref.Name, item.Key, ErrSourceNotFound)
			}
			r.secretSource = true
			err := r.item(fmt.Sprintf("templateFrom[%d]: secret %q", i, ref.Name), item, string(src), set)
			r.secretSource = false
			if err != nil {
				return err
			}
		}
	}
	if from.Literal != nil {
		return r.keysAndValues(fmt.Sprintf("templateFrom[%d]: literal", i), "literal", *from.Literal, set)
	}
	return nil
}

// item renders one templateFrom item: with templateAs Values its output is
// the value of the item's key; with KeysAndValues it is a YAML map of keys
// to values.
func (r *renderer) item(what string, item externalsecret.TemplateRefItem, src string, set func(k, v string) error) error {
	switch item.TemplateAs {
	case "", externalsecret.TemplateScopeValues:
		v, err := r.execute(fmt.Sprintf("%s: template key %q", what, item.Key), item.Key, src)
		if err != nil {
			return err
		}
		return set(item.Key, string(v))
	case externalsecret.TemplateScopeKeysAndValues:
		return r.keysAndValues(fmt.Sprintf("%s: item %q", what, item.Key), item.Key, src, set)
	default:
		return fmt.Errorf("%s: item %q: templateAs %q is not supported", what, item.Key, item.TemplateAs)
	}
}

func (r *renderer) keysAndValues(what, name, src string, set func(k, v string) error) error {
	v, err := r.execute(what, name, src)
	if err != nil {
		return err
	}
	m := map[string]string{}
	if err := yaml.Unmarshal(v, &m); err != nil {
		return r.fail(what, fmt.Errorf("output is not a YAML map of strings: %w", err), string(v))
	}
	for _, k := range sortedKeys(m) {
		if err := set(k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// templateFromPath renders a templateFrom entry whose target is a field
// path of a manifest target. A literal or a KeysAndValues item is read as
// YAML and merged at the path; a Values item goes under the path, at its
// key.
func (r *renderer) templateFromPath(i int, from externalsecret.TemplateFrom, out *Output) error {
	path := string(from.Target)
	switch {
	case !r.in.Manifest:
		return fmt.Errorf("templateFrom[%d]: target %q is a field path; it needs spec.target.manifest, as a Secret takes only Data, Labels or Annotations", i, path)
	case from.ValuesDecodingStrategy != "" && from.ValuesDecodingStrategy != externalsecret.DecodeNone:
		return fmt.Errorf("templateFrom[%d]: valuesDecodingStrategy applies to the Data, Labels and Annotations targets, not to the field path %q", i, path)
	}
	add := func(what, name, src string, keyed bool) error {
		v, err := r.execute(what, name, src)
		if err != nil {
			return err
		}
		parsed, err := parseYAML(v)
		if err != nil {
			if !keyed {
				return r.fail(what, fmt.Errorf("output for target %q is not YAML: %w", path, err), string(v))
			}
			parsed = string(v)
		}
		p := path
		if keyed {
			p += "." + name
		}
		out.Fields = append(out.Fields, Field{Path: p, Value: parsed})
		return nil
	}
	refs := []struct {
		kind   string
		ref    *externalsecret.TemplateRef
		source func(key string) (string, bool)
	}{
		{"configMap", from.ConfigMap, func(k string) (string, bool) {
			v, ok := r.in.ConfigMaps[from.ConfigMap.Name][k]
			return v, ok
		}},
		{"secret", from.Secret, func(k string) (string, bool) {
			v, ok := r.in.Secrets[from.Secret.Name][k]
			return string(v), ok
		}},
	}
	for _, ref := range refs {
		if ref.ref == nil {
			continue
		}
		if !r.hasSource(ref.kind, ref.ref.Name) {
			return fmt.Errorf("templateFrom[%d]: %s %q: %w", i, ref.kind, ref.ref.Name, ErrSourceNotFound)
		}
		r.secretSource = ref.kind == "secret"
		for _, item := range ref.ref.Items {
			src, ok := ref.source(item.Key)
			if !ok {
				r.secretSource = false
				return fmt.Errorf("templateFrom[%d]: %s %q has no key %q: %w", i, ref.kind, ref.ref.Name, item.Key, ErrSourceNotFound)
			}
			what := fmt.Sprintf("templateFrom[%d]: %s %q: item %q", i, ref.kind, ref.ref.Name, item.Key)
			var err error
			switch item.TemplateAs {
			case "", externalsecret.TemplateScopeValues:
				err = add(what, item.Key, src, true)
			case externalsecret.TemplateScopeKeysAndValues:
				err = add(what, item.Key, src, false)
			default:
				err = fmt.Errorf("%s: templateAs %q is not supported", what, item.TemplateAs)
			}
			if err != nil {
				r.secretSource = false
				return err
			}
		}
		r.secretSource = false
	}
	if from.Literal != nil {
		return add(fmt.Sprintf("templateFrom[%d]: literal", i), "literal", *from.Literal, false)
	}
	return nil
}

func (r *renderer) hasSource(kind, name string) bool {
	if kind == "secret" {
		_, ok := r.in.Secrets[name]
		return ok
	}
	_, ok := r.in.ConfigMaps[name]
	return ok
}

// parseYAML reads YAML as a Kubernetes object's fields are read: integers
// as int64 and other numbers as float64, so a value compares equal to the
// same value read back from the apiserver.
func parseYAML(b []byte) (any, error) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, err
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// targetSetter returns what stores a templateFrom output in out. The
// operator compares targets without case, and so does this.
func targetSetter(target externalsecret.TemplateTarget, out *Output) (func(k, v string) error, error) {
	switch {
	case target == "" || strings.EqualFold(string(target), string(externalsecret.TemplateTargetData)):
		return func(k, v string) error { out.Data[k] = []byte(v); return nil }, nil
	case strings.EqualFold(string(target), string(externalsecret.TemplateTargetLabels)):
		return func(k, v string) error { out.Labels[k] = v; return nil }, nil
	case strings.EqualFold(string(target), string(externalsecret.TemplateTargetAnnotations)):
		return func(k, v string) error { out.Annotations[k] = v; return nil }, nil
	}
	return nil, fmt.Errorf("target %q is not supported: use Data, Labels or Annotations", target)
}

// renderError carries a message with every secret taken out. It unwraps
// only to a sentinel, never to the original error, whose text may hold
// secrets.
type renderError struct {
	msg  string
	kind error
}

func (e *renderError) Error() string { return e.msg }
func (e *renderError) Unwrap() error { return e.kind }

var errWriteLimit = errors.New("write limit reached")

// limitWriter fails a write that would take it over max bytes, so a
// template stops as soon as its output is too large.
type limitWriter struct {
	buf bytes.Buffer
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.max-w.buf.Len() {
		return 0, errWriteLimit
	}
	return w.buf.Write(p)
}

func copyData(dst, src map[string][]byte) {
	for k, v := range src {
		dst[k] = bytes.Clone(v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
