package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/secretsync/secretsync/externalsecret"
)

// rewriteMerge reads each value of m as a JSON object and merges them, as
// the External Secrets Operator's rewrite merge does: values in the order
// of their keys, the keys of Priority last and in its order; a later
// value's key wins. Extract returns the keys of the merged object; JSON
// returns m with the merged object added under Into.
//
// Numbers go through float64, as there: 1.50 becomes 1.5.
func rewriteMerge(op externalsecret.RewriteMerge, m map[string][]byte) (map[string][]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !slices.Contains(op.Priority, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys = append(keys, op.Priority...)

	merged := map[string]any{}
	var conflicts []string
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			if op.PriorityPolicy == externalsecret.MergePriorityIgnoreNotFound {
				continue
			}
			return nil, fmt.Errorf("merge: priority key %q is not among the values", k)
		}
		var obj map[string]any
		// encoding/json's errors can quote the input; this one names
		// the key only.
		if err := json.Unmarshal(v, &obj); err != nil {
			return nil, fmt.Errorf("merge: the value of key %q is not a JSON object", k)
		}
		for ik, iv := range obj {
			if _, dup := merged[ik]; dup {
				conflicts = append(conflicts, ik)
			}
			merged[ik] = iv
		}
	}
	if len(conflicts) > 0 && op.ConflictPolicy != externalsecret.MergeConflictIgnore {
		sort.Strings(conflicts)
		return nil, fmt.Errorf("merge: keys %s are in more than one value; set conflictPolicy Ignore to let the later win", strings.Join(slices.Compact(conflicts), ", "))
	}

	switch op.Strategy {
	case "", externalsecret.MergeStrategyExtract:
		out := make(map[string][]byte, len(merged))
		for k, v := range merged {
			b, err := mergedValue(v)
			if err != nil {
				return nil, fmt.Errorf("merge: key %q: %w", k, err)
			}
			out[k] = b
		}
		return out, nil
	case externalsecret.MergeStrategyJSON:
		if op.Into == "" {
			return nil, errors.New("merge: strategy JSON needs into, the key to write the merged object to")
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(merged); err != nil {
			return nil, fmt.Errorf("merge: encode the merged object: %w", err)
		}
		out := make(map[string][]byte, len(m)+1)
		for k, v := range m {
			out[k] = v
		}
		out[op.Into] = bytes.TrimRight(buf.Bytes(), "\n")
		return out, nil
	default:
		return nil, fmt.Errorf("merge: strategy %q is not supported", op.Strategy)
	}
}

// mergedValue is a value of a merged object as the External Secrets
// Operator writes it: strings as they are, numbers in Go's shortest plain
// form, objects and arrays as JSON, null as nothing.
func mergedValue(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case float64:
		return []byte(strconv.FormatFloat(t, 'f', -1, 64)), nil
	case bool:
		return []byte(strconv.FormatBool(t)), nil
	case nil:
		return nil, nil
	}
	// encoding/json names the type that failed, never a value.
	return json.Marshal(v)
}
