package wampfn

// Describing, at Register (stage 1, off the call path): the OpenRPC
// document of a set of procedures, made from their plans, and the options
// that add what reflection cannot see (descriptions, a title).

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gammazero/nexus/v3/wamp"
)

// OpenRPCVersion is the version of the OpenRPC specification that the
// documents follow.
const OpenRPCVersion = "1.3.2"

// Info is the info object of an OpenRPC document: what the procedures are
// together. An empty Title is the program's name (the base name of
// os.Args[0]); an empty Version is the main module's version from the
// build information, or "0.0.0" when it has none (under go run and go
// test).
type Info struct {
	Title       string
	Version     string
	Description string
}

func (i Info) object() map[string]any {
	o := map[string]any{"title": i.Title, "version": i.Version}
	if o["title"] == "" {
		o["title"] = filepath.Base(os.Args[0])
	}
	if o["version"] == "" {
		o["version"] = "0.0.0"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			o["version"] = bi.Main.Version
		}
	}
	if i.Description != "" {
		o["description"] = i.Description
	}
	return o
}

// procDoc is what a procedure's options say about it in the document.
type procDoc struct {
	summary, description string
	params               []string // one per argument parameter; nil without WithParamDescriptions
	result               string
}

// WithSummary sets the procedure's summary in the OpenRPC document: a
// short line on what it does. Repeating the option replaces it.
func WithSummary(s string) Option {
	return optionFunc(func(c *config) { c.doc.summary = s })
}

// WithDescription sets the procedure's description in the OpenRPC
// document (GitHub Flavored Markdown may be used). Repeating the option
// replaces it.
func WithDescription(s string) Option {
	return optionFunc(func(c *config) { c.doc.description = s })
}

// WithParamDescriptions describes the function's WAMP argument
// parameters in the OpenRPC document, in order, as WithParamNames names
// them ("" leaves one undescribed). Register fails unless there is exactly
// one per argument parameter. Repeating the option replaces the earlier
// descriptions.
func WithParamDescriptions(descriptions ...string) Option {
	descriptions = append([]string{}, descriptions...)
	return optionFunc(func(c *config) { c.doc.params = descriptions })
}

// WithResultDescription describes the procedure's result in the OpenRPC
// document. Repeating the option replaces it.
func WithResultDescription(s string) Option {
	return optionFunc(func(c *config) { c.doc.result = s })
}

// WithInfo sets the info object of the Service's OpenRPC document (see
// Info for the defaults). Repeating the option replaces it.
func WithInfo(info Info) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.info = info })
}

// WithDiscovery makes the Service register, on every connection, a
// procedure at uri that takes no arguments and returns the OpenRPC
// document of the procedures the Service serves (see Service.Describe),
// as one positional result, a dict. The discovery procedure itself is not
// in the document. Run fails at once for a uri that Register would
// refuse. Repeating the option replaces the uri; "" turns discovery off.
func WithDiscovery(uri string) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.discovery = uri })
}

// A Description is the OpenRPC document of procedures registered without
// a Service: add each with the arguments given to Register, then serve or
// write Document.
//
//	d := wampfn.NewDescription(wampfn.Info{Title: "shop"})
//	for uri, fn := range procs {
//		if err := wampfn.Register(c, uri, fn); err != nil { ... }
//		if err := d.Register(uri, fn); err != nil { ... }
//	}
//	err := wampfn.Register(c, "com.shop.describe", d.Document)
//
// The zero Description is empty, with the default Info. A Description is
// safe for concurrent use.
type Description struct {
	info  Info
	mu    sync.Mutex
	procs []*procedure
	doc   *document // of procs; nil until Document after each change
}

// NewDescription returns an empty Description with info.
func NewDescription(info Info) *Description {
	return &Description{info: info}
}

// Register analyses fn as Register does and adds procedure to d. It
// returns Register's errors for a function or a URI that Register
// refuses, and an error when d already has procedure.
func (d *Description) Register(procedure string, fn any, opts ...Option) error {
	p, err := planProcedure(procedure, fn, opts)
	if err != nil {
		return err
	}
	return d.add(p)
}

// RegisterMethods adds the procedures that RegisterMethods would register
// for the methods of recv to d: all of them or none.
func (d *Description) RegisterMethods(prefix string, recv any, opts ...Option) error {
	procs, err := methodProcedures(prefix, recv, opts)
	if err != nil {
		return err
	}
	return d.add(procs...)
}

func (d *Description) add(procs ...*procedure) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range procs {
		if slices.ContainsFunc(d.procs, func(q *procedure) bool { return q.name == p.name }) {
			return fmt.Errorf("wampfn: %s: the description already has this procedure", p.what())
		}
	}
	d.procs = append(d.procs, procs...)
	d.doc = nil // Document makes the new one
	return nil
}

// Document returns the OpenRPC document of d's procedures, a JSON object
// as a map: write it with encoding/json, or return it from a procedure. It
// is made once after each change of d; the same map is returned until
// then, and must not be modified.
func (d *Description) Document() map[string]any {
	d.mu.Lock()
	if d.doc == nil { // new, or changed since the last call
		d.doc = &document{info: d.info, procs: slices.Clone(d.procs)}
	}
	doc := d.doc
	d.mu.Unlock()
	return doc.get()
}

