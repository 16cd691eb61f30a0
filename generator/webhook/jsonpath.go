package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// step is one step of a JSONPath: a key of an object or an index of an
// array.
type step struct {
	key     string
	index   int
	isIndex bool
}

func (s step) String() string {
	if s.isIndex {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return "[" + strconv.Quote(s.key) + "]"
}

// parsePath parses a JSONPath that selects one value; see the package
// documentation for the syntax.
func parsePath(path string) ([]step, error) {
	if !strings.HasPrefix(path, "$") {
		return nil, fmt.Errorf("it must start with $")
	}
	var steps []step
	for i := 1; i < len(path); {
		switch path[i] {
		case '.':
			i++
			if i < len(path) && path[i] == '.' {
				return nil, fmt.Errorf("recursive descent (..) selects a list, and the result must be one object")
			}
			end := i
			for end < len(path) && path[end] != '.' && path[end] != '[' {
				end++
			}
			name := path[i:end]
			switch name {
			case "":
				return nil, fmt.Errorf("a name is missing after the dot at offset %d", i-1)
			case "*":
				return nil, fmt.Errorf("a wildcard (*) selects a list, and the result must be one object")
			}
			steps = append(steps, step{key: name})
			i = end
		case '[':
			s, next, err := parseBracket(path, i)
			if err != nil {
				return nil, err
			}
			steps = append(steps, s)
			i = next
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d; want . or [", path[i], i)
		}
	}
	return steps, nil
}

// parseBracket parses the bracket step at path[open], and returns it with
// the offset after its closing bracket.
func parseBracket(path string, open int) (step, int, error) {
	i := open + 1
	if i < len(path) && (path[i] == '\'' || path[i] == '"') {
		quote := path[i]
		var name strings.Builder
		for i++; i < len(path) && path[i] != quote; i++ {
			if path[i] == '\\' && i+1 < len(path) {
				i++
			}
			name.WriteByte(path[i])
		}
		if i+1 >= len(path) || path[i+1] != ']' {
			return step{}, 0, fmt.Errorf("the quoted name at offset %d is not closed by %c]", open, quote)
		}
		return step{key: name.String()}, i + 2, nil
	}
	end := strings.IndexByte(path[i:], ']')
	if end < 0 {
		return step{}, 0, fmt.Errorf("the [ at offset %d is not closed", open)
	}
	inner := strings.TrimSpace(path[i : i+end])
	switch {
	case inner == "*":
		return step{}, 0, fmt.Errorf("a wildcard ([*]) selects a list, and the result must be one object")
	case strings.HasPrefix(inner, "?"):
		return step{}, 0, fmt.Errorf("a filter ([?...]) selects a list, and the result must be one object")
	case strings.Contains(inner, ":"):
		return step{}, 0, fmt.Errorf("a slice ([a:b]) selects a list, and the result must be one object")
	case strings.Contains(inner, ","):
		return step{}, 0, fmt.Errorf("a union ([a,b]) selects a list, and the result must be one object")
	}
	n, err := strconv.Atoi(inner)
	if err != nil {
		return step{}, 0, fmt.Errorf("[%s] at offset %d is not an index nor a quoted name", inner, open)
	}
	return step{index: n, isIndex: true}, i + end + 1, nil
}

// selectPath returns the value at path in doc, a document decoded by
// encoding/json. Its errors name keys of the path and JSON types, never
// a value.
func selectPath(doc any, path string) (any, error) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, fmt.Errorf("result.jsonPath %q: %w", path, err)
	}
	at := "$"
	for _, s := range steps {
		if s.isIndex {
			arr, ok := doc.([]any)
			if !ok {
				return nil, fmt.Errorf("result.jsonPath %q: %s is a JSON %s, not an array", path, at, jsonType(doc))
			}
			i := s.index
			if i < 0 {
				i += len(arr)
			}
			if i < 0 || i >= len(arr) {
				return nil, fmt.Errorf("result.jsonPath %q: index %d is out of range at %s, an array of %d", path, s.index, at, len(arr))
			}
			doc = arr[i]
		} else {
			obj, ok := doc.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("result.jsonPath %q: %s is a JSON %s, not an object", path, at, jsonType(doc))
			}
			v, ok := obj[s.key]
			if !ok {
				return nil, fmt.Errorf("result.jsonPath %q: %s has no key %q", path, at, s.key)
			}
			doc = v
		}
		at += s.String()
	}
	return doc, nil
}

// jsonType names the JSON type of v, decoded by encoding/json with
// UseNumber.
func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
