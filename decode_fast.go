package wampfn

// Serving a call (stage 4): the decoders' fast paths, setFuncs, which store
// a value that a decoder would take as it is without reflection, planned
// once per type with its decoder (see decode.go for the decoders, which
// they never replace: every value a setFunc leaves goes to its decoder).

import (
	"math"
	"reflect"
	"unsafe"

	"github.com/gammazero/nexus/v3/wamp"
)

// A setFunc is the fast path of a decoder: it stores src at p, a pointer
// to a settable value of the decoder's type, when src is a value that the
// decoder takes as it is, and reports whether it did. It adds no rule: on
// false the decoder runs, which converts src or says why it does not fit,
// on a value that the setFunc may have written in part. On true it has
// set the whole value, as the decoder would set a zero one, but for the
// fields of a struct that no key names (json "-", unexported, or two of
// one name): no decoder writes those, so they are zero in every value
// that a decoder reuses.
//
// Bool, string, integer and float types have one (a string, a bool, a
// number in range and, into a float, exact), and so have []float64, []int,
// []int64 and []string, and a struct of fields with one (a dict whose keys
// each name a field exactly); its decoder's plan holds it. A list of
// records decoded with reflect.Value.Field(i).SetInt and the like spends
// more time in reflect than in reading the values.
//
// A setFunc does not count depth: a caller uses it for a value at depth d
// only when d plus its plan's setDepth is at most MaxDepth, so that no
// list or dict it reads is as deep as MaxDepth, where the decoder would
// refuse it.
type setFunc func(src any, p unsafe.Pointer) bool

// setterFor returns the setFunc of t, a type that does not decode by
// UnmarshalText, or nil when t has none or, a struct, records its own (see
// structDecoder).
func setterFor(t reflect.Type) setFunc {
	switch t.Kind() {
	case reflect.Bool:
		return setBool
	case reflect.String:
		return setString
	case reflect.Int:
		return intSetter[int]()
	case reflect.Int8:
		return intSetter[int8]()
	case reflect.Int16:
		return intSetter[int16]()
	case reflect.Int32:
		return intSetter[int32]()
	case reflect.Int64:
		return intSetter[int64]()
	case reflect.Uint:
		return uintSetter[uint]()
	case reflect.Uint8:
		return uintSetter[uint8]()
	case reflect.Uint16:
		return uintSetter[uint16]()
	case reflect.Uint32:
		return uintSetter[uint32]()
	case reflect.Uint64:
		return uintSetter[uint64]()
	case reflect.Uintptr:
		return uintSetter[uintptr]()
	case reflect.Float32:
		return floatSetter[float32]()
	case reflect.Float64:
		return floatSetter[float64]()
	case reflect.Slice:
		if set := scalarSliceSetter(t); set != nil {
			return func(src any, p unsafe.Pointer) bool {
				l, ok := plainList(src)
				return ok && set(l, p)
			}
		}
	}
	return nil
}

func setBool(src any, p unsafe.Pointer) bool {
	b, ok := src.(bool)
	if ok {
		*(*bool)(p) = b
	}
	return ok
}

func setString(src any, p unsafe.Pointer) bool {
	s, ok := src.(string)
	if !ok || isJSONBytes(s) {
		return false
	}
	*(*string)(p) = s
	return true
}

// The numeric setFuncs take what msgpack and CBOR deliver (and, for an
// integer, what a Go caller sends) without a call, and anything else by
// number. Each is a closure: called through a func value, an instance of
// a generic function costs one call more, to pass its dictionary.

func intSetter[T int | int8 | int16 | int32 | int64]() setFunc {
	return func(src any, p unsafe.Pointer) bool {
		var i int64
		switch x := src.(type) {
		case int64:
			i = x
		case int:
			i = int64(x)
		default:
			var ok bool
			if i, ok = int64Of(src); !ok {
				return false
			}
		}
		if int64(T(i)) != i {
			return false
		}
		*(*T)(p) = T(i)
		return true
	}
}

