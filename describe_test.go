package wampfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// The expected documents below are written out by hand from the mapping
// rules (docs/discovery.md), not copied from the code's output.

const (
	intSchema   = `{"type": "integer", "minimum": -9223372036854775808, "maximum": 9223372036854775807}`
	int8Schema  = `{"type": "integer", "minimum": -128, "maximum": 127}`
	int16Schema = `{"type": "integer", "minimum": -32768, "maximum": 32767}`
	uint8Schema = `{"type": "integer", "minimum": 0, "maximum": 255}`
)

// longopDocFile holds the document of Autobahn's longop, written out by
// hand; docs/discovery.md shows it, and examples/longop serves it.
const longopDocFile = "testdata/openrpc/longop.json"

func longopFunc(ctx context.Context, n int, sink ProgressSink[int]) (int, error) { return n, nil }

func TestDescribeLongop(t *testing.T) {
	d := NewDescription(Info{Title: "longop", Version: "1.0.0"})
	require.NoError(t, d.Register("com.myapp.longop", longopFunc, WithParamNames("n"),
		WithSummary("Counts to n, one progressive result a second."), WithParamDescriptions("how many progressive results")))
	want, err := os.ReadFile(longopDocFile)
	require.NoError(t, err)
	require.JSONEq(t, string(want), docJSON(t, d.Document()))
	require.NoError(t, validateOpenRPC(t, d.Document()))

	// docs/discovery.md shows this very document.
	md, err := os.ReadFile("docs/discovery.md")
	require.NoError(t, err)
	require.Contains(t, normalizeJSONBlocks(t, string(md)), normalizeJSON(t, string(want)), "docs/discovery.md does not show longop's document")
}

// validateOpenRPC validates doc against OpenRPC's meta-schema 1.14.9
// (testdata/openrpc), draft-07, as @open-rpc/schema-utils-js does.
func validateOpenRPC(t *testing.T, doc map[string]any) error {
	t.Helper()
	sch, err := openRPCMetaSchema()
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(docJSON(t, doc)))
	require.NoError(t, err)
	return sch.Validate(inst)
}

// openRPCMetaSchema compiles the meta-schema once, for every document.
var openRPCMetaSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	// The OpenRPC meta-schema refers to the JSON Schema one both with and
	// without a trailing slash; each is draft-07 in a meta-schema of its
	// own, which schema-utils-js drops too.
	for url, file := range map[string]string{
		"https://meta.open-rpc.org/":      "testdata/openrpc/meta-schema-1.14.9.json",
		"https://meta.json-schema.tools":  "testdata/openrpc/json-schema-tools-meta-schema-1.8.0.json",
		"https://meta.json-schema.tools/": "testdata/openrpc/json-schema-tools-meta-schema-1.8.0.json",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		delete(s.(map[string]any), "$schema")
		delete(s.(map[string]any), "$id")
		if err := c.AddResource(url, s); err != nil {
			return nil, err
		}
	}
	return c.Compile("https://meta.open-rpc.org/")
})

func TestValidateOpenRPCRefuses(t *testing.T) {
	// The validator is live: documents that break the meta-schema fail.
	for _, bad := range []string{
		`{"openrpc": "1.3.2", "info": {"title": "t", "version": "1"}, "methods": [], "extra": 1}`,
		`{"openrpc": "1.3.2", "info": {"title": "t"}, "methods": []}`,
		`{"openrpc": "1.3.2", "info": {"title": "t", "version": "1"}, "methods": [{"name": "m", "params": [{"name": "a"}]}]}`,
		`{"openrpc": "1.3.2", "info": {"title": "t", "version": "1"}, "methods": [{"name": "m", "params": [], "bogus": true}]}`,
		`{"openrpc": "1.3.2", "info": {"title": "t", "version": "1"}, "methods": [{"name": "m", "params": [{"name": "a", "schema": {"type": "integr"}}]}]}`,
	} {
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(bad), &doc))
		require.Error(t, validateOpenRPC(t, doc), bad)
	}
}

// docOf returns d's document, made as Document makes it, after checking
// that it is valid OpenRPC and that the schemas' second pass met no
// component that the first did not.
func docOf(t *testing.T, d *Description) map[string]any {
	t.Helper()
	doc, late := buildDocument(d.info, d.procs)
	require.Zero(t, late, "components first met in the second pass")
	require.NoError(t, validateOpenRPC(t, doc))
	return doc
}

func docJSON(t *testing.T, doc map[string]any) string {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}

