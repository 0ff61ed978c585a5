package main

// gen: typed clients, in TypeScript for Autobahn|JS and in Python for
// Autobahn|Python, from a wampfn Service's OpenRPC document. This file
// reads the document and turns it into the model that gen_ts.go and
// gen_py.go write out.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gammazero/nexus/v3/wamp"
)

// genUsage is gen's usage text, shown by gen -h.
const genUsage = `gen ts|py [flags] (--discovery URI | --from FILE) [--prefix P] [-o FILE]

Writes a typed client of the procedures of a wampfn Service's OpenRPC
document: one TypeScript module for Autobahn|JS (gen ts), or one Python
module for Autobahn|Python, asyncio or Twisted (gen py). The document comes
from the Service's discovery procedure (--discovery, with the connection
flags) or from a file (--from, JSON: what Service.Describe returns).

Each procedure becomes a method of class Client, named by its URI after
the prefix: lowerCamelCase in TypeScript, snake_case in Python, with "."
and "_" as word breaks (com.example.shop.get_item: getItem, get_item).
Its positional parameters are typed as the document says, then come a
progress callback (only where the procedure sends progress) and a
timeout. Each named type of the document becomes a TypeScript interface
or a Python TypedDict. Procedures that take an input stream, and prefix
and wildcard registrations, are left out, with a comment that says so.

--prefix defaults to the longest prefix, ending in ".", of every URI.
Two procedures with one method name are an error that names both.

flags:`

// genTimeout is the default bound on the discovery call.
const genTimeout = 10 * time.Second

// A generator writes the module of one language from a genDoc.
type generator struct {
	lang string // the subcommand: ts or py
	// methodName and paramName turn a procedure's local name (its URI
	// after the prefix) and a parameter's name into the language's.
	methodName func(local string) (string, error)
	write      func(w io.Writer, d *genDoc) error
}

var generators = []generator{
	{lang: "ts", methodName: tsMethodName, write: writeTS},
	{lang: "py", methodName: pyMethodName, write: writePy},
}

func runGen(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintln(stderr, "wampfn: gen needs a language first: wampfn gen ts ... or wampfn gen py ...")
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, "usage: wampfn "+genUsage)
		fmt.Fprintln(stdout, "  (wampfn gen ts -h lists them)")
		return exitOK
	}
	i := slices.IndexFunc(generators, func(g generator) bool { return g.lang == args[0] })
	if i < 0 {
		fmt.Fprintf(stderr, "wampfn: gen: unknown language %q: want ts or py\n", args[0])
		return exitUsage
	}
	gen := generators[i]

	var cf connFlags
	fs := newFlagSet("gen "+gen.lang, env, &cf)
	discovery := fs.String("discovery", "", "the discovery procedure's `URI`")
	from := fs.String("from", "", "read the OpenRPC document from `FILE` (JSON) instead")
	prefix := fs.String("prefix", "", "the URI prefix that method names leave out (default: the longest common one ending in \".\")")
	out := fs.String("o", "", "write the module to `FILE` instead of stdout")
	timeout := fs.Duration("timeout", genTimeout, "bound on the discovery call")
	if code, ok := parse(fs, genUsage, args[1:], stdout, stderr); !ok {
		return code
	}
	switch {
	case (*discovery == "") == (*from == ""):
		fmt.Fprintln(stderr, "wampfn: gen: give one of --discovery URI and --from FILE")
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "wampfn: gen: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *timeout <= 0:
		fmt.Fprintf(stderr, "wampfn: gen: --timeout must be positive, got %v\n", *timeout)
		return exitUsage
	}

	var doc map[string]any
	var methods []map[string]any
	var source string
	if *from != "" {
		b, err := os.ReadFile(*from)
		if err != nil {
			fmt.Fprintf(stderr, "wampfn: gen: %v\n", err)
			return exitFailed
		}
		if doc, methods, err = parseDocument(b); err != nil {
			fmt.Fprintf(stderr, "wampfn: gen: %s: %v\n", *from, err)
			return exitFailed
		}
		source = *from
	} else {
		var code int
		if doc, methods, code = fetchDocument(ctx, &cf, *discovery, *timeout, "gen", stderr); doc == nil {
			return code
		}
		source = fmt.Sprintf("%s at %s, realm %s", *discovery, cf.url, cf.realm)
	}

	d, err := newGenDoc(doc, methods, *prefix, gen.methodName)
	if err != nil {
		fmt.Fprintf(stderr, "wampfn: gen %s: %v\n", gen.lang, err)
		return exitFailed
	}
	d.source = source
	var buf bytes.Buffer
	if err := gen.write(&buf, d); err != nil {
		fmt.Fprintf(stderr, "wampfn: gen %s: %v\n", gen.lang, err)
		return exitFailed
	}
	if *out == "" || *out == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			fmt.Fprintf(stderr, "wampfn: gen: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "wampfn: gen: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// parseDocument reads an OpenRPC document from JSON, numbers kept exact.
func parseDocument(b []byte) (map[string]any, []map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("more after the document, which ends at byte %d", end)
	}
	doc, methods, ok := openRPCDocument(&wamp.Result{Arguments: wamp.List{v}})
	if !ok {
		return nil, nil, errors.New("not an OpenRPC document (an object with openrpc and methods)")
	}
	return doc, methods, nil
}