// int64Of returns src as an int64 when it is an integer in int64's range.
func int64Of(src any) (int64, bool) {
	switch k, i, u, _ := number(src); k {
	case signedNumber:
		return i, true
	case unsignedNumber:
		return int64(u), u <= math.MaxInt64
	}
	return 0, false
}

func uintSetter[T uint | uint8 | uint16 | uint32 | uint64 | uintptr]() setFunc {
	return func(src any, p unsafe.Pointer) bool {
		u, ok := uint64Of(src)
		if !ok || uint64(T(u)) != u {
			return false
		}
		*(*T)(p) = T(u)
		return true
	}
}

// uint64Of returns src as a uint64 when it is an integer in uint64's
// range.
func uint64Of(src any) (uint64, bool) {
	switch x := src.(type) {
	case int64:
		return uint64(x), x >= 0
	case uint64:
		return x, true
	case int:
		return uint64(x), x >= 0
	}
	switch k, i, u, _ := number(src); k {
	case signedNumber:
		return uint64(i), i >= 0
	case unsignedNumber:
		return u, true
	}
	return 0, false
}

// floatSetter's setFunc takes what decodeFloat takes (see floatFor): a
// float64 in T's range directly, other numbers by floatFor.
func floatSetter[T float32 | float64]() setFunc {
	return func(src any, p unsafe.Pointer) bool {
		f, ok := src.(float64)
		if !ok {
			return setFloatOf[T](src, p)
		}
		x := T(f)
		if unsafe.Sizeof(x) == 4 && math.IsInf(float64(x), 0) && !math.IsInf(f, 0) {
			return false // out of range
		}
		*(*T)(p) = x
		return true
	}
}

// setFloatOf is floatSetter's setFunc for src other than a float64.
func setFloatOf[T float32 | float64](src any, p unsafe.Pointer) bool {
	k, i, u, f := number(src)
	if k == notNumber {
		return false
	}
	f, fit := floatFor(k, i, u, f, int(unsafe.Sizeof(T(0)))*8)
	if fit != floatFits {
		return false
	}
	*(*T)(p) = T(f)
	return true
}

// elemsSetter returns the setFunc of the elements of v, a slice or an
// array at depth, and a pointer to its first element; nil when there is
// none or v's elements cannot be set.
func elemsSetter(v reflect.Value, elem *decoder, depth int) (setFunc, unsafe.Pointer) {
	if elem.set == nil || depth+1+elem.setDepth > MaxDepth || v.Len() == 0 {
		return nil, nil
	}
	if first := v.Index(0); first.CanSet() {
		return elem.set, unsafe.Pointer(first.UnsafeAddr()) // not Addr: that looks up *T
	}
	return nil, nil
}

var (
	float64SliceType = reflect.TypeFor[[]float64]()
	intSliceType     = reflect.TypeFor[[]int]()
	int64SliceType   = reflect.TypeFor[[]int64]()
	stringSliceType  = reflect.TypeFor[[]string]()
)

// A scalarSliceFunc is the fast path of a []float64, []int, []int64 or
// []string (its setFunc, wrapped by setterFor), p pointing to a settable
// one: it converts
// l's elements without reflection when each is of a type that converts
// without question, and else reports false, leaving *p alone, for the
// general path to convert them or say what does not fit. (Per element, a
// setFunc costs a call; these loops, none.)
type scalarSliceFunc func(l wamp.List, p unsafe.Pointer) bool

// scalarSliceSetter returns the scalarSliceFunc of t, or nil when t has
// none.
func scalarSliceSetter(t reflect.Type) scalarSliceFunc {
	switch t {
	case float64SliceType:
		return setFloat64s
	case intSliceType:
		return setInts
	case int64SliceType:
		return setInt64s
	case stringSliceType:
		return setStrings
	}
	return nil
}

func setFloat64s(l wamp.List, p unsafe.Pointer) bool {
	s := make([]float64, len(l))
	for i, e := range l {
		f, fit := 0.0, floatFits
		switch x := e.(type) {
		case float64:
			f = x
		case int64:
			f, fit = floatFor(signedNumber, x, 0, 0, 64)
		case uint64:
			f, fit = floatFor(unsignedNumber, 0, x, 0, 64)
		case int:
			f, fit = floatFor(signedNumber, int64(x), 0, 0, 64)
		default:
			return false
		}
		if fit != floatFits {
			return false
		}
		s[i] = f
	}
	*(*[]float64)(p) = s
	return true
}