// method returns the method named name of doc, as JSON.
func method(t *testing.T, doc map[string]any, name string) string {
	t.Helper()
	for _, m := range doc["methods"].([]any) {
		if m.(map[string]any)["name"] == name {
			b, err := json.Marshal(m)
			require.NoError(t, err)
			return string(b)
		}
	}
	t.Fatalf("no method %s in the document", name)
	return ""
}

// TestDescribeSignatures: every rule of the README's signature section,
// one method each.
func TestDescribeSignatures(t *testing.T) {
	type proc struct {
		uri  string
		fn   any
		opts []Option
		want string
	}
	procs := []proc{
		{"t.none", func() {}, nil,
			`{"name": "t.none", "paramStructure": "by-position", "params": [], "result": {"name": "result", "schema": {"type": "null"}}}`},
		{"t.passed", func(ctx context.Context, d Details, n int8) error { return nil }, nil,
			`{"name": "t.passed", "paramStructure": "by-position", "params": [{"name": "arg0", "required": true, "schema": ` + int8Schema + `}],
			  "result": {"name": "result", "schema": {"type": "null"}}}`},
		{"t.optional", func(a int16, b *string, c *bool) string { return "" }, nil,
			`{"name": "t.optional", "paramStructure": "by-position", "params": [
			    {"name": "arg0", "required": true, "schema": ` + int16Schema + `},
			    {"name": "arg1", "required": false, "schema": {"type": ["string", "null"]}},
			    {"name": "arg2", "required": false, "schema": {"type": ["boolean", "null"]}}],
			  "result": {"name": "result", "schema": {"type": "string"}}}`},
		{"t.notlast", func(a *float64, b uint8) {}, nil,
			`{"name": "t.notlast", "paramStructure": "by-position", "params": [
			    {"name": "arg0", "required": true, "schema": {"type": ["number", "null"]}},
			    {"name": "arg1", "required": true, "schema": ` + uint8Schema + `}],
			  "result": {"name": "result", "schema": {"type": "null"}}}`},
		{"t.variadic", func(sep string, parts ...uint8) {}, []Option{WithParamNames("sep", "parts"), WithParamDescriptions("", "the parts")},
			`{"name": "t.variadic", "paramStructure": "either", "params": [
			    {"name": "sep", "required": true, "schema": {"type": "string"}},
			    {"name": "parts", "description": "the parts", "required": false, "x-wamp-variadic": true, "schema": ` + uint8Schema + `}],
			  "result": {"name": "result", "schema": {"type": "null"}}}`},
		{"t.several", func() (int8, []string, error) { return 0, nil, nil }, []Option{WithResultDescription("a pair")},
			`{"name": "t.several", "paramStructure": "by-position", "params": [],
			  "result": {"name": "result", "description": "a pair", "x-wamp-args": true, "schema": {"type": "array", "minItems": 2, "maxItems": 2,
			    "items": [` + int8Schema + `, {"type": ["array", "null"], "items": {"type": "string"}}]}}}`},
		{"t.result", func() (Result, error) { return Result{}, nil }, nil,
			`{"name": "t.result", "paramStructure": "by-position", "params": [], "result": {"name": "result", "schema": {}}}`},
		{"t.seq", func() iter.Seq[int16] { return nil }, nil,
			`{"name": "t.seq", "paramStructure": "by-position", "params": [],
			  "result": {"name": "result", "schema": {"type": ["array", "null"], "items": ` + int16Schema + `}},
			  "x-wamp-progress": {"name": "progress", "schema": ` + int16Schema + `}}`},
		{"t.seq2", func(ctx context.Context) (iter.Seq2[bool, error], error) { return nil, nil }, nil,
			`{"name": "t.seq2", "paramStructure": "by-position", "params": [],
			  "result": {"name": "result", "schema": {"type": ["array", "null"], "items": {"type": "boolean"}}},
			  "x-wamp-progress": {"name": "progress", "schema": {"type": "boolean"}}}`},
		{"t.sinkresult", func(s ProgressSink[Result]) {}, nil,
			`{"name": "t.sinkresult", "paramStructure": "by-position", "params": [],
			  "result": {"name": "result", "schema": {"type": "null"}}, "x-wamp-progress": {"name": "progress", "schema": {}}}`},
		{"t.input", func(ctx context.Context, scale float32, in InputStream[[]byte]) (float64, error) { return 0, nil }, []Option{WithParamNames("scale")},
			`{"name": "t.input", "paramStructure": "by-name", "params": [
			    {"name": "scale", "required": true, "schema": {"type": "number", "exclusiveMinimum": -3.4028235677973366e38, "exclusiveMaximum": 3.4028235677973366e38}}],
			  "result": {"name": "result", "schema": {"type": "number"}},
			  "x-wamp-input": {"name": "input", "schema": {"type": ["string", "null"], "contentEncoding": "base64", "x-wamp-binary": true,
			    "pattern": "^\u0000?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}}}`},
		{"t.both", func(s ProgressSink[string]) iter.Seq[int8] { return nil }, nil,
			`{"name": "t.both", "paramStructure": "by-position", "params": [],
			  "result": {"name": "result", "schema": {"type": ["array", "null"], "items": ` + int8Schema + `}},
			  "x-wamp-progress": {"name": "progress", "schema": {"anyOf": [{"type": "string"}, ` + int8Schema + `]}}}`},
		{"t.prefix.", func(d Details) {}, []Option{WithRegisterOptions(wamp.Dict{"match": "prefix"}), WithSummary("s"), WithDescription("d")},
			`{"name": "t.prefix.", "summary": "s", "description": "d", "x-wamp-match": "prefix", "paramStructure": "by-position", "params": [],
			  "result": {"name": "result", "schema": {"type": "null"}}}`},
		{"t.values", func(m map[string]any, a [2]time.Time, e any) (*time.Time, error) { return nil, nil }, nil,
			`{"name": "t.values", "paramStructure": "by-position", "params": [
			    {"name": "arg0", "required": true, "schema": {"type": ["object", "null"], "additionalProperties": {}}},
			    {"name": "arg1", "required": true, "schema": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string", "format": "date-time", "pattern": "` + timePattern + `"}}},
			    {"name": "arg2", "required": true, "schema": {}}],
			  "result": {"name": "result", "schema": {"type": ["string", "null"], "format": "date-time", "pattern": "` + timePattern + `"}}}`},
	}
	d := NewDescription(Info{Title: "t", Version: "1"})
	for i := len(procs) - 1; i >= 0; i-- { // backwards: the document sorts them
		require.NoError(t, d.Register(procs[i].uri, procs[i].fn, procs[i].opts...), procs[i].uri)
	}
	doc := docOf(t, d)
	require.Equal(t, docJSON(t, doc), docJSON(t, d.Document()))
	var names []string
	for _, m := range doc["methods"].([]any) {
		names = append(names, m.(map[string]any)["name"].(string))
	}
	require.True(t, slices.IsSorted(names), "methods sorted by name: %v", names)
	require.Len(t, names, len(procs))
	require.NotContains(t, doc, "components", "no named struct, no components")
	for _, p := range procs {
		require.JSONEq(t, p.want, method(t, doc, p.uri), p.uri)
	}
}

