package wampfn

// Describing, at Register (stage 1, off the call path): the JSON Schema of
// a Go type, as a JSON caller sends a value of it (an argument, an input
// chunk) or receives one (a result, a progressive result). The schemas
// follow the decoders' and encoders' rules, type kind by type kind, so
// that a value that validates is one that wampfn accepts, and a value that
// wampfn sends validates (docs/discovery.md lists the exceptions).

import (
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A schemaDir says which way a value goes: into Go (an argument, an input
// chunk: what the decoders take) or out of Go (a result, a progressive
// result: what the encoders send).
type schemaDir uint8

const (
	dirIn schemaDir = iota + 1
	dirOut
	dirBoth // a component whose schema is the same both ways
)

// componentsPrefix is where a $ref points: the document's shared schemas.
const componentsPrefix = "#/components/schemas/"

// base64Pattern matches what the decoder of a []byte takes from a
// string: standard base64 with padding, after the NUL that marks binary
// data in WAMP's JSON convention, which nexus's JSON serializer writes.
const base64Pattern = "^\x00?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

var timeType = reflect.TypeFor[time.Time]()

// timePattern narrows the format date-time (RFC 3339) to what
// time.Time's UnmarshalText parses: an upper-case T and Z, no leap
// second.
const timePattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.,][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"

// float32Beyond is the least number that rounds to a float32 infinity,
// 2^128 - 2^103, half an ulp past math.MaxFloat32.
const float32Beyond = 340282356779733661637539395458142568448.0

// A schemaKey is one component: a type, one way or both.
type schemaKey struct {
	t   reflect.Type
	dir schemaDir
}

// schemaGen makes the schemas of one document. It runs twice over the
// document's types: first to collect the types that become components
// (named structs, and named types that refer to themselves) and name them
// uniquely, then to make the schemas, with $refs to the components.
type schemaGen struct {
	collecting bool
	keys       []schemaKey           // the components, in the order first met (collecting)
	building   map[reflect.Type]bool // the named types being walked, but components (see schema)
	recursive  map[reflect.Type]bool // named non-struct types that refer to themselves
	asym       map[reflect.Type]bool // asymmetric's memo
	names      map[schemaKey]string  // the components' names
	components map[string]any        // the components' schemas, by name

	late int // components first met after collecting; 0 (tests check it)

	// For naming (see nameComponents).
	byName map[string]map[reflect.Type]bool // the types of each short name
	dirs   map[reflect.Type]int             // how many components each type has
	taken  map[string]bool
}

func newSchemaGen() *schemaGen {
	return &schemaGen{
		collecting: true,
		building:   map[reflect.Type]bool{},
		recursive:  map[reflect.Type]bool{},
		asym:       map[reflect.Type]bool{},
		names:      map[schemaKey]string{},
	}
}

// finishCollecting names the components collected so far and makes g
// generate schemas from then on.
func (g *schemaGen) finishCollecting() {
	g.collecting = false
	g.components = map[string]any{}
	g.nameComponents()
	g.building = map[reflect.Type]bool{}
}

// alwaysComponent reports whether t's schema is always a component of
// its own: t is a named struct without a text form. Other named types are
// components only when they refer to themselves (see schema).
func alwaysComponent(t reflect.Type) bool {
	return t.Name() != "" && t.Kind() == reflect.Struct && !outText(t) && !inText(t)
}

// outText reports whether the encoder sends a t as text (MarshalText, or
// an error's message); inText whether the decoder takes a t from text
// (UnmarshalText).
func outText(t reflect.Type) bool {
	return t.Kind() != reflect.Interface && (t.Implements(textMarshalerType) || t.Implements(errorType))
}

func inText(t reflect.Type) bool {
	return t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// schema returns the schema of a value of t going way dir.
func (g *schemaGen) schema(t reflect.Type, dir schemaDir) map[string]any {
	switch {
	case t.Name() == "":
		return g.body(t, dir) // only a named type can refer to itself
	case alwaysComponent(t) || g.recursive[t]:
		return g.ref(t, dir)
	case g.building[t]:
		g.recursive[t] = true
		return g.ref(t, dir)
	}
	g.building[t] = true
	s := g.body(t, dir)
	delete(g.building, t)
	if !g.recursive[t] {
		return s
	}
	return g.ref(t, dir)
}

// ref returns the $ref to the component of t going way dir, making the
// component when it is new. A component's schema is made with an empty
// stack of named types being walked, so that whether a named type refers
// to itself does not depend on where it was met.
func (g *schemaGen) ref(t reflect.Type, dir schemaDir) map[string]any {
	k := schemaKey{t, dir}
	if !g.asymmetric(t) {
		k.dir = dirBoth
	}
	name, known := g.names[k]
	if !known {
		g.keys = append(g.keys, k)
		if !g.collecting {
			g.late++ // not met while collecting: a bug, but named all the same
			name = g.nameOf(k)
		}
		g.names[k] = name
	}
	if g.collecting {
		if !known {
			g.walk(t, dir)
		}
		return map[string]any{}
	}
	if _, ok := g.components[name]; !ok {
		g.components[name] = map[string]any{} // a type that refers to itself finds it here
		g.components[name] = g.walk(t, dir)
	}
	return map[string]any{"$ref": componentsPrefix + name}
}

// walk returns body(t, dir) with an empty stack of named types.
func (g *schemaGen) walk(t reflect.Type, dir schemaDir) map[string]any {
	saved := g.building
	g.building = map[reflect.Type]bool{}
	defer func() { g.building = saved }()
	return g.body(t, dir)
}

// body returns the schema of t itself, following what decoderFor (dirIn)
// or encoderFor (dirOut) does with t.
func (g *schemaGen) body(t reflect.Type, dir schemaDir) map[string]any {
	switch {
	case dir == dirOut && outText(t):
		return g.textSchema(t, t.Kind() == reflect.Pointer)
	case dir == dirIn && inText(t):
		return g.textSchema(t, false)
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return map[string]any{"type": "integer", "minimum": int64(-1) << (bits - 1), "maximum": int64(1)<<(bits-1) - 1}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0, "maximum": uint64(math.MaxUint64) >> (64 - t.Bits())}
	case reflect.Float32:
		// The decoder rounds a number to float32, and refuses one that
		// rounds to an infinity: from 2^128 - 2^103 on.
		return map[string]any{"type": "number", "exclusiveMinimum": -float32Beyond, "exclusiveMaximum": float32Beyond}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return map[string]any{}
		}
		// Only a result can have one: an error or a TextMarshaler (see
		// canEncodeInterface), sent as a string, or nil.
		return map[string]any{"type": []any{"string", "null"}}
	case reflect.Pointer:
		return orNull(g.schema(t.Elem(), dir))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{
				"type": []any{"string", "null"}, "contentEncoding": "base64", "pattern": base64Pattern,
				"x-wamp-binary": true,
			}
		}
		return map[string]any{"type": []any{"array", "null"}, "items": g.schema(t.Elem(), dir)}
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), dir), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.schema(t.Elem(), dir)}
	case reflect.Struct:
		return g.structSchema(t, dir)
	}
	return map[string]any{} // not reached for a type that Register took
}