func setInts(l wamp.List, p unsafe.Pointer) bool {
	s := make([]int, len(l))
	for i, e := range l {
		var x int64
		switch e := e.(type) {
		case int64:
			x = e
		case uint64:
			if e > math.MaxInt64 {
				return false
			}
			x = int64(e)
		case int:
			x = int64(e)
		default:
			return false
		}
		if int64(int(x)) != x {
			return false
		}
		s[i] = int(x)
	}
	*(*[]int)(p) = s
	return true
}

func setInt64s(l wamp.List, p unsafe.Pointer) bool {
	s := make([]int64, len(l))
	for i, e := range l {
		switch x := e.(type) {
		case int64:
			s[i] = x
		case uint64:
			if x > math.MaxInt64 {
				return false
			}
			s[i] = int64(x)
		case int:
			s[i] = int64(x)
		default:
			return false
		}
	}
	*(*[]int64)(p) = s
	return true
}

func setStrings(l wamp.List, p unsafe.Pointer) bool {
	s := make([]string, len(l))
	for i, e := range l {
		x, ok := e.(string)
		if !ok || isJSONBytes(x) {
			return false
		}
		s[i] = x
	}
	*(*[]string)(p) = s
	return true
}

// A fieldOp is how a struct's setFunc sets a field: the kinds that the
// transports deliver for it most often inline, and the rest by the field
// type's setFunc. Each inline case takes exactly what that setFunc takes
// for those kinds (a string that is not JSON bytes, a bool, an int64 or
// int that the field holds, a float64), and leaves the others to it.
type fieldOp uint8

const (
	bySetFunc fieldOp = iota
	inlineString
	inlineBool
	inlineInt
	inlineInt64
	inlineFloat64
)

// fieldOpOf returns the fieldOp of a field of type t, which has a setFunc.
func fieldOpOf(t reflect.Type) fieldOp {
	switch t.Kind() {
	case reflect.String:
		return inlineString
	case reflect.Bool:
		return inlineBool
	case reflect.Int:
		return inlineInt
	case reflect.Int64:
		return inlineInt64
	case reflect.Float64:
		return inlineFloat64
	}
	return bySetFunc
}

// A structSetter is the fast path of a struct whose fields all have a
// setFunc: it takes a dict whose keys each name a field exactly, with
// values that the fields' setFuncs take, and sets every field, those
// without a key to their zero value (so that a map's decoder can reuse one
// element).
type structSetter struct {
	fields []setField
	names  []string       // the fields' names, in the struct's order
	index  map[string]int // the fields' indexes by name
}

// A setField is a field as structSetter.set reads it, packed.
type setField struct {
	offset uintptr
	op     fieldOp
	set    setFunc
	typ    reflect.Type
}

func newStructSetter(sp *structPlan) *structSetter {
	ss := &structSetter{
		fields: make([]setField, len(sp.fields)),
		names:  make([]string, len(sp.fields)),
		index:  make(map[string]int, len(sp.fields)),
	}
	for i, f := range sp.fields {
		ss.fields[i] = setField{offset: f.offset, op: fieldOpOf(f.dec.typ), set: f.set, typ: f.dec.typ}
		ss.names[i] = f.name
		ss.index[f.name] = i
	}
	return ss
}

// setFunc returns ss as a setFunc.
func (ss *structSetter) setFunc() setFunc {
	return func(src any, p unsafe.Pointer) bool { return ss.set(ss.names, src, p) }
}

// learnKeysMin is the shortest list or map of structs whose decoder looks
// its elements' fields up by the first element's own keys (see keysOf):
// learning costs a walk of one dict, and saves a few nanoseconds per
// field and element only when the keys are shared.
const learnKeysMin = 16