type (
	// Userinfo shares its name with net/url's.
	Userinfo struct {
		Name string `json:"name"`
	}
	sPage[T any] struct {
		Items []T `json:"items"`
	}
	// sWrap has a field with a text form going out only: its schema
	// differs by direction, and it gets a component each way.
	sWrap struct {
		T sTextOut `json:"t"`
	}
)

func TestDescribeComponents(t *testing.T) {
	d := NewDescription(Info{})
	require.NoError(t, d.Register("t.users", func(a Userinfo, b url.Userinfo) {}))
	require.NoError(t, d.Register("t.pages", func(a sPage[int8], b sPage[string]) {}))
	type local struct{ A int8 }
	require.NoError(t, d.Register("t.local1", func(l local) {}))
	{
		type local struct{ B int8 }
		require.NoError(t, d.Register("t.local2", func(l local) {}))
	}
	require.NoError(t, d.Register("t.tree", func(n sNode, tr sTree) (sNode, error) { return n, nil }))
	require.NoError(t, d.Register("t.wrap", func(w sWrap) (sWrap, error) { return w, nil }))
	require.NoError(t, d.Register("t.ptree", func(pt pTree) (pTree, error) { return pt, nil }))
	doc := docOf(t, d)

	ref := func(name string) string { return `{"$ref": "#/components/schemas/` + name + `"}` }
	param := func(i int, schema string) string {
		return `{"name": "arg` + string(rune('0'+i)) + `", "required": true, "schema": ` + schema + `}`
	}
	require.JSONEq(t, `{"name": "t.users", "paramStructure": "by-position", "params": [`+
		param(0, ref("github.com.wampfn.wampfn.Userinfo"))+`, `+param(1, ref("net.url.Userinfo"))+`],
		"result": {"name": "result", "schema": {"type": "null"}}}`, method(t, doc, "t.users"))
	require.JSONEq(t, `{"name": "t.pages", "paramStructure": "by-position", "params": [`+
		param(0, ref("sPage_int8_"))+`, `+param(1, ref("sPage_string_"))+`],
		"result": {"name": "result", "schema": {"type": "null"}}}`, method(t, doc, "t.pages"))
	require.JSONEq(t, `{"name": "t.wrap", "paramStructure": "by-position", "params": [`+param(0, ref("sWrap_in"))+`],
		"result": {"name": "result", "schema": `+ref("sWrap_out")+`}}`, method(t, doc, "t.wrap"))
	l1, l2 := method(t, doc, "t.local1"), method(t, doc, "t.local2")
	// Two types of one package with one name (declared in functions):
	// numbered.
	require.Contains(t, l1, `"$ref":"#/components/schemas/github.com.wampfn.wampfn.local"`)
	require.Contains(t, l2, `"$ref":"#/components/schemas/github.com.wampfn.wampfn.local_2"`)

	schemas, err := json.Marshal(doc["components"].(map[string]any)["schemas"])
	require.NoError(t, err)
	require.JSONEq(t, `{
		"github.com.wampfn.wampfn.Userinfo": {"type": "object", "properties": {"name": {"type": "string"}}},
		"net.url.Userinfo": {"type": "object", "properties": {}},
		"sPage_int8_": {"type": "object", "properties": {"items": {"type": ["array", "null"], "items": `+int8Schema+`}}},
		"sPage_string_": {"type": "object", "properties": {"items": {"type": ["array", "null"], "items": {"type": "string"}}}},
		"github.com.wampfn.wampfn.local": {"type": "object", "properties": {"A": `+int8Schema+`}},
		"github.com.wampfn.wampfn.local_2": {"type": "object", "properties": {"B": `+int8Schema+`}},
		"sNode": {"type": "object", "properties": {"id": `+uint8Schema+`, "kids": {"type": ["array", "null"], "items": `+ref("sNode")+`}}},
		"sTree": {"type": ["array", "null"], "items": `+ref("sTree")+`},
		"sWrap_in": {"type": "object", "properties": {"t": {"type": "object", "properties": {"X": `+intSchema+`}}}},
		"sWrap_out": {"type": "object", "properties": {"t": {"type": "string"}}},
		"pTree_in": {"type": ["array", "null"], "items": {"type": ["object", "null"], "properties": {"S": `+ref("pS_in")+`, "Kids": `+ref("pTree_in")+`}}},
		"pTree_out": {"type": ["array", "null"], "items": {"type": ["object", "null"], "properties": {"S": `+ref("pS_out")+`, "Kids": `+ref("pTree_out")+`}}},
		"pS_in": {"type": "object", "properties": {"T": {"type": "object", "properties": {"X": `+intSchema+`}}}},
		"pS_out": {"type": "object", "properties": {"T": {"type": "string"}}}
	}`, string(schemas))
}

