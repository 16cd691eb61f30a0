package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
	"github.com/secretsync/secretsync/template"
)

// New returns the generator of the Webhook kind; see the package
// documentation for what it sends and how it reads the response. Its
// values do not expire as far as it knows: the Result has no TTL and no
// State.
func New(opts ...Option) generator.Generator {
	return &webhookGenerator{opts: newOptions(opts)}
}

type webhookGenerator struct{ opts options }

func (*webhookGenerator) Kind() string { return generators.KindWebhook }

func (g *webhookGenerator) Generate(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string) (generator.Result, error) {
	wh, ok := obj.(*generators.Webhook)
	if !ok || wh == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.Webhook, not %T", generators.KindWebhook, obj)
	}
	values, err := g.generate(ctx, &wh.Spec, creds, namespace, wh.Name)
	if err != nil {
		return generator.Result{}, fmt.Errorf("%s: %w", describe(generators.KindWebhook, wh.Namespace, wh.Name), err)
	}
	return generator.Result{Values: values}, nil
}

func (g *webhookGenerator) generate(ctx context.Context, spec *generators.WebhookSpec, creds provider.Credentials, namespace, name string) (map[string][]byte, error) {
	if spec.URL == "" {
		return nil, errors.New("spec.url is required")
	}
	timeout := DefaultTimeout
	if spec.Timeout != nil {
		switch d := spec.Timeout.Duration; {
		case d < 0:
			return nil, fmt.Errorf("spec.timeout %s is negative", d)
		case d > 0:
			timeout = d
		}
	}
	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	if (len(spec.Secrets) > 0 || spec.CAProvider != nil) && namespace == "" {
		return nil, errors.New("no namespace to read spec.secrets and spec.caProvider in")
	}
	store := scope(namespace, name)
	raw, escaped, err := templateData(ctx, creds, store, spec.Secrets)
	if err != nil {
		return nil, err
	}

	rawURL, err := template.Execute("spec.url", spec.URL, escaped)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(string(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The parse error would quote the URL.
		return nil, errors.New("spec.url does not render to an http or https URL with a host")
	}
	body, err := template.Execute("spec.body", spec.Body, raw)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	names := make([]string, 0, len(spec.Headers))
	for k := range spec.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := template.Execute(fmt.Sprintf("spec.headers[%s]", k), spec.Headers[k], raw)
		if err != nil {
			return nil, err
		}
		header.Add(k, string(v))
	}

	roots, err := caPool(ctx, store, creds, spec.CABundle, spec.CAProvider)
	if err != nil {
		return nil, err
	}
	client, done, err := newClient(g.opts.client, roots)
	if err != nil {
		return nil, err
	}
	defer done()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var reqBody io.Reader = http.NoBody
	if len(body) > 0 {
		reqBody = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reqBody)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, errors.New("spec.url does not render to a valid URL")
		}
		return nil, fmt.Errorf("spec.method: %w", err)
	}
	for k, vs := range header {
		if k == "Host" {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	resp, err := call(client, req)
	if err != nil {
		return nil, err
	}
	return responseValues(resp, spec.Result.JSONPath)
}

// templateData reads spec.secrets into the data of the templates: raw
// for the body and headers, and escaped, with query-escaped values, for
// the URL.
func templateData(ctx context.Context, creds provider.Credentials, store secretstore.GenericStore, secrets []generators.WebhookSecret) (raw, escaped map[string]map[string]string, err error) {
	raw, escaped = map[string]map[string]string{}, map[string]map[string]string{}
	for i, s := range secrets {
		field := fmt.Sprintf("spec.secrets[%d]", i)
		if s.Name == "" {
			return nil, nil, fmt.Errorf("%s: name is required", field)
		}
		field += " (" + s.Name + ")"
		if s.SecretRef.Name == "" || s.SecretRef.Key == "" {
			return nil, nil, fmt.Errorf("%s: secretRef needs name and key: the key read is .%s.<key> in templates", field, s.Name)
		}
		if err := checkWebhookLabel(ctx, creds, store, s.SecretRef); err != nil {
			return nil, nil, fmt.Errorf("%s.secretRef: %w", field, err)
		}
		v, err := provider.SecretKey(ctx, creds, store, s.SecretRef)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.secretRef: %w", field, err)
		}
		if raw[s.Name] == nil {
			raw[s.Name], escaped[s.Name] = map[string]string{}, map[string]string{}
		}
		raw[s.Name][s.SecretRef.Key] = string(v)
		escaped[s.Name][s.SecretRef.Key] = url.QueryEscape(string(v))
	}
	return raw, escaped, nil
}

// responseValues reads the values from a JSON response; see the package
// documentation. Its errors name JSON types and keys, never a value.
func responseValues(body []byte, path string) (map[string][]byte, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("the response is not JSON")
	}
	where := "the response"
	if path != "" {
		if doc, err = selectPath(doc, path); err != nil {
			return nil, err
		}
		where = "the value at result.jsonPath " + strconv.Quote(path)
	}
	// As the operator does, a string is read as the JSON it holds.
	if s, ok := doc.(string); ok {
		if doc, err = decodeJSON([]byte(s)); err != nil {
			return nil, fmt.Errorf("%s is a string that does not hold JSON", where)
		}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is a JSON %s, not an object", where, jsonType(doc))
	}
	values := make(map[string][]byte, len(obj))
	for k, v := range obj {
		if values[k], err = valueBytes(v); err != nil {
			return nil, fmt.Errorf("key %q of %s: %w", k, where, err)
		}
	}
	return values, nil
}

// decodeJSON decodes one JSON document, keeping numbers as they are
// written.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON document")
	}
	return doc, nil
}

// valueBytes returns the value of one entry: a string as it is, null as
// empty, anything else as its JSON text.
func valueBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case nil:
		return []byte{}, nil
	case json.Number:
		return []byte(v.String()), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, errors.New("cannot be written as JSON")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// LabelType and LabelTypeWebhook mark, as in the External Secrets
// Operator, the Secrets a Webhook generator may read: without the mark,
// whoever may create a generator could send any Secret of the namespace
// to any URL.
const (
	LabelType        = "external-secrets.io/type"
	LabelTypeWebhook = "webhook"
)

func checkWebhookLabel(ctx context.Context, creds provider.Credentials, store secretstore.GenericStore, sel secretstore.SecretKeySelector) error {
	ns, err := provider.CredentialNamespace(store, sel.Namespace)
	if err != nil {
		return err
	}
	labeler, ok := creds.(provider.SecretLabeler)
	if !ok {
		return fmt.Errorf("Secret %s/%s: these credentials cannot read labels, so the %s=%s label a Webhook generator needs cannot be checked", ns, sel.Name, LabelType, LabelTypeWebhook)
	}
	labels, err := labeler.SecretLabels(ctx, ns, sel.Name)
	if err != nil {
		return fmt.Errorf("Secret %s/%s: %w", ns, sel.Name, err)
	}
	if labels[LabelType] != LabelTypeWebhook {
		return fmt.Errorf("Secret %s/%s is not labelled %s=%s, which a Webhook generator needs to read it", ns, sel.Name, LabelType, LabelTypeWebhook)
	}
	return nil
}
