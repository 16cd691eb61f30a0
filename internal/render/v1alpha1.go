package render

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// fromV1alpha1 rewrites an external-secrets.io/v1alpha1 manifest into the
// v1 schema. Only ExternalSecret differs in a way render needs: each
// dataFrom entry was a bare remote reference, which v1 spells
// dataFrom[].extract. Stores keep their shape.
func fromV1alpha1(kind string, raw []byte) ([]byte, error) {
	if kind != "ExternalSecret" {
		return raw, nil
	}
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("invalid manifest: %w", err)
	}
	spec, _ := obj["spec"].(map[string]any)
	dataFrom, _ := spec["dataFrom"].([]any)
	for i, item := range dataFrom {
		ref, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("spec.dataFrom[%d] is not an object", i)
		}
		if _, bare := ref["key"]; bare {
			dataFrom[i] = map[string]any{"extract": ref}
		}
	}
	if t, ok := spec["target"].(map[string]any); ok {
		if tpl, ok := t["template"].(map[string]any); ok && tpl["engineVersion"] == "v1" {
			return nil, fmt.Errorf("template engineVersion v1 is not supported; templates use engine v2")
		}
	}
	return yaml.Marshal(obj)
}
