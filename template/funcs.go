package template

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
)

// removedFuncs are sprig functions templates may not call: they read the
// controller's environment or the network. A template calling one fails to
// parse with `function "env" not defined`.
var removedFuncs = []string{"env", "expandenv", "getHostByName"}

// Funcs returns the functions templates may call, by name: sprig's less
// env, expandenv and getHostByName, the External Secrets Operator's, and
// text/template's print, printf, println, html, js and urlquery, all with
// the size bounds of [Render]. Each call returns a new map.
func Funcs() texttemplate.FuncMap {
	return (*calls)(nil).funcMap()
}

// plainFuncs are the template functions before bounds are added.
var plainFuncs = sync.OnceValue(func() map[string]any {
	m := map[string]any{}
	for k, v := range sprig.TxtFuncMap() {
		m[k] = v
	}
	for _, k := range removedFuncs {
		delete(m, k)
	}
	for k, v := range map[string]any{
		// text/template's own functions that can make their input larger,
		// so that the same bounds apply to them.
		"print":    fmt.Sprint,
		"printf":   fmt.Sprintf,
		"println":  fmt.Sprintln,
		"html":     texttemplate.HTMLEscaper,
		"js":       texttemplate.JSEscaper,
		"urlquery": texttemplate.URLQueryEscaper,

		// sprig's, rewritten to count before they allocate.
		"until":     until,
		"untilStep": untilStep,
		"seq":       seq,

		// The External Secrets Operator's.
		"pkcs12key":                 pkcs12key,
		"pkcs12keyPass":             pkcs12keyPass,
		"pkcs12cert":                pkcs12cert,
		"pkcs12certPass":            pkcs12certPass,
		"pemToPkcs12":               pemToPkcs12,
		"pemToPkcs12Pass":           pemToPkcs12Pass,
		"fullPemToPkcs12":           fullPemToPkcs12,
		"fullPemToPkcs12Pass":       fullPemToPkcs12Pass,
		"pemTruststoreToPKCS12":     pemTruststoreToPKCS12,
		"pemTruststoreToPKCS12Pass": pemTruststoreToPKCS12Pass,
		"filterPEM":                 filterPEM,
		"filterCertChain":           filterCertChain,
		"certSANs":                  certSANs,
		"jwkPublicKeyPem":           jwkPublicKeyPem,
		"jwkPrivateKeyPem":          jwkPrivateKeyPem,
		"rsaDecrypt":                rsaDecrypt,
		"toYaml":                    toYAML,
		"fromYaml":                  fromYAML,
	} {
		m[k] = v
	}
	return m
})

// calls watches the function calls of one template run. It remembers the
// strings they derive from secrets, such as the output of b64dec, so that
// an error quoting one can be redacted: only the values themselves are
// known to be secret up front. A nil *calls remembers nothing.
type calls struct {
	// source is the template being run. Strings found in it are the
	// template's own literals, not secrets.
	source      string
	recent      []string
	recentBytes int
	// readonly holds the maps and slices of the template's data, which
	// functions must not change.
	readonly map[uintptr]bool
	// budget is the work the templates of one render may still do.
	budget int
}

// workBudget is the work one Render may do, in units of one to a few
// microseconds: a function call costs one unit and one more for each KiB
// of its arguments, a range iteration one unit, and the functions of
// costlyFuncs far more.
const workBudget = 1 << 19

// costlyFuncs generate keys or hash passwords on purpose slowly.
var costlyFuncs = map[string]int{
	"genPrivateKey":     workBudget / 4,
	"genCA":             workBudget / 8,
	"genSelfSignedCert": workBudget / 8,
	"genSignedCert":     workBudget / 8,
	"derivePassword":    workBudget / 32,
	"bcrypt":            workBudget / 32,
	"htpasswd":          workBudget / 32,
}

func (c *calls) spend(n int) error {
	if c == nil {
		return nil
	}
	c.budget -= n
	if c.budget < 0 {
		return ErrTooCostly
	}
	return nil
}

// rangeGuard names the function guardRanges adds to every range pipeline.
const rangeGuard = "rangeLimit"

// guardRange charges the iterations of a range before they run, so that
// {{ range 1000000000000 }} fails instead of running for hours.
func (c *calls) guardRange(v any) (any, error) {
	rv := reflect.ValueOf(v)
	n := 0
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = int(min(max(rv.Int(), 0), math.MaxInt32))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n = int(min(rv.Uint(), math.MaxInt32))
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String:
		n = rv.Len()
	}
	if err := c.spend(n); err != nil {
		return nil, err
	}
	return v, nil
}

// guardRanges makes every range in the template pass its value through
// rangeGuard first.
func guardRanges(tree *parse.Tree, node parse.Node) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			guardRanges(tree, c)
		}
	case *parse.IfNode:
		guardRanges(tree, n.List)
		guardRanges(tree, n.ElseList)
	case *parse.WithNode:
		guardRanges(tree, n.List)
		guardRanges(tree, n.ElseList)
	case *parse.RangeNode:
		id := parse.NewIdentifier(rangeGuard).SetTree(tree).SetPos(n.Pipe.Pos)
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pipe.Pos, Args: []parse.Node{id}})
		guardRanges(tree, n.List)
		guardRanges(tree, n.ElseList)
	}
}