// textSchema is the schema of a type with a text form: a string (a
// time.Time's in RFC 3339, as Go parses it), or null for a pointer when
// nullable.
func (g *schemaGen) textSchema(t reflect.Type, nullable bool) map[string]any {
	s := map[string]any{"type": "string"}
	if t == timeType || t.Kind() == reflect.Pointer && t.Elem() == timeType {
		s["format"], s["pattern"] = "date-time", timePattern
	}
	if nullable {
		s["type"] = []any{"string", "null"}
	}
	return s
}

// structSchema is the schema of struct type t: an object with a property
// per key that encoding/json reads and writes. No key is required, since
// the decoder needs none (a missing field keeps its zero value); other
// keys are allowed, since the decoder ignores them.
func (g *schemaGen) structSchema(t reflect.Type, dir schemaDir) map[string]any {
	fields, err := structFields(t)
	if err != nil {
		return map[string]any{} // not reached for a type that Register took
	}
	props := make(map[string]any, len(fields))
	for _, f := range fields {
		switch {
		case dir == dirIn && behindUnsettable(t, f.index):
			props[f.name] = false // the decoder refuses the key
		case f.quoted && f.typ.Kind() == reflect.Pointer:
			props[f.name] = map[string]any{"type": []any{"string", "null"}}
		case f.quoted:
			props[f.name] = map[string]any{"type": "string"}
		default:
			props[f.name] = g.schema(f.typ, dir)
		}
	}
	return map[string]any{"type": "object", "properties": props}
}

