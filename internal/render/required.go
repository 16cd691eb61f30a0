package render

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/externalsecret"
)

// checkRequired reports the fields the CRD requires that the manifest raw
// leaves out. Decoded, such a field holds its zero value, which the
// apiserver would accept had it been written: only the manifest shows the
// difference. A field is required as controller-gen makes it: its json
// tag has no omitempty. A null counts as left out, as the apiserver
// drops nulls of fields that are not nullable before it validates.
func checkRequired(raw []byte, obj any) error {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return err
	}
	var missing []string
	walkRequired(reflect.TypeOf(obj), doc, "", &missing)
	if len(missing) == 0 {
		return nil
	}
	errs := make([]error, len(missing))
	for i, m := range missing {
		errs[i] = fmt.Errorf("%s: Required value", m)
	}
	return errors.Join(errs...)
}

var apiPackage = reflect.TypeOf(externalsecret.ExternalSecret{}).PkgPath()

func walkRequired(t reflect.Type, v any, path string, missing *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		list, _ := v.([]any)
		for i, item := range list {
			walkRequired(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i), missing)
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok || t.PkgPath() != apiPackage {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-" || !f.IsExported():
				continue
			case name == "" && strings.Contains(opts, "inline"):
				walkRequired(f.Type, v, path, missing)
				continue
			case name == "":
				name = f.Name
			case path == "" && name == "status":
				// The apiserver ignores the status of an object created.
				continue
			}
			child := name
			if path != "" {
				child = path + "." + name
			}
			fv, present := obj[name]
			if (!present || fv == nil) && !strings.Contains(opts, "omitempty") {
				*missing = append(*missing, child)
				continue
			}
			walkRequired(f.Type, fv, child, missing)
		}
	}
}