// A document is the OpenRPC document of a fixed set of procedures, made
// on first use.
type document struct {
	info  Info
	procs []*procedure
	once  sync.Once
	obj   map[string]any
}

func (d *document) get() map[string]any {
	d.once.Do(func() { d.obj = openRPC(d.info, d.procs) })
	return d.obj
}

// openRPC makes the OpenRPC document of procs.
func openRPC(info Info, procs []*procedure) map[string]any {
	doc, _ := buildDocument(info, procs)
	return doc
}

// buildDocument makes the OpenRPC document of procs, and says how many
// components its second pass met that the first did not (0, or a bug,
// which the tests check).
func buildDocument(info Info, procs []*procedure) (map[string]any, int) {
	procs = slices.Clone(procs)
	slices.SortFunc(procs, func(a, b *procedure) int { return strings.Compare(a.name, b.name) })
	g := newSchemaGen()
	for _, p := range procs {
		p.methodDoc(g) // collect the components
	}
	g.finishCollecting()
	methods := make([]any, len(procs))
	for i, p := range procs {
		methods[i] = p.methodDoc(g)
	}
	doc := map[string]any{"openrpc": OpenRPCVersion, "info": info.object(), "methods": methods}
	if len(g.components) > 0 {
		doc["components"] = map[string]any{"schemas": g.components}
	}
	return doc, g.late
}

// methodDoc is p's method object in the document that g makes schemas for.
func (p *procedure) methodDoc(g *schemaGen) map[string]any {
	m := map[string]any{"name": p.name, "params": p.paramsDoc(g), "result": p.resultDoc(g)}
	setText(m, "summary", p.doc.summary)
	setText(m, "description", p.doc.description)
	switch {
	case p.input.zero != nil:
		m["paramStructure"] = "by-name" // positional arguments carry the stream
	case p.byName != nil:
		m["paramStructure"] = "either"
	default:
		m["paramStructure"] = "by-position"
	}
	if match := matchOption(p.registerOpts); match != "" && match != wamp.MatchExact {
		m["x-wamp-match"] = match
	}
	// Progress comes from a ProgressSink, an iterator result, or both.
	var progress []any
	if p.sink.zero != nil {
		progress = append(progress, g.valueSchema(p.sink.zero.elemType(), dirOut))
	}
	if p.iter.kind != iterNone {
		elem, _, _ := seqType(p.fn.Type().Out(0))
		progress = append(progress, g.valueSchema(elem, dirOut))
	}
	switch len(progress) {
	case 1:
		m["x-wamp-progress"] = map[string]any{"name": "progress", "schema": progress[0]}
	case 2:
		m["x-wamp-progress"] = map[string]any{"name": "progress", "schema": map[string]any{"anyOf": progress}}
	}
	if p.input.zero != nil {
		m["x-wamp-input"] = map[string]any{"name": "input", "schema": g.valueSchema(p.input.zero.inputElem(), dirIn)}
	}
	return m
}

// paramsDoc is the content descriptors of p's argument parameters.
func (p *procedure) paramsDoc(g *schemaGen) []any {
	params := make([]any, len(p.args))
	for j, a := range p.args {
		name := a.name
		if name == "" {
			name = "arg" + strconv.Itoa(j)
		}
		t := a.typ
		if a.variadic {
			t = t.Elem()
		}
		cd := map[string]any{"name": name, "schema": g.schema(t, dirIn), "required": !a.optional && !a.variadic}
		if a.variadic {
			cd["x-wamp-variadic"] = true
		}
		if p.doc.params != nil {
			setText(cd, "description", p.doc.params[j])
		}
		params[j] = cd
	}
	return params
}

// resultDoc is the content descriptor of p's final result, as a caller
// gets it: the one positional result; null for none; the list of the
// positional results, for several (marked x-wamp-args); anything, for a
// Result; the list of an iterator's elements, or null for a caller that
// asked for progressive results, which gets them one by one.
func (p *procedure) resultDoc(g *schemaGen) map[string]any {
	cd := map[string]any{"name": "result"}
	t := p.fn.Type()
	switch {
	case p.resultIsArgs:
		cd["schema"] = map[string]any{}
	case p.iter.kind != iterNone:
		elem, _, _ := seqType(t.Out(0))
		cd["schema"] = map[string]any{"type": []any{"array", "null"}, "items": g.valueSchema(elem, dirOut)}
	case len(p.results) == 0:
		cd["schema"] = map[string]any{"type": "null"}
	case len(p.results) == 1:
		cd["schema"] = g.schema(t.Out(0), dirOut)
	default:
		items := make([]any, len(p.results))
		for i := range p.results {
			items[i] = g.schema(t.Out(i), dirOut)
		}
		cd["schema"] = map[string]any{"type": "array", "items": items, "minItems": len(items), "maxItems": len(items)}
		cd["x-wamp-args"] = true
	}
	setText(cd, "description", p.doc.result)
	return cd
}

// valueSchema is the schema of one value of t that goes as a message's
// only positional argument, or anything for a Result, which sets them.
func (g *schemaGen) valueSchema(t reflect.Type, dir schemaDir) map[string]any {
	if t == resultType {
		return map[string]any{}
	}
	return g.schema(t, dir)
}

func setText(m map[string]any, key, s string) {
	if s != "" {
		m[key] = s
	}
}