// orNull returns s, or null: a pointer's schema.
func orNull(s map[string]any) map[string]any {
	if len(s) == 0 {
		return s // anything, null among it
	}
	switch typ := s["type"].(type) {
	case string:
		if _, ref := s["$ref"]; !ref {
			c := make(map[string]any, len(s))
			for k, v := range s {
				c[k] = v
			}
			c["type"] = []any{typ, "null"}
			return c
		}
	case []any:
		for _, x := range typ {
			if x == "null" {
				return s
			}
		}
		c := make(map[string]any, len(s))
		for k, v := range s {
			c[k] = v
		}
		c["type"] = append(append([]any(nil), typ...), "null")
		return c
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// asymmetric reports whether a value of t has different schemas going in
// and going out: t, or a type inside it, has a text form one way only (a
// TextMarshaler that is no TextUnmarshaler, an error type), or is an
// interface with methods (which only a result can have).
func (g *schemaGen) asymmetric(t reflect.Type) bool {
	if a, ok := g.asym[t]; ok {
		return a
	}
	a := g.reachesAsymmetry(t, map[reflect.Type]bool{})
	g.asym[t] = a // only whole answers are kept: one found inside a cycle may be partial
	return a
}

// reachesAsymmetry reports whether t, or a type reachable from it and not
// in seen, differs by direction by itself.
func (g *schemaGen) reachesAsymmetry(t reflect.Type, seen map[reflect.Type]bool) bool {
	if a, ok := g.asym[t]; ok {
		return a
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	if t.Kind() == reflect.Interface {
		return t.NumMethod() != 0
	}
	// A pointer goes in as its element does, or null.
	out, in := outText(t), inText(t)
	if t.Kind() == reflect.Pointer {
		in = inText(t.Elem())
	}
	if out || in {
		return out != in
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return g.reachesAsymmetry(t.Elem(), seen)
	case reflect.Struct:
		fields, _ := structFields(t)
		for _, f := range fields {
			if behindUnsettable(t, f.index) || !f.quoted && g.reachesAsymmetry(f.typ, seen) {
				return true
			}
		}
	}
	return false
}

// behindUnsettable reports whether the field of struct t at index is
// promoted through an embedded pointer that the decoder cannot set: one
// reached through an unexported field (its own, or an embedded struct's
// on the way). The decoder refuses such a field's key when the pointer is
// nil, as it always is in a value being decoded (as encoding/json does),
// while the encoder sends the field when the pointer is set.
func behindUnsettable(t reflect.Type, index []int) bool {
	unexported := false
	for _, x := range index[:len(index)-1] {
		sf := t.Field(x)
		unexported = unexported || !sf.IsExported()
		t = sf.Type
		if t.Kind() == reflect.Pointer {
			if unexported {
				return true
			}
			t = t.Elem()
		}
	}
	return false
}

// componentName turns a Go type's name into a component's: the characters
// that OpenRPC allows in one (letters, digits, ".", "-", "_"), others as
// "_" (those of a generic type's arguments, say).
var componentName = regexp.MustCompile(`[^A-Za-z0-9.\-_]+`)

// nameComponents names the components collected: a type's name when no
// other component type has it, else its package path and name; a suffix
// "_in" or "_out" when a type has a component each way; and a number
// after those that still collide (types declared inside functions).
func (g *schemaGen) nameComponents() {
	g.byName = map[string]map[reflect.Type]bool{}
	g.dirs = map[reflect.Type]int{}
	g.taken = map[string]bool{}
	for _, k := range g.keys {
		n := componentName.ReplaceAllString(k.t.Name(), "_")
		if g.byName[n] == nil {
			g.byName[n] = map[reflect.Type]bool{}
		}
		g.byName[n][k.t] = true
		g.dirs[k.t]++
	}
	for _, k := range g.keys {
		g.names[k] = g.nameOf(k)
	}
}

// nameOf returns a new unique name for component k.
func (g *schemaGen) nameOf(k schemaKey) string {
	n := componentName.ReplaceAllString(k.t.Name(), "_")
	if len(g.byName[n]) > 1 && k.t.PkgPath() != "" {
		n = componentName.ReplaceAllString(strings.ReplaceAll(k.t.PkgPath(), "/", ".")+"."+k.t.Name(), "_")
	}
	if g.dirs[k.t] > 1 {
		n += map[schemaDir]string{dirIn: "_in", dirOut: "_out"}[k.dir]
	}
	name := n
	for i := 2; g.taken[name]; i++ {
		name = n + "_" + strconv.Itoa(i)
	}
	g.taken[name] = true
	return name
}