// A genDoc is what a generator writes: the document's procedures as
// methods, and its named types.
type genDoc struct {
	source, title, version string
	prefix                 string
	methods                []*genMethod
	skipped                []genSkipped
	components             map[string]any // components.schemas
	componentNames         []string       // sorted
}

// A genMethod is one procedure of the document.
type genMethod struct {
	uri, name            string // name: the method's, in the generator's language
	summary, description string
	params               []genParam
	result               any // the result's schema; nil for none
	results              []any
	resultsAreArgs       bool // several positional results, results[i] the schema of each
	resultDescription    string
	progress             any // the schema of a progressive result; nil: no progress
}

// A genParam is one parameter of a procedure.
type genParam struct {
	name        string // as the document names it
	schema      any
	required    bool
	variadic    bool
	description string
}

// genSkipped is a procedure left out, and why.
type genSkipped struct{ uri, why string }

// newGenDoc turns the document's methods into genMethods named by
// methodName from their URI after prefix ("" for the longest common
// prefix ending in ".").
func newGenDoc(doc map[string]any, methods []map[string]any, prefix string, methodName func(string) (string, error)) (*genDoc, error) {
	info, _ := dictOf(doc["info"])
	d := &genDoc{components: componentSchemas(doc)}
	d.title, _ = wamp.AsString(info["title"])
	d.version, _ = wamp.AsString(info["version"])
	for name := range d.components {
		d.componentNames = append(d.componentNames, name)
	}
	slices.Sort(d.componentNames)

	var served []map[string]any
	for _, m := range methods {
		uri, _ := wamp.AsString(m["name"])
		switch {
		case m["x-wamp-input"] != nil:
			d.skipped = append(d.skipped, genSkipped{uri, "it takes an input stream (progressive call invocations), which neither Autobahn library sends"})
		case m["x-wamp-match"] != nil:
			match, _ := wamp.AsString(m["x-wamp-match"])
			d.skipped = append(d.skipped, genSkipped{uri, "it is a " + match + " registration: call the URIs it matches with session.call"})
		default:
			served = append(served, m)
		}
	}
	uris := make([]string, len(served))
	for i, m := range served {
		uris[i], _ = wamp.AsString(m["name"])
	}
	if prefix == "" {
		prefix = commonPrefix(uris)
	}
	d.prefix = prefix

	byName := map[string]string{} // method name → URI
	for i, m := range served {
		uri := uris[i]
		local, ok := strings.CutPrefix(uri, prefix)
		if !ok {
			return nil, fmt.Errorf("procedure %s does not start with --prefix %q", uri, prefix)
		}
		if local == "" {
			return nil, fmt.Errorf("procedure %s is the prefix %q itself: give a shorter --prefix", uri, prefix)
		}
		name, err := methodName(local)
		if err != nil {
			return nil, fmt.Errorf("procedure %s: %v", uri, err)
		}
		if other, ok := byName[name]; ok {
			return nil, fmt.Errorf("procedures %s and %s both make method %s: give a --prefix that keeps them apart, or rename one", other, uri, name)
		}
		byName[name] = uri
		gm, err := newGenMethod(uri, name, m)
		if err != nil {
			return nil, fmt.Errorf("procedure %s: %v", uri, err)
		}
		d.methods = append(d.methods, gm)
	}
	return d, nil
}