// keysOf returns the fields' names as src, a dict, spells them: for each
// field with a key in src, src's own key string, else the field's name,
// appended to buf. The keys of an in-process caller's dicts are often the
// very same strings in every element (string constants); a map lookup by
// the same string ends its comparison at the pointers.
func (ss *structSetter) keysOf(src any, buf []string) []string {
	keys := append(buf, ss.names...)
	d, _ := plainDict(src)
	if len(d) > len(keys) {
		return keys
	}
	for k := range d {
		if i, ok := ss.index[k]; ok {
			keys[i] = k
		}
	}
	return keys
}

// set stores src at p, looking each field up by keys[i], a string equal
// to its name (keys has one for each field), and reports whether it did.
func (ss *structSetter) set(keys []string, src any, p unsafe.Pointer) bool {
	fields := ss.fields
	d, ok := plainDict(src)
	if !ok || len(d) > len(fields) { // more keys than fields: not all name one
		return false
	}
	n := 0
	// Bit i: fields[i] had a key, for i < 64; zeroMissing looks the
	// fields after the 64th up again.
	var seen uint64
	for i := range fields {
		f := &fields[i]
		v, ok := d[keys[i]]
		if !ok {
			continue
		}
		if i < 64 {
			seen |= 1 << i
		}
		q := unsafe.Add(p, f.offset)
		switch f.op {
		case inlineString:
			ok = storeString(v, q)
		case inlineBool:
			ok = storeBool(v, q)
		case inlineInt:
			ok = storeInt(v, q) || f.set(v, q)
		case inlineInt64:
			ok = storeInt64(v, q) || f.set(v, q)
		case inlineFloat64:
			ok = storeFloat64(v, q) || f.set(v, q)
		default:
			ok = f.set(v, q)
		}
		if !ok {
			return false
		}
		n++
	}
	if n != len(d) {
		return false
	}
	if n < len(fields) {
		ss.zeroMissing(keys, d, p, seen)
	}
	return true
}

// The inline stores of structSetter.set, one per fieldOp: each stores the
// kinds the transports deliver for its field type most often, exactly as
// the type's setFunc takes them, and reports whether it did; set leaves
// the others to the setFunc (but for strings and bools, whose setFuncs
// take nothing else).

func storeString(v any, q unsafe.Pointer) bool {
	s, ok := v.(string)
	if !ok || isJSONBytes(s) {
		return false
	}
	*(*string)(q) = s
	return true
}

func storeBool(v any, q unsafe.Pointer) bool {
	b, ok := v.(bool)
	if ok {
		*(*bool)(q) = b
	}
	return ok
}

func storeInt(v any, q unsafe.Pointer) bool {
	if x, ok := v.(int64); ok && int64(int(x)) == x {
		*(*int)(q) = int(x)
		return true
	}
	if x, ok := v.(int); ok {
		*(*int)(q) = x
		return true
	}
	return false
}

func storeInt64(v any, q unsafe.Pointer) bool {
	if x, ok := v.(int64); ok {
		*(*int64)(q) = x
		return true
	}
	if x, ok := v.(int); ok {
		*(*int64)(q) = int64(x)
		return true
	}
	return false
}

func storeFloat64(v any, q unsafe.Pointer) bool {
	x, ok := v.(float64)
	if ok {
		*(*float64)(q) = x
	}
	return ok
}

// zeroMissing sets the fields of the struct at p that d, the dict set
// took, has no key for to their zero value; seen has bit i set for the
// fields among the first 64 that had one.
func (ss *structSetter) zeroMissing(keys []string, d wamp.Dict, p unsafe.Pointer, seen uint64) {
	for i := range ss.fields {
		f := &ss.fields[i]
		if i < 64 && seen&(1<<i) != 0 || i >= 64 && hasKey(d, keys[i]) {
			continue
		}
		if q := unsafe.Add(p, f.offset); !isZeroMemory(q, f.typ.Size()) {
			reflect.NewAt(f.typ, q).Elem().SetZero()
		}
	}
}

// isZeroMemory reports whether the size bytes at p are all zero, as every
// Go type's zero value is.
func isZeroMemory(p unsafe.Pointer, size uintptr) bool {
	for _, b := range unsafe.Slice((*byte)(p), size) {
		if b != 0 {
			return false
		}
	}
	return true
}
