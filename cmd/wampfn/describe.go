package main

// describe: the signatures of the procedures in a wampfn Service's
// OpenRPC document, fetched from its discovery procedure.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// describeUsage is describe's usage text, shown by describe -h: it is
// the reference of the output format.
const describeUsage = `describe [flags] --discovery URI [PROCEDURE]

Calls URI, the discovery procedure of a wampfn Service (WithDiscovery), and
prints the signature of every procedure of the OpenRPC document it returns,
in the document's order, or of PROCEDURE only. --json prints the document
as it came (with PROCEDURE: that procedure's method object).

One block a procedure:

  com.myapp.longop(n int64) -> int64  progress int64
      Counts to n, one progressive result a second.
      n: how many progressive results

  NAME(PARAM, ...) -> RESULT  progress P  input I  match M
    PARAM is "name T"; "name? T" may be left out; "name ...T" takes the
    remaining positional arguments (or, by name, a list). Named parameters
    go by position or as kwargs; with "input", as kwargs only.
    No "-> RESULT" when the procedure returns nothing; "-> (T, U)" when it
    returns several positional results.
    progress P: its progressive results; input I: the chunks of its input
    stream (a progressive call); match M: a prefix or wildcard registration.
  Then, indented: the summary, "name: description" for each described
  parameter, "-> description" for the result.
After the procedures, "type NAME T" for each named type they use.

Types: bool; string; bytes (binary); time (an RFC 3339 string); int8 to
int64 and uint8 to uint64 (an integer in that Go type's range; "integer"
for another range); float32, float64; any; []T (a list, or null); [N]T
(a list of N); map[string]T (an object, or null); {key T, ...} (an
object; no key required, others allowed); *T (T or null); A | B (either);
NAME (a named type).

flags:`

// describeTimeout is the default bound on the discovery call.
const describeTimeout = 10 * time.Second