func TestDescribeErrors(t *testing.T) {
	d := NewDescription(Info{})
	err := d.Register("t.x", func(a, b int) {}, WithParamDescriptions("only one"))
	require.ErrorIs(t, err, ErrSignature)
	require.ErrorContains(t, err, "register t.x: WithParamDescriptions has 1 descriptions for 2 argument parameters")
	require.NoError(t, d.Register("t.x", func(a, b int) {}))
	require.ErrorContains(t, d.Register("t.x", func() {}), "register t.x: the description already has this procedure")
	require.ErrorIs(t, d.Register("wamp.x", func() {}), ErrInvalidURI)
	require.ErrorIs(t, d.Register("t.y", func(chan int) {}), ErrSignature)
	require.Len(t, d.Document()["methods"], 1, "a refused procedure is not added")

	// RegisterMethods adds all or none.
	require.Error(t, d.RegisterMethods("t.", methodsWithBadOne{}))
	require.Len(t, d.Document()["methods"], 1)

	// A discovery URI that no router takes fails Run at once.
	s := NewService(func(context.Context) (*client.Client, error) { return nil, errors.New("not dialled") }, WithDiscovery("bad uri"))
	err = s.Run(context.Background())
	require.ErrorIs(t, err, ErrInvalidURI)
	require.ErrorContains(t, err, `WithDiscovery("bad uri")`)
}

