package template

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth is how deeply values may nest. Deeper values come only from
// templates built to exhaust the stack of whatever walks them.
const maxDepth = 1000

var (
	errCyclic  = errors.New("value contains itself")
	errTooDeep = fmt.Errorf("value nests more than %d deep", maxDepth)
)

// walker measures a value: roughly the bytes it holds, counting each
// element of a slice or map as 8 or 16 bytes besides its content. It fails
// once the size passes limit, on a value that contains itself and on one
// nested more than maxDepth deep, so it is cheap on any value.
type walker struct {
	size  int
	limit int
	// leaf, if set, is called with every string and byte slice.
	leaf func(string)
	// container, if set, is called with the address of every map and
	// slice.
	container func(uintptr)
	// path holds the maps, slices and pointers being walked, to find
	// cycles.
	path map[uintptr]bool
}

func (w *walker) walk(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch v.Kind() {
	case reflect.Invalid:
	case reflect.String:
		w.size += v.Len()
		if w.leaf != nil {
			w.leaf(v.String())
		}
	case reflect.Interface:
		if !v.IsNil() {
			return w.walk(v.Elem(), depth)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		w.size += 8
		return w.enter(v.Pointer(), func() error { return w.walk(v.Elem(), depth+1) })
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			w.size += v.Len()
			if w.leaf != nil && v.Kind() == reflect.Slice {
				w.leaf(string(v.Bytes()))
			}
			break
		}
		if v.Kind() == reflect.Slice && w.container != nil {
			w.container(v.Pointer())
		}
		if v.Len() == 0 {
			break
		}
		elems := func() error {
			for i := range v.Len() {
				w.size += 8
				if err := w.walk(v.Index(i), depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if v.Kind() == reflect.Array {
			return elems()
		}
		return w.enter(v.Pointer(), elems)
	case reflect.Map:
		if w.container != nil {
			w.container(v.Pointer())
		}
		if v.Len() == 0 {
			break
		}
		return w.enter(v.Pointer(), func() error {
			iter := v.MapRange()
			for iter.Next() {
				w.size += 16
				if err := w.walk(iter.Key(), depth+1); err != nil {
					return err
				}
				if err := w.walk(iter.Value(), depth+1); err != nil {
					return err
				}
			}
			return nil
		})
	case reflect.Struct:
		for i := range v.NumField() {
			if err := w.walk(v.Field(i), depth+1); err != nil {
				return err
			}
		}
	default:
		w.size += 8
	}
	if w.size > w.limit {
		return fmt.Errorf("value is %w", ErrTooLarge)
	}
	return nil
}

func (w *walker) enter(p uintptr, f func() error) error {
	if w.path[p] {
		return errCyclic
	}
	if w.path == nil {
		w.path = map[uintptr]bool{}
	}
	w.path[p] = true
	defer delete(w.path, p)
	return f()
}

// stringLeaves returns the strings and byte slices in v of at least
// minRedact bytes for which keep, if set, is true.
func stringLeaves(v reflect.Value, keep func(string) bool) []string {
	var out []string
	w := walker{limit: math.MaxInt, leaf: func(s string) {
		if len(s) >= minRedact && (keep == nil || keep(s)) {
			out = append(out, s)
		}
	}}
	_ = w.walk(v, 0) // a cyclic or deep value yields what was found so far
	return out
}

// mutators change their first argument, so it is measured again after
// the call: set can make a dict contain itself.
var mutators = map[string]bool{
	"set": true, "merge": true, "mergeOverwrite": true, "mustMerge": true, "mustMergeOverwrite": true,
}

// workOf charges, in units of the work budget, functions whose work grows
// faster than their input: uniq and without compare every element with
// every other.
var workOf = map[string]func(args []reflect.Value) int{
	"uniq":        func(a []reflect.Value) int { n := listLen(a[0]); return n * n / 64 },
	"mustUniq":    func(a []reflect.Value) int { n := listLen(a[0]); return n * n / 64 },
	"without":     func(a []reflect.Value) int { return listLen(a[0]) * a[1].Len() / 64 },
	"mustWithout": func(a []reflect.Value) int { return listLen(a[0]) * a[1].Len() / 64 },
}

func listLen(v reflect.Value) int {
	v = reflect.ValueOf(v.Interface())
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
		return v.Len()
	}
	return 0
}

// argChecks compute, before the call, how large the result of a function
// that can multiply its input would be, and fail the call when it is over
// MaxSize. Arguments have the function's parameter types, already checked
// by text/template.
var argChecks = map[string]func(args []reflect.Value) error{
	"repeat": func(a []reflect.Value) error {
		count, s := a[0].Int(), a[1].Len()
		if count < 0 {
			return errors.New("count is negative")
		}
		return product(count, int64(s), 0)
	},
	"indent":  checkIndent,
	"nindent": checkIndent,
	"replace": func(a []reflect.Value) error {
		old, repl, src := a[0].String(), a[1].String(), a[2].String()
		n := strings.Count(src, old)
		return product(int64(n), int64(len(repl)-len(old)), int64(len(src)))
	},
	"wrapWith": func(a []reflect.Value) error {
		width, sep, s := max(a[0].Int(), 1), max(a[1].Len(), 1), a[2].Len()
		return product(int64(s)/width+1, int64(sep), int64(s))
	},
	"randAlphaNum": checkCount,
	"randAlpha":    checkCount,
	"randAscii":    checkCount,
	"randNumeric":  checkCount,
	"randBytes":    checkCount,
	"join": func(a []reflect.Value) error {
		sep := int64(a[0].Len())
		list := reflect.ValueOf(a[1].Interface())
		if list.Kind() != reflect.Slice && list.Kind() != reflect.Array {
			return nil
		}
		size := int64(0)
		for i := range list.Len() {
			size += sep + int64(formatSize(list.Index(i).Interface(), 'v'))
			if size > MaxSize {
				return fmt.Errorf("result would be %w", ErrTooLarge)
			}
		}
		return nil
	},
	"regexReplaceAll":            checkRegexReplace(true),
	"mustRegexReplaceAll":        checkRegexReplace(true),
	"regexReplaceAllLiteral":     checkRegexReplace(false),
	"mustRegexReplaceAllLiteral": checkRegexReplace(false),
	"chunk":                      checkChunk,
	"mustChunk":                  checkChunk,
	"printf": func(a []reflect.Value) error {
		return limitSize(printfSize(a[0].String(), a[1].Interface().([]any)))
	},
	"print":   checkPrint,
	"println": checkPrint,
}

func checkIndent(a []reflect.Value) error {
	spaces, s := a[0].Int(), a[1].String()
	if spaces < 0 {
		return errors.New("indent is negative")
	}
	return product(int64(strings.Count(s, "\n")+1), spaces, int64(len(s)+1))
}

func checkCount(a []reflect.Value) error {
	return product(a[0].Int(), 1, 0)
}

func checkChunk(a []reflect.Value) error {
	if a[0].Int() < 1 {
		return errors.New("chunk size must be at least 1")
	}
	return nil
}

func checkPrint(a []reflect.Value) error {
	args := a[0].Interface().([]any)
	size := len(args)
	for _, arg := range args {
		size += formatSize(arg, 'v')
	}
	return limitSize(size)
}

// checkRegexReplace counts the matches and bounds the result: each match
// adds the replacement, and with expand each $ in it adds at most a group,
// whose matches together are at most the input.
func checkRegexReplace(expand bool) func([]reflect.Value) error {
	return func(a []reflect.Value) error {
		re, err := regexp.Compile(a[0].String())
		if err != nil {
			return nil // the function itself reports it
		}
		s, repl := a[1].String(), a[2].String()
		n := 0
		re.ReplaceAllStringFunc(s, func(string) string { n++; return "" })
		refs := int64(0)
		if expand {
			refs = int64(strings.Count(repl, "$"))
		}
		return product(int64(n), int64(len(repl)), int64(len(s))*(1+refs))
	}
}

// product fails when a*b+c is over MaxSize.
func product(a, b, c int64) error {
	if a < 0 || b <= 0 {
		return limitSize(int(c))
	}
	if a > (MaxSize-c)/b {
		return fmt.Errorf("result would be %w", ErrTooLarge)
	}
	return nil
}

func limitSize(n int) error {
	if n > MaxSize {
		return fmt.Errorf("result would be %w", ErrTooLarge)
	}
	return nil
}

// until, untilStep and seq are sprig's, with the same results, but they
// count the elements before making them: sprig's loop would run out of
// memory, or never end when the step overflows.
func until(count int) ([]int, error) {
	step := 1
	if count < 0 {
		step = -1
	}
	return untilStep(0, count, step)
}

func untilStep(start, stop, step int) ([]int, error) {
	var dist, abs uint64
	switch {
	case stop > start && step > 0:
		dist, abs = uint64(stop)-uint64(start), uint64(step)
	case stop < start && step < 0:
		dist, abs = uint64(start)-uint64(stop), -uint64(step)
	default:
		return []int{}, nil
	}
	n := dist / abs
	if dist%abs != 0 {
		n++
	}
	if n > MaxSize/16 { // as walker counts an int in a slice
		return nil, fmt.Errorf("%d elements would be %w", n, ErrTooLarge)
	}
	v := make([]int, n)
	for i := range v {
		v[i] = start + i*step
	}
	return v, nil
}

func seq(params ...int) (string, error) {
	var start, stop, step int
	switch len(params) {
	case 1:
		start, stop, step = 1, params[0], 1
		if stop < start {
			step = -1
		}
		stop += step
	case 2:
		start, stop, step = params[0], params[1], 1
		if stop < start {
			step = -1
		}
		stop += step
	case 3:
		start, stop, step = params[0], params[2], params[1]
		inc := 1
		if stop < start {
			inc = -1
			if step > 0 {
				return "", nil
			}
		}
		stop += inc
	default:
		return "", nil
	}
	v, err := untilStep(start, stop, step)
	if err != nil {
		return "", err
	}
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " "), nil
}

// fmtLimit is the largest width or precision fmt honours.
const fmtLimit = 1e6

// printfSize is an upper bound of the length of fmt.Sprintf(format,
// args...): it follows fmt's parsing of verbs, widths, precisions and
// argument indexes closely enough to know which argument each verb prints.
func printfSize(format string, args []any) int {
	size := len(format)
	arg := 0
	index := func(i int) int {
		if i < len(format) && format[i] == '[' {
			end := strings.IndexByte(format[i:], ']')
			if end < 0 {
				return len(format)
			}
			if n, err := strconv.Atoi(format[i+1 : i+end]); err == nil && n >= 1 && n <= len(args) {
				arg = n - 1
			}
			return i + end + 1
		}
		return i
	}
	number := func(i int) (int, int) {
		if i < len(format) && format[i] == '*' {
			n := 0
			if arg < len(args) {
				n = intArg(args[arg])
			}
			arg++
			return i + 1, n
		}
		n := 0
		for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
			n = min(n*10+int(format[i]-'0'), fmtLimit)
		}
		return i, n
	}
	for i := 0; i < len(format); {
		if format[i] != '%' {
			i++
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		i = index(i)
		i, width := number(i)
		prec := 0
		if i < len(format) && format[i] == '.' {
			i = index(i + 1)
			i, prec = number(i)
		}
		i = index(i)
		if i >= len(format) {
			size += 16
			break
		}
		verb, n := utf8.DecodeRuneInString(format[i:])
		i += n
		if verb == '%' {
			continue
		}
		size += width + prec + 32
		if arg < len(args) {
			size += formatSize(args[arg], verb)
			arg++
		}
		if size > MaxSize {
			return size
		}
	}
	for ; arg < len(args); arg++ {
		size += formatSize(args[arg], 'v') + 32
	}
	return size
}

// formatSize is about the length of one value formatted with verb: a
// string or byte slice printed by %s is itself, a number at most a few
// hundred bytes, anything else a few times the size walker gives it. It
// need not be exact, only keep the result of many verbs within a small
// multiple of MaxSize.
func formatSize(v any, verb rune) int {
	switch s := v.(type) {
	case string:
		if verb == 's' || verb == 'v' {
			return len(s)
		}
		return 6*len(s) + 32
	case []byte:
		if verb == 's' {
			return len(s)
		}
		return 6*len(s) + 32
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		if verb == 'v' || verb == 'd' || verb == 's' {
			return 64
		}
		return 800
	}
	w := walker{limit: MaxSize}
	if err := w.walk(rv, 0); err != nil {
		return MaxSize + 1
	}
	return 4*w.size + 64
}

// intArg is the width or precision fmt takes from arg for a '*'.
func intArg(arg any) int {
	rv := reflect.ValueOf(arg)
	var n int64
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > fmtLimit {
			return fmtLimit
		}
		n = int64(rv.Uint())
	default:
		return 0
	}
	if n < -fmtLimit || n > fmtLimit {
		return fmtLimit
	}
	return int(max(n, -n))
}