// newGenMethod reads method object m.
func newGenMethod(uri, name string, m map[string]any) (*genMethod, error) {
	gm := &genMethod{uri: uri, name: name}
	gm.summary, _ = wamp.AsString(m["summary"])
	gm.description, _ = wamp.AsString(m["description"])
	params, _ := listOf(m["params"])
	for i, x := range params {
		p, ok := dictOf(x)
		if !ok {
			return nil, fmt.Errorf("params[%d] is not an object", i)
		}
		gp := genParam{schema: p["schema"], required: p["required"] == true, variadic: p["x-wamp-variadic"] == true}
		gp.name, _ = wamp.AsString(p["name"])
		gp.description, _ = wamp.AsString(p["description"])
		if gp.name == "" {
			return nil, fmt.Errorf("params[%d] has no name", i)
		}
		if gp.variadic && i != len(params)-1 {
			return nil, fmt.Errorf("variadic parameter %s is not the last one", gp.name)
		}
		gm.params = append(gm.params, gp)
	}
	// Positional arguments: a required one after an optional one could
	// not be left out.
	for i := 1; i < len(gm.params); i++ {
		if gm.params[i].required && !gm.params[i-1].required {
			return nil, fmt.Errorf("required parameter %s follows optional parameter %s", gm.params[i].name, gm.params[i-1].name)
		}
	}
	if result, ok := dictOf(m["result"]); ok {
		gm.resultDescription, _ = wamp.AsString(result["description"])
		s := result["schema"]
		sd, _ := dictOf(s)
		items, isTuple := listOf(sd["items"])
		switch {
		case len(sd) == 1 && sd["type"] == "null":
			// none
		case result["x-wamp-args"] == true && isTuple:
			gm.resultsAreArgs = true
			gm.results = items
		default:
			gm.result = s
			if gm.result == nil {
				gm.result = true
			}
		}
	}
	if cd, ok := dictOf(m["x-wamp-progress"]); ok {
		gm.progress = cd["schema"]
		if gm.progress == nil {
			gm.progress = true
		}
	}
	return gm, nil
}

// commonPrefix is the longest prefix of every URI that ends in a dot, and
// leaves something of each; "" when there is none.
func commonPrefix(uris []string) string {
	if len(uris) == 0 {
		return ""
	}
	p := uris[0]
	for _, u := range uris[1:] {
		n := 0
		for n < len(p) && n < len(u) && p[n] == u[n] {
			n++
		}
		p = p[:n]
	}
	for {
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return ""
		}
		p = p[:i+1]
		if !slices.Contains(uris, p) {
			return p
		}
		p = p[:i] // a URI that is the prefix itself: shorten it
	}
}

// words splits a local name into words at "." and "_" and at any other
// character that cannot be in an identifier, and at a lower-case letter
// or digit followed by an upper-case one (getItem: get, Item).
func words(s string) []string {
	var ws []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			ws = append(ws, string(cur))
			cur = nil
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return ws
}

// checkIdentifier fails for a name that cannot be one: empty, or starting
// with a digit.
func checkIdentifier(local, name string) error {
	if name == "" || unicode.IsDigit([]rune(name)[0]) {
		return fmt.Errorf("%q makes no method name (%q): give a --prefix that leaves a name starting with a letter", local, name)
	}
	return nil
}