// protect makes the maps and slices in data read-only to functions.
func (c *calls) protect(data any) {
	c.readonly = map[uintptr]bool{}
	w := walker{limit: math.MaxInt, container: func(p uintptr) { c.readonly[p] = true }}
	_ = w.walk(reflect.ValueOf(data), 0) // data that is cyclic is protected as far as it was walked
}

// checkWritable fails when a function would change the template's data.
func (c *calls) checkWritable(v reflect.Value) error {
	if c == nil {
		return nil
	}
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	if (v.Kind() == reflect.Map || v.Kind() == reflect.Slice) && c.readonly[v.Pointer()] {
		return errors.New("cannot change the template's data; change a deepCopy of it")
	}
	return nil
}

// maxRecent bounds the bytes of derived strings remembered; the oldest go
// first.
const maxRecent = 8 << 20

func (c *calls) start(source string) {
	c.source = source
	c.recent = nil
	c.recentBytes = 0
}

// note remembers the strings in v that the template did not spell out.
func (c *calls) note(vs ...reflect.Value) {
	if c == nil {
		return
	}
	for _, v := range vs {
		for _, s := range stringLeaves(v, func(s string) bool { return !strings.Contains(c.source, s) }) {
			c.recent = append(c.recent, s)
			c.recentBytes += len(s)
		}
	}
	for c.recentBytes > maxRecent && len(c.recent) > 0 {
		c.recentBytes -= len(c.recent[0])
		c.recent = c.recent[1:]
	}
}

func (c *calls) funcMap() texttemplate.FuncMap {
	m := texttemplate.FuncMap{}
	for name, fn := range plainFuncs() {
		m[name] = c.bound(name, fn)
	}
	return m
}

var errorType = reflect.TypeOf((*error)(nil)).Elem()

// bound wraps fn so that a call fails, instead of running, when its
// arguments are over MaxSize, cyclic or nested too deep, or when argChecks
// says the result would be over MaxSize; and so that a result over MaxSize
// fails the call too. The wrapper returns an error as its last result even
// when fn does not, which text/template reports as "error calling name".
func (c *calls) bound(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.NumOut() < 1 || t.NumOut() > 2 || (t.NumOut() == 2 && t.Out(1) != errorType) {
		panic(fmt.Sprintf("template function %s has results %v", name, t))
	}
	in := make([]reflect.Type, t.NumIn())
	for i := range in {
		in[i] = t.In(i)
	}
	ft := reflect.FuncOf(in, []reflect.Type{t.Out(0), errorType}, t.IsVariadic())
	check := argChecks[name]
	mutates := mutators[name]
	cost := func([]reflect.Value) int { return costlyFuncs[name] }
	if work := workOf[name]; work != nil {
		cost = work
	}
	if mutates || name == "unset" {
		check = func(args []reflect.Value) error { return c.checkWritable(args[0]) }
	}
	if name == "sortAlpha" {
		sortAlpha := v
		v = reflect.ValueOf(func(list any) []string {
			if l, ok := list.([]string); ok {
				list = slices.Clone(l)
			}
			return sortAlpha.Call([]reflect.Value{reflect.ValueOf(&list).Elem()})[0].Interface().([]string)
		})
	}
	zero := reflect.Zero(t.Out(0))
	noErr := reflect.Zero(errorType)
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		res, err := c.call(v, args, cost, check, mutates)
		if err != nil {
			return []reflect.Value{zero, reflect.ValueOf(&err).Elem()}
		}
		return []reflect.Value{res, noErr}
	}).Interface()
}

func (c *calls) call(fn reflect.Value, args []reflect.Value, cost func([]reflect.Value) int, check func([]reflect.Value) error, mutates bool) (res reflect.Value, err error) {
	w := walker{limit: MaxSize}
	for _, a := range args {
		if err := w.walk(a, 0); err != nil {
			return res, fmt.Errorf("arguments: %w", err)
		}
	}
	if err := c.spend(1 + w.size/1024 + cost(args)); err != nil {
		return res, err
	}
	if check != nil {
		if err := check(args); err != nil {
			return res, err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			c.note(args...)
			err = fmt.Errorf("%v", p)
		}
	}()
	var out []reflect.Value
	if fn.Type().IsVariadic() {
		out = fn.CallSlice(args)
	} else {
		out = fn.Call(args)
	}
	if len(out) == 2 && !out[1].IsNil() {
		c.note(args...)
		return res, out[1].Interface().(error)
	}
	w = walker{limit: MaxSize}
	if err := w.walk(out[0], 0); err != nil {
		return res, fmt.Errorf("result: %w", err)
	}
	if mutates {
		w = walker{limit: MaxSize}
		if err := w.walk(args[0], 0); err != nil {
			return res, fmt.Errorf("result: %w", err)
		}
	}
	c.note(out[0])
	return out[0], nil
}