func runDescribe(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var cf connFlags
	fs := newFlagSet("describe", env, &cf)
	discovery := fs.String("discovery", "", "the discovery procedure's `URI` (required)")
	asJSON := fs.Bool("json", false, "print the OpenRPC document, indented, instead of signatures")
	timeout := fs.Duration("timeout", describeTimeout, "bound on the discovery call")
	if code, ok := parse(fs, describeUsage, args, stdout, stderr); !ok {
		return code
	}
	switch {
	case *discovery == "":
		fmt.Fprintln(stderr, "wampfn: describe needs --discovery URI")
		return exitUsage
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "wampfn: describe: unexpected argument %q: give one PROCEDURE at most\n", fs.Arg(1))
		return exitUsage
	case *timeout <= 0:
		fmt.Fprintf(stderr, "wampfn: describe: --timeout must be positive, got %v\n", *timeout)
		return exitUsage
	}
	procedure := fs.Arg(0)

	doc, methods, code := fetchDocument(ctx, &cf, *discovery, *timeout, "describe", stderr)
	if doc == nil {
		return code
	}
	if procedure != "" {
		i := slices.IndexFunc(methods, func(m map[string]any) bool { return m["name"] == procedure })
		if i < 0 {
			fmt.Fprintf(stderr, "wampfn: describe: no procedure %s in the document of %s\n", procedure, *discovery)
			return exitFailed
		}
		methods = methods[i : i+1]
	}

	if *asJSON {
		var v any = doc
		if procedure != "" {
			v = methods[0]
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "wampfn: describe: the document of %s: %v\n", *discovery, err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	sw := &sigWriter{components: componentSchemas(doc), used: map[string]bool{}}
	for _, m := range methods {
		sw.method(stdout, m)
	}
	sw.types(stdout)
	return exitOK
}

// fetchDocument calls discovery, the discovery procedure of a wampfn
// Service, as cf says, and returns the OpenRPC document it answers, and
// its methods. On failure it prints one line to stderr, naming command,
// and returns a nil document and the exit status.
func fetchDocument(ctx context.Context, cf *connFlags, discovery string, timeout time.Duration, command string,
	stderr io.Writer) (map[string]any, []map[string]any, int) {
	c, code := cf.connect(ctx, stderr)
	if c == nil {
		return nil, nil, code
	}
	res, err := boundedCall(ctx, c, timeout, discovery, nil, nil, nil, nil)
	closeWithin(c, closeWait)
	if err != nil {
		var rpcErr client.RPCError
		if errors.As(err, &rpcErr) && rpcErr.Err.Error == wamp.ErrNoSuchProcedure && ctx.Err() == nil {
			fmt.Fprintf(stderr, "wampfn: %s: discovery procedure %s is not registered on realm %q\n", command, discovery, cf.realm)
			return nil, nil, exitFailed
		}
		return nil, nil, callFailed(ctx, stderr, command+": "+discovery, timeout, err)
	}
	doc, methods, ok := openRPCDocument(res)
	if !ok {
		fmt.Fprintf(stderr, "wampfn: %s: %s did not return an OpenRPC document\n", command, discovery)
		return nil, nil, exitFailed
	}
	return doc, methods, exitOK
}

// openRPCDocument returns the OpenRPC document that a discovery procedure
// returned (its one positional result) and its method objects; ok is
// false for anything else.
func openRPCDocument(res *wamp.Result) (doc map[string]any, methods []map[string]any, ok bool) {
	if len(res.Arguments) != 1 {
		return nil, nil, false
	}
	doc, ok = dictOf(res.Arguments[0])
	if !ok {
		return nil, nil, false
	}
	if _, ok := wamp.AsString(doc["openrpc"]); !ok {
		return nil, nil, false
	}
	list, ok := listOf(doc["methods"])
	if !ok {
		return nil, nil, false
	}
	for _, x := range list {
		m, ok := dictOf(x)
		if !ok {
			return nil, nil, false
		}
		if _, ok := m["name"].(string); !ok {
			return nil, nil, false
		}
		methods = append(methods, m)
	}
	return doc, methods, true
}

// componentSchemas returns the document's components.schemas, or nil.
func componentSchemas(doc map[string]any) map[string]any {
	comps, _ := dictOf(doc["components"])
	schemas, _ := dictOf(comps["schemas"])
	return schemas
}

// A sigWriter writes signatures, and keeps track of the named types
// (components) they use, to list them at the end.
type sigWriter struct {
	components map[string]any
	used       map[string]bool
}

// method writes the block of method object m.
func (w *sigWriter) method(out io.Writer, m map[string]any) {
	var b strings.Builder
	name, _ := wamp.AsString(m["name"])
	b.WriteString(name + "(")
	params, _ := listOf(m["params"])
	var described []string // "name: description" lines
	for i, x := range params {
		p, _ := dictOf(x)
		pname, _ := wamp.AsString(p["name"])
		if i > 0 {
			b.WriteString(", ")
		}
		switch typ := w.typeOf(p["schema"]); {
		case p["x-wamp-variadic"] == true:
			b.WriteString(pname + " ..." + typ)
		case p["required"] != true: // OpenRPC's default is false
			b.WriteString(pname + "? " + typ)
		default:
			b.WriteString(pname + " " + typ)
		}
		if d, _ := wamp.AsString(p["description"]); d != "" {
			described = append(described, pname+": "+d)
		}
	}
	b.WriteString(")")
	result, _ := dictOf(m["result"])
	if r := w.resultOf(result); r != "" {
		b.WriteString(" -> " + r)
	}
	for _, key := range []string{"x-wamp-progress", "x-wamp-input"} {
		if cd, ok := dictOf(m[key]); ok {
			b.WriteString("  " + strings.TrimPrefix(key, "x-wamp-") + " " + w.typeOf(cd["schema"]))
		}
	}
	if match, _ := wamp.AsString(m["x-wamp-match"]); match != "" {
		b.WriteString("  match " + match)
	}
	fmt.Fprintln(out, b.String())

	summary, _ := wamp.AsString(m["summary"])
	resultDesc, _ := wamp.AsString(result["description"])
	if resultDesc != "" {
		resultDesc = "-> " + resultDesc
	}
	for _, text := range append(append([]string{summary}, described...), resultDesc) {
		for line := range strings.Lines(text) {
			fmt.Fprintln(out, "    "+strings.TrimRight(line, " \t\r\n"))
		}
	}
}

// resultOf is the type of a result descriptor's schema: "" for none
// (null), a tuple for several positional results.
func (w *sigWriter) resultOf(cd map[string]any) string {
	s, ok := dictOf(cd["schema"])
	if !ok {
		return w.typeOf(cd["schema"])
	}
	if t, _ := wamp.AsString(s["type"]); t == "null" && len(s) == 1 {
		return ""
	}
	if items, ok := listOf(s["items"]); ok && cd["x-wamp-args"] == true {
		return "(" + w.typeList(items) + ")"
	}
	return w.typeOf(s)
}

// types writes "type NAME T" for each component used so far, and those
// they use, sorted by name.
func (w *sigWriter) types(out io.Writer) {
	done := map[string]bool{}
	for {
		var next []string
		for name := range w.used {
			if !done[name] {
				next = append(next, name)
			}
		}
		if len(next) == 0 {
			break
		}
		for _, name := range next {
			done[name] = true
			if s, ok := w.components[name]; ok {
				w.typeOf(s) // marks what it uses
			}
		}
	}
	names := make([]string, 0, len(done))
	for name := range done {
		if _, ok := w.components[name]; ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintln(out, "type "+name+" "+w.typeOf(w.components[name]))
	}
}

// typeOf is the readable type of a JSON Schema (see describeUsage).
func (w *sigWriter) typeOf(x any) string {
	if b, ok := x.(bool); ok {
		if b {
			return "any"
		}
		return "never"
	}
	s, ok := dictOf(x)
	if !ok || len(s) == 0 {
		return "any"
	}
	if name, ok := refName(s); ok {
		w.used[name] = true
		return name
	}
	if anyOf, ok := listOf(s["anyOf"]); ok {
		alts, nullable := nonNull(anyOf)
		switch {
		case len(alts) == 1 && nullable:
			return "*" + w.typeOf(alts[0])
		case nullable:
			return "*(" + w.alternatives(alts) + ")"
		}
		return w.alternatives(alts)
	}

	types := schemaTypes(s)
	nullable := slices.Contains(types, "null") && len(types) > 1
	types = slices.DeleteFunc(types, func(t string) bool { return t == "null" && nullable })
	if len(types) != 1 {
		return strings.Join(types, " | ") // not written by wampfn
	}
	typ := w.kindOf(types[0], s)
	if nullable && !strings.HasPrefix(typ, "[]") && !strings.HasPrefix(typ, "map[") && typ != "bytes" {
		typ = "*" + typ // a nil slice, map or []byte is null: the plain type says it
	}
	return typ
}

// kindOf is the readable type of schema s of JSON type typ.
func (w *sigWriter) kindOf(typ string, s map[string]any) string {
	switch typ {
	case "boolean":
		return "bool"
	case "integer":
		return integerType(s["minimum"], s["maximum"])
	case "number":
		lo, okLo := asFloat(s["exclusiveMinimum"])
		hi, okHi := asFloat(s["exclusiveMaximum"])
		_, hasMin := s["minimum"]
		_, hasMax := s["maximum"]
		switch {
		case okLo && okHi && lo == -float32Beyond && hi == float32Beyond && !hasMin && !hasMax:
			return "float32"
		case !okLo && !okHi && !hasMin && !hasMax:
			return "float64"
		}
		return "number"
	case "string":
		switch {
		case s["x-wamp-binary"] == true:
			return "bytes"
		case s["format"] == "date-time":
			return "time"
		}
		return "string"
	case "array":
		if items, ok := listOf(s["items"]); ok {
			return "[" + w.typeList(items) + "]" // a tuple: not written by wampfn but for results
		}
		elem := w.typeOf(s["items"])
		lo, okLo := bigInt(s["minItems"])
		hi, okHi := bigInt(s["maxItems"])
		if okLo && okHi && lo.Cmp(hi) == 0 {
			return "[" + lo.String() + "]" + elem
		}
		return "[]" + elem
	case "object":
		if add, ok := s["additionalProperties"]; ok && add != false {
			return "map[string]" + w.typeOf(add)
		}
		keys, props := properties(s) // without the keys the decoder refuses
		if props == nil {
			return "object"
		}
		fields := make([]string, len(keys))
		for i, k := range keys {
			fields[i] = k + " " + w.typeOf(props[k])
		}
		return "{" + strings.Join(fields, ", ") + "}"
	}
	return typ // null, or not a JSON type
}

func (w *sigWriter) typeList(schemas []any) string {
	types := make([]string, len(schemas))
	for i, x := range schemas {
		types[i] = w.typeOf(x)
	}
	return strings.Join(types, ", ")
}

func (w *sigWriter) alternatives(schemas []any) string {
	types := make([]string, len(schemas))
	for i, x := range schemas {
		types[i] = w.typeOf(x)
	}
	return strings.Join(types, " | ")
}

// float32Beyond is the bound of a float32's schema (exclusive): the least
// number that rounds to a float32 infinity, 2^128 - 2^103.
const float32Beyond = 340282356779733661637539395458142568448.0

// An intRange is a Go integer type and its range.
type intRange struct {
	name   string
	lo, hi *big.Int
}

// integerTypes are the Go integer types that an integer's schema may
// have the range of.
var integerTypes = func() []intRange {
	var types []intRange
	one := big.NewInt(1)
	for _, bits := range []uint{8, 16, 32, 64} {
		half, full := new(big.Int).Lsh(one, bits-1), new(big.Int).Lsh(one, bits)
		n := strconv.Itoa(int(bits))
		types = append(types,
			intRange{"int" + n, new(big.Int).Neg(half), new(big.Int).Sub(half, one)},
			intRange{"uint" + n, new(big.Int), new(big.Int).Sub(full, one)})
	}
	return types
}()

// integerType names the Go integer type of range [minimum, maximum], or
// is "integer".
func integerType(minimum, maximum any) string {
	lo, okLo := bigInt(minimum)
	hi, okHi := bigInt(maximum)
	if okLo && okHi {
		for _, t := range integerTypes {
			if t.lo.Cmp(lo) == 0 && t.hi.Cmp(hi) == 0 {
				return t.name
			}
		}
	}
	return "integer"
}

// bigInt returns v, a number as a serializer delivers it, as an integer
// if it is one.
func bigInt(v any) (*big.Int, bool) {
	if n, ok := v.(json.Number); ok {
		return new(big.Int).SetString(n.String(), 10)
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return big.NewInt(rv.Int()), true
	case rv.CanUint():
		return new(big.Int).SetUint64(rv.Uint()), true
	case rv.CanFloat():
		f := rv.Float()
		if math.IsInf(f, 0) || f != math.Trunc(f) {
			return nil, false
		}
		i, _ := big.NewFloat(f).Int(nil)
		return i, true
	}
	return nil, false
}

// asFloat returns v, a number as a serializer delivers it, as a float64.
func asFloat(v any) (float64, bool) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		return f, err == nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return float64(rv.Int()), true
	case rv.CanUint():
		return float64(rv.Uint()), true
	case rv.CanFloat():
		return rv.Float(), true
	}
	return 0, false
}

// dictOf returns v as a JSON object, if it is one: the serializers
// deliver map[string]any, and wamp.Dict is the same.
func dictOf(v any) (map[string]any, bool) {
	switch d := v.(type) {
	case map[string]any:
		return d, true
	case wamp.Dict:
		return d, true
	}
	d := wamp.NormalizeDict(v) // a map of another type, with string keys
	return d, d != nil
}

// listOf returns v as a JSON array, if it is one.
func listOf(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case wamp.List:
		return l, true
	}
	return nil, false
}