// The document is made once per change of the procedures, never per
// call.
func TestDescribeCached(t *testing.T) {
	s := NewService(nil)
	first := s.Describe()
	require.Empty(t, first["methods"])
	require.Equal(t, reflect.ValueOf(first).Pointer(), reflect.ValueOf(s.Describe()).Pointer(), "made again without a change")
	require.NoError(t, s.Register("t.a", func() {}))
	second := s.Describe()
	require.NotEqual(t, reflect.ValueOf(first).Pointer(), reflect.ValueOf(second).Pointer())
	require.Len(t, second["methods"], 1)
	require.NoError(t, s.Unregister("t.a"))
	require.Empty(t, s.Describe()["methods"])

	d := NewDescription(Info{})
	doc := d.Document()
	require.Equal(t, reflect.ValueOf(doc).Pointer(), reflect.ValueOf(d.Document()).Pointer())

	var zero Description // usable as it is
	require.Empty(t, zero.Document()["methods"])
	require.NoError(t, zero.Register("t.a", func() {}))
	require.Len(t, zero.Document()["methods"], 1)
}

// TestServiceDiscovery: the discovery procedure serves the Service's
// document on every transport, follows Register and Unregister while Run
// serves, is not in its own document, and takes the Service's procedure
// options: two Services share their registrations, discovery's too.
func TestServiceDiscovery(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	shared := WithProcedureOptions(WithRegisterOptions(wamp.Dict{"invoke": "roundrobin"}))
	refused := WithErrorHandler(func(err error) { t.Errorf("a Service reported: %v", err) })
	s1 := NewService(r.Dialer(wampfntest.InProcess), WithDiscovery("t.describe"), shared, refused, WithInfo(Info{Title: "one", Version: "1"}))
	s2 := NewService(r.Dialer(wampfntest.InProcess), WithDiscovery("t.describe"), shared, refused, WithInfo(Info{Title: "two", Version: "1"}))
	for _, s := range []*Service{s1, s2} {
		require.NoError(t, s.Register("t.longop", longopFunc, WithParamNames("n")))
		runService(t, s)
	}
	c := r.Connect(t, wampfntest.JSON)
	callUntil(t, c, "t.describe", nil, 10*time.Second)

	require.NoError(t, validateOpenRPC(t, s1.Describe()))
	want := docJSON(t, s1.Describe())
	require.Contains(t, want, `"name":"t.longop"`)
	require.NotContains(t, want, "t.describe")
	wants := map[string]string{"one": want, "two": docJSON(t, s2.Describe())}
	for _, tr := range wampfntest.Transports {
		c := r.Connect(t, tr)
		seen := map[string]bool{}
		for range 2 { // both Services answer, in turn: both registered discovery, shared
			res, err := c.Call(t.Context(), "t.describe", nil, nil, nil, nil)
			require.NoError(t, err, tr.String())
			require.Len(t, res.Arguments, 1)
			doc, ok := wamp.AsDict(res.Arguments[0])
			require.True(t, ok, "%T", res.Arguments[0])
			info, _ := wamp.AsDict(doc["info"])
			title, _ := info["title"].(string)
			seen[title] = true
			require.JSONEq(t, wants[title], docJSON(t, doc), tr.String())
		}
		require.Len(t, seen, 2, "%s: both Services answered", tr)
	}

	require.NoError(t, s1.Register("t.added", func(s string) string { return s }))
	require.Eventually(t, func() bool {
		res, err := c.Call(t.Context(), "t.describe", nil, nil, nil, nil)
		if err != nil {
			return false
		}
		doc, _ := wamp.AsDict(res.Arguments[0])
		return strings.Contains(docJSON(t, doc), "t.added")
	}, 5*time.Second, 10*time.Millisecond, "s1's document has t.added")
	require.NoError(t, s1.Unregister("t.added"))
	require.JSONEq(t, want, docJSON(t, s1.Describe()))
}

// methodsWithBadOne has a method that cannot be served.
type methodsWithBadOne struct{}

func (methodsWithBadOne) Good()        {}
func (methodsWithBadOne) Bad(chan int) {}

// normalizeJSON returns the JSON text s with its keys sorted and no
// spaces.
func normalizeJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "%s", s)
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// normalizeJSONBlocks returns the ```json blocks of markdown md,
// normalized, one per line.
func normalizeJSONBlocks(t *testing.T, md string) string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(md, -1) {
		out = append(out, normalizeJSON(t, m[1]))
	}
	return strings.Join(out, "\n")
}