// identifier returns s with every character that cannot be in an
// identifier replaced by "_", and "_" in front of a leading digit.
func identifier(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) && r < unicode.MaxASCII:
			if i == 0 && unicode.IsDigit(r) {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// A namer hands out names that are unique and not reserved: a clash gets
// "_" appended until it is neither.
type namer struct{ taken map[string]bool }

func newNamer(reserved ...[]string) *namer {
	n := &namer{taken: map[string]bool{}}
	for _, list := range reserved {
		for _, s := range list {
			n.taken[s] = true
		}
	}
	return n
}

// param is the name of a parameter: its identifier, with "arg" in
// front of a leading "_", which the module's own helpers take.
func (n *namer) param(s string) string {
	id := identifier(s)
	if strings.HasPrefix(id, "_") {
		id = "arg" + id
	}
	return n.name(id)
}

func (n *namer) name(s string) string {
	for n.taken[s] {
		s += "_"
	}
	n.taken[s] = true
	return s
}

// hasProgress reports whether m sends progressive results.
func (m *genMethod) hasProgress() bool { return m.progress != nil }

// goType is the readable Go-like type of schema s that wampfn describe
// prints (describeUsage): int8, []uint16, map[string]*Owner...
func (d *genDoc) goType(s any) string {
	return (&sigWriter{components: d.components, used: map[string]bool{}}).typeOf(s)
}

// schemaTypes returns the JSON types that s allows: type, a string or a
// list.
func schemaTypes(s map[string]any) []string {
	if t, ok := s["type"].(string); ok {
		return []string{t}
	}
	var types []string
	list, _ := listOf(s["type"])
	for _, x := range list {
		if t, ok := x.(string); ok {
			types = append(types, t)
		}
	}
	return types
}

// refName is the component that s refers to, if it is a $ref.
func refName(s map[string]any) (string, bool) {
	ref, ok := wamp.AsString(s["$ref"])
	if !ok {
		return "", false
	}
	return ref[strings.LastIndexByte(ref, '/')+1:], true
}

// properties returns the keys of an object schema's properties in sorted
// order, leaving out those whose schema is false (keys the decoder
// refuses).
func properties(s map[string]any) (keys []string, props map[string]any) {
	props, _ = dictOf(s["properties"])
	for k, v := range props {
		if v != false {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, props
}

// bytesIn tells, for each component, whether a []byte is anywhere in
// it, and answers the same for any schema of the document.
type bytesIn struct {
	d     *genDoc
	comps map[string]bool
}

func newBytesIn(d *genDoc) *bytesIn {
	b := &bytesIn{d: d, comps: map[string]bool{}}
	for changed := true; changed; { // to a fixed point: components refer to each other
		changed = false
		for _, name := range d.componentNames {
			if !b.comps[name] && b.schema(d.components[name]) {
				b.comps[name] = true
				changed = true
			}
		}
	}
	return b
}

// schema reports whether s has a []byte in it, taking the components
// found so far.
func (b *bytesIn) schema(x any) bool {
	s, ok := dictOf(x)
	if !ok {
		return false
	}
	if name, ok := refName(s); ok {
		return b.comps[name]
	}
	if s["x-wamp-binary"] == true {
		return true
	}
	if alts, ok := listOf(s["anyOf"]); ok && slices.ContainsFunc(alts, b.schema) {
		return true
	}
	if items, ok := listOf(s["items"]); ok {
		if slices.ContainsFunc(items, b.schema) {
			return true
		}
	} else if b.schema(s["items"]) {
		return true
	}
	if b.schema(s["additionalProperties"]) {
		return true
	}
	props, _ := dictOf(s["properties"])
	for _, p := range props {
		if b.schema(p) {
			return true
		}
	}
	return false
}

// A typeNames names the types of one language, for schemaType.
type typeNames interface {
	anyType() string   // true, {} or what no type fits
	neverType() string // false
	nullType() string
	refType(component string) (string, bool)
	// kindType is the type of schema s of JSON type t ("null" included).
	kindType(t string, s map[string]any) string
}

// schemaType is the type of schema x in the language of names: an
// alternative of anyOf, or of a list of JSON types, is a union "A | B".
func schemaType(names typeNames, x any) string {
	if v, ok := x.(bool); ok {
		if v {
			return names.anyType()
		}
		return names.neverType()
	}
	s, ok := dictOf(x)
	if !ok || len(s) == 0 {
		return names.anyType()
	}
	if name, ok := refName(s); ok {
		if t, ok := names.refType(name); ok {
			return t
		}
		return names.anyType()
	}
	var types []string
	if alts, ok := listOf(s["anyOf"]); ok {
		rest, nullable := nonNull(alts)
		for _, a := range rest {
			types = appendUnique(types, schemaType(names, a))
		}
		if nullable {
			types = appendUnique(types, names.nullType())
		}
	} else {
		for _, t := range schemaTypes(s) {
			types = appendUnique(types, names.kindType(t, s))
		}
	}
	if len(types) == 0 {
		return names.anyType()
	}
	return strings.Join(types, " | ")
}

// nonNull splits the alternatives of an anyOf into those that are not
// {"type": "null"}, and whether one is.
func nonNull(alts []any) (rest []any, nullable bool) {
	for _, a := range alts {
		if as, _ := dictOf(a); len(as) == 1 && as["type"] == "null" {
			nullable = true
		} else {
			rest = append(rest, a)
		}
	}
	return rest, nullable
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// intTypeWord finds Go integer type names in a readable type.
var intTypeWord = regexp.MustCompile(`\bu?int(8|16|32|64)\b`)

// informativeType finds what a readable Go type says that the
// TypeScript and Python types do not: integer types, float32, times and
// fixed-size arrays.
var (
	timeWord        = regexp.MustCompile(`\btime\b`)
	informativeType = regexp.MustCompile(`\bu?int(8|16|32|64)\b|\binteger\b|\bfloat32\b|\btime\b|\[[0-9]+\]`)
)

// goDoc describes a readable Go type for a doc comment: "Go type
// map[string][]int8; int8: an integer in [-128, 127]"; "" when the
// type says nothing that the generated type does not. jsNumbers adds
// the note on integers that a JavaScript number cannot hold.
func goDoc(goType string, jsNumbers bool) string {
	if !informativeType.MatchString(goType) {
		return ""
	}
	doc := "Go type " + goType + ";"
	switch bare := strings.TrimPrefix(goType, "*"); {
	case bare == "time":
		return "an RFC 3339 date-time"
	case intTypeWord.FindString(bare) == bare:
		doc = "" // "int8: an integer in ..." says it
	}
	seen := map[string]bool{}
	for _, m := range intTypeWord.FindAllString(goType, -1) {
		if seen[m] {
			continue
		}
		seen[m] = true
		for _, t := range integerTypes {
			if t.name == m {
				doc += fmt.Sprintf(" %s: an integer in [%s, %s];", m, t.lo, t.hi)
			}
		}
	}
	if timeWord.MatchString(goType) {
		doc += " time: an RFC 3339 date-time;"
	}
	if jsNumbers {
		doc += precisionNote(goType)
	}
	return strings.TrimSpace(strings.TrimSuffix(doc, ";"))
}

// precisionNote is the note on a type that holds integers a JavaScript
// number cannot all hold exactly, or "".
func precisionNote(goType string) string {
	for _, t := range []string{"int64", "uint64", "integer"} {
		if strings.Contains(goType, t) {
			return " beyond ±2^53 a number loses precision"
		}
	}
	return ""
}

// resultDoc is the doc of m's result type (goDoc of each of several),
// or "".
func (d *genDoc) resultDoc(m *genMethod, jsNumbers bool) string {
	if !m.resultsAreArgs {
		if m.result == nil {
			return ""
		}
		return goDoc(d.goType(m.result), jsNumbers)
	}
	var parts []string
	for i, r := range m.results {
		if doc := goDoc(d.goType(r), jsNumbers); doc != "" {
			parts = append(parts, fmt.Sprintf("[%d] %s", i, doc))
		}
	}
	return strings.Join(parts, "; ")
}

// nonEmpty returns the texts that are not "".
func nonEmpty(texts ...string) []string {
	return slices.DeleteFunc(texts, func(s string) bool { return s == "" })
}

// docLines returns the non-empty texts, each split into lines.
func docLines(texts ...string) []string {
	var lines []string
	for _, t := range texts {
		if t == "" {
			continue
		}
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		for l := range strings.Lines(t) {
			lines = append(lines, strings.TrimRight(l, " \t\r\n"))
		}
	}
	return lines
}
