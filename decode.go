package wampfn

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
)

// MaxDepth bounds how deeply lists, dicts and pointers may nest inside one
// argument or result. Deeper input is an invalid argument; it can only
// reach a parameter of a recursive type, since the depth of any other Go
// type is fixed.
const MaxDepth = 64

// A decodeFunc converts src, a value as a transport delivered it, into
// dst, a settable value of the decoder's type. depth counts the containers
// above src.
type decodeFunc func(src any, dst reflect.Value, depth int) error

// A decoder is the cached decoding plan for one Go type.
type decoder = plan[decodeFunc]

type decodeBuild = planBuild[decodeFunc]

var (
	decoders            = &planCache[decodeFunc]{}
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func init() { decoders.build = makeDecodeFunc }

// decoderFor returns the decoder for t, building it on first use.
func decoderFor(t reflect.Type) (*decoder, error) { return decoders.get(t) }

func makeDecodeFunc(t reflect.Type, b *decodeBuild) (decodeFunc, error) {
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return textDecoder(t), nil
	}
	fn, err := makeKindDecodeFunc(t, b)
	if set := setterFor(t); err == nil && set != nil {
		b.building[t].set = set
		if t.Kind() == reflect.Slice {
			b.building[t].setDepth = 1
		}
	}
	return fn, err
}

func makeKindDecodeFunc(t reflect.Type, b *decodeBuild) (decodeFunc, error) {
	switch t.Kind() {
	case reflect.Bool:
		return decodeBool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return decodeUint, nil
	case reflect.Float32, reflect.Float64:
		return decodeFloat, nil
	case reflect.String:
		return decodeString, nil
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return nil, &unsupportedTypeError{t, fmt.Sprintf("interface %s has methods; only an empty interface can hold a WAMP value", t)}
		}
		return decodeAny, nil
	case reflect.Pointer:
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return pointerDecoder(elem), nil
	case reflect.Slice:
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return bytesDecoder(t, elem), nil
		}
		return sliceDecoder(t, elem), nil
	case reflect.Array:
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return arrayDecoder(t, elem), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, &unsupportedTypeError{t, fmt.Sprintf("map key type %s is not a string; WAMP dict keys are strings", t.Key())}
		}
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return mapDecoder(t, elem), nil
	case reflect.Struct:
		return structDecoder(t, b)
	}
	return nil, &unsupportedTypeError{t, fmt.Sprintf("%s cannot be decoded from a WAMP value", t)}
}

// mismatch returns the ArgumentError for a value that does not fit t.
func mismatch(src any, t reflect.Type) error {
	return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String()}
}

func outOfRange(src any, t reflect.Type) error {
	return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String() + ": out of range"}
}

func inexact(src any, t reflect.Type) error {
	return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String() + ": not exactly representable"}
}

// inside prefixes the path of an *ArgumentError or *encodeError from a
// nested value with seg, a dict key or a "[i]" index.
func inside(err error, seg string) error {
	var path *string
	switch e := err.(type) {
	case *ArgumentError:
		path = &e.Path
	case *encodeError:
		path = &e.Path
	default:
		return err
	}
	switch {
	case *path == "", (*path)[0] == '[':
		*path = seg + *path
	default:
		*path = seg + "." + *path
	}
	return err
}

func tooDeep() error {
	return &ArgumentError{Msg: fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
}

// describe names a value the way error messages show it: its WAMP kind
// and, for scalars, the value.
func describe(src any) string {
	switch x := src.(type) {
	case nil:
		return "null"
	case bool:
		return "bool " + strconv.FormatBool(x)
	case string:
		if isJSONBytes(x) {
			return "bytes"
		}
		const max = 40
		if len(x) > max {
			cut := max
			for cut > 0 && !utf8.RuneStart(x[cut]) {
				cut--
			}
			return "string " + strconv.Quote(x[:cut]) + "..."
		}
		return "string " + strconv.Quote(x)
	case []byte, serialize.BinaryData:
		return "bytes"
	case float64:
		return "float64 " + strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return "float32 " + strconv.FormatFloat(float64(x), 'g', -1, 32)
	case wamp.List:
		return fmt.Sprintf("list of %d", len(x))
	case []any:
		return fmt.Sprintf("list of %d", len(x))
	case wamp.Dict, map[string]any:
		return "dict"
	}
	rv := reflect.ValueOf(src)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Bool:
		return fmt.Sprintf("%T %v", src, src)
	case reflect.String:
		return fmt.Sprintf("%T %q", src, rv.String())
	}
	return fmt.Sprintf("%T", src)
}

// isJSONBytes reports whether s is binary data in the WAMP JSON
// convention: a string starting with NUL followed by base64.
func isJSONBytes(s string) bool { return len(s) > 0 && s[0] == 0 }

func decodeBool(src any, dst reflect.Value, _ int) error {
	if b, ok := src.(bool); ok {
		dst.SetBool(b)
		return nil
	}
	if rv := reflect.ValueOf(src); rv.Kind() == reflect.Bool {
		dst.SetBool(rv.Bool())
		return nil
	}
	return mismatch(src, dst.Type())
}

// 2^63 as a float64: the first float64 above every int64.
const twoTo63 = 9223372036854775808.0

// A numKind says which of number's results holds a number.
type numKind uint8

const (
	notNumber numKind = iota
	signedNumber
	unsignedNumber
	floatNumber
)

// number normalises a number as the transports deliver it (int64 and
// uint64 from JSON, msgpack and CBOR; float64; any Go integer or float
// type from an in-process caller) into i, u or f, as k says. Every
// decoder of numbers starts here, then checks its destination's range.
func number(src any) (k numKind, i int64, u uint64, f float64) {
	switch x := src.(type) {
	case int64:
		return signedNumber, x, 0, 0
	case uint64:
		return unsignedNumber, 0, x, 0
	case float64:
		return floatNumber, 0, 0, x
	case int:
		return signedNumber, int64(x), 0, 0
	case bool, string, nil:
		return notNumber, 0, 0, 0
	}
	rv := reflect.ValueOf(src)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return signedNumber, rv.Int(), 0, 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return unsignedNumber, 0, rv.Uint(), 0
	case reflect.Float32, reflect.Float64:
		return floatNumber, 0, 0, rv.Float()
	}
	return notNumber, 0, 0, 0
}

// exactFloat returns the number k, i, u, f (as number returns it) as a
// float64, and false for an integer that a float64 does not hold exactly.
func exactFloat(k numKind, i int64, u uint64, f float64) (float64, bool) {
	switch k {
	case signedNumber:
		f = float64(i)
		return f, f < twoTo63 && int64(f) == i
	case unsignedNumber:
		f = float64(u)
		return f, f < 2*twoTo63 && uint64(f) == u
	}
	return f, true
}

func decodeInt(src any, dst reflect.Value, _ int) error {
	k, i, u, f := number(src)
	switch k {
	case notNumber:
		return mismatch(src, dst.Type())
	case unsignedNumber:
		if u > math.MaxInt64 {
			return outOfRange(src, dst.Type())
		}
		i = int64(u)
	case floatNumber:
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return mismatch(src, dst.Type())
		}
		if f < -twoTo63 || f >= twoTo63 {
			return outOfRange(src, dst.Type())
		}
		i = int64(f)
	}
	if dst.OverflowInt(i) {
		return outOfRange(src, dst.Type())
	}
	dst.SetInt(i)
	return nil
}

func decodeUint(src any, dst reflect.Value, _ int) error {
	k, i, u, f := number(src)
	switch k {
	case notNumber:
		return mismatch(src, dst.Type())
	case signedNumber:
		if i < 0 {
			return outOfRange(src, dst.Type())
		}
		u = uint64(i)
	case floatNumber:
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return mismatch(src, dst.Type())
		}
		if f < 0 || f >= 2*twoTo63 {
			return outOfRange(src, dst.Type())
		}
		u = uint64(f)
	}
	if dst.OverflowUint(u) {
		return outOfRange(src, dst.Type())
	}
	dst.SetUint(u)
	return nil
}

// decodeFloat takes any float, and an integer only when the destination
// holds it exactly: a float64 holds every integer up to 2^53, a float32
// up to 2^24, and larger ones only when they are round enough.
func decodeFloat(src any, dst reflect.Value, _ int) error {
	k, i, u, f := number(src)
	if k == notNumber {
		return mismatch(src, dst.Type())
	}
	f, exact := exactFloat(k, i, u, f)
	if !exact {
		return inexact(src, dst.Type())
	}
	if dst.Kind() == reflect.Float32 {
		if !math.IsInf(f, 0) && dst.OverflowFloat(f) {
			return outOfRange(src, dst.Type())
		}
		if k != floatNumber && float64(float32(f)) != f {
			return inexact(src, dst.Type())
		}
	}
	dst.SetFloat(f)
	return nil
}

func decodeString(src any, dst reflect.Value, _ int) error {
	if s, ok := src.(string); ok && !isJSONBytes(s) {
		dst.SetString(s)
		return nil
	}
	if rv := reflect.ValueOf(src); rv.Kind() == reflect.String && !isJSONBytes(rv.String()) {
		dst.SetString(rv.String())
		return nil
	}
	return mismatch(src, dst.Type())
}

func decodeAny(src any, dst reflect.Value, _ int) error {
	if src == nil {
		dst.SetZero()
		return nil
	}
	dst.Set(reflect.ValueOf(src))
	return nil
}

// A setFunc is the fast path of a decoder: it stores src at p, a pointer
// to a settable value of the decoder's type, when src is a value that the
// decoder takes as it is, and reports whether it did. It adds no rule: on
// false the decoder runs, which converts src or says why it does not fit,
// on a value that the setFunc may have written in part. On true it has
// set the whole value, as the decoder would set a zero one.
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

// floatSetter's setFunc takes a float that T holds, rounded (a float32
// rounds a float64), or an integer that T holds exactly.
func floatSetter[T float32 | float64]() setFunc {
	return func(src any, p unsafe.Pointer) bool {
		f, ok := src.(float64)
		if !ok || unsafe.Sizeof(T(0)) == 4 && !fitsFloat32(f) {
			return setFloatOf[T](src, p)
		}
		*(*T)(p) = T(f)
		return true
	}
}

// fitsFloat32 reports whether f is in float32's range (or infinite).
func fitsFloat32(f float64) bool {
	return math.Abs(f) <= math.MaxFloat32 || math.IsInf(f, 0)
}

// setFloatOf is floatSetter's setFunc for src other than a float64 in
// T's range.
func setFloatOf[T float32 | float64](src any, p unsafe.Pointer) bool {
	k, i, u, f := number(src)
	f, exact := exactFloat(k, i, u, f)
	if k == notNumber || !exact {
		return false
	}
	if k == floatNumber && (unsafe.Sizeof(T(0)) == 8 || fitsFloat32(f)) { // a float32
		*(*T)(p) = T(f)
		return true
	}
	if x := T(f); float64(x) == f { // an integer T holds
		*(*T)(p) = x
		return true
	}
	return false
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

func pointerDecoder(elem *decoder) decodeFunc {
	return func(src any, dst reflect.Value, depth int) error {
		if src == nil {
			dst.SetZero()
			return nil
		}
		if depth >= MaxDepth {
			return tooDeep()
		}
		if dst.IsNil() {
			dst.Set(reflect.New(elem.typ))
		}
		return elem.fn(src, dst.Elem(), depth+1)
	}
}

// sameType assigns src to dst when an in-process caller sent a value of
// exactly the parameter's type.
func sameType(src any, dst reflect.Value) bool {
	if reflect.TypeOf(src) != dst.Type() {
		return false
	}
	dst.Set(reflect.ValueOf(src))
	return true
}

// plainList returns src as a list when it is one as the transports
// deliver it.
func plainList(src any) (wamp.List, bool) {
	switch x := src.(type) {
	case wamp.List:
		return x, true
	case []any:
		return x, true
	}
	return nil, false
}

// listOf returns src as a list of elements: a WAMP list, or, from an
// in-process caller, any Go slice or array.
func listOf(src any) (wamp.List, bool) {
	if l, ok := plainList(src); ok {
		return l, true
	}
	rv := reflect.ValueOf(src)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, false
	}
	l := make(wamp.List, rv.Len())
	for i := range l {
		l[i] = rv.Index(i).Interface()
	}
	return l, true
}

func sliceDecoder(t reflect.Type, elem *decoder) decodeFunc {
	scalar := scalarSliceSetter(t)
	return func(src any, dst reflect.Value, depth int) error {
		if src == nil {
			dst.SetZero()
			return nil
		}
		if sameType(src, dst) {
			return nil
		}
		l, ok := listOf(src)
		if !ok {
			return mismatch(src, t)
		}
		if depth >= MaxDepth {
			return tooDeep()
		}
		if len(l) == 0 {
			dst.Set(reflect.MakeSlice(t, 0, 0))
			return nil
		}
		if scalar != nil && dst.CanSet() && scalar(l, unsafe.Pointer(dst.UnsafeAddr())) {
			return nil
		}
		// A new array in dst itself: one allocation, where MakeSlice
		// and Set take two.
		dst.SetZero()
		dst.Grow(len(l))
		dst.SetLen(len(l))
		return decodeElems(l, dst, elem, depth)
	}
}

// decodeElems decodes l into dst, a slice or array of len(l) elements
// at depth, each by elem.set when it takes it, else by elem.fn.
func decodeElems(l wamp.List, dst reflect.Value, elem *decoder, depth int) error {
	set, p := elemsSetter(dst, elem, depth)
	size := elem.typ.Size()
	// A struct's setter is called directly, with the first element's
	// keys when there are enough elements to learn them.
	ss, keys := elem.structSet, []string(nil)
	if set != nil && ss != nil {
		keys = ss.names
		if len(l) >= learnKeysMin {
			var buf [8]string
			keys = ss.keysOf(l[0], buf[:0])
		}
	}
	for i, e := range l {
		if set != nil {
			q := unsafe.Add(p, uintptr(i)*size)
			if keys != nil && ss.set(keys, e, q) || keys == nil && set(e, q) {
				continue
			}
		}
		if err := elem.fn(e, dst.Index(i), depth+1); err != nil {
			return inside(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return nil
}

var (
	float64SliceType = reflect.TypeFor[[]float64]()
	intSliceType     = reflect.TypeFor[[]int]()
	int64SliceType   = reflect.TypeFor[[]int64]()
	stringSliceType  = reflect.TypeFor[[]string]()
)

// A scalarSliceFunc is the fast path of sliceDecoder for a []float64,
// []int, []int64 or []string, p pointing to a settable one: it converts
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
		f, exact := 0.0, true
		switch x := e.(type) {
		case float64:
			f = x
		case int64:
			f, exact = exactFloat(signedNumber, x, 0, 0)
		case uint64:
			f, exact = exactFloat(unsignedNumber, 0, x, 0)
		case int:
			f, exact = exactFloat(signedNumber, int64(x), 0, 0)
		default:
			return false
		}
		if !exact {
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

func arrayDecoder(t reflect.Type, elem *decoder) decodeFunc {
	return func(src any, dst reflect.Value, depth int) error {
		if sameType(src, dst) {
			return nil
		}
		l, ok := listOf(src)
		if !ok {
			return mismatch(src, t)
		}
		if len(l) != t.Len() {
			return &ArgumentError{Msg: fmt.Sprintf("cannot use list of %d as %s: want %d elements", len(l), t, t.Len())}
		}
		if depth >= MaxDepth {
			return tooDeep()
		}
		return decodeElems(l, dst, elem, depth)
	}
}

// bytesDecoder decodes binary data: bytes on msgpack and CBOR, the WAMP
// JSON convention ("\x00" + base64), a plain base64 string (as nexus's
// JSON serializer sends a []byte), or a list of numbers. The function
// gets bytes of its own: a copy of what it was sent.
func bytesDecoder(t reflect.Type, elem *decoder) decodeFunc {
	list := sliceDecoder(t, elem)
	return func(src any, dst reflect.Value, depth int) error {
		var b []byte
		switch x := src.(type) {
		case []byte:
			b = append([]byte(nil), x...)
		case serialize.BinaryData:
			b = append([]byte(nil), x...)
		case string:
			enc := x
			if isJSONBytes(x) {
				enc = x[1:]
			}
			var err error
			if b, err = base64.StdEncoding.DecodeString(enc); err != nil {
				return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String() + ": not base64", Err: err}
			}
		default:
			return list(src, dst, depth)
		}
		dst.SetBytes(b)
		return nil
	}
}

func mapDecoder(t reflect.Type, elem *decoder) decodeFunc {
	keyType := t.Key()
	return func(src any, dst reflect.Value, depth int) error {
		if src == nil {
			dst.SetZero()
			return nil
		}
		if sameType(src, dst) {
			return nil
		}
		d, ok := dictOf(src)
		if !ok {
			return mismatch(src, t)
		}
		if depth >= MaxDepth {
			return tooDeep()
		}
		m := reflect.MakeMapWithSize(t, len(d))
		// One key and one value, reused: a key converted from each k
		// would allocate. A setFunc that takes a value sets all of ev;
		// the decoder starts from zero.
		kv := reflect.New(keyType).Elem()
		kp := (*string)(unsafe.Pointer(kv.UnsafeAddr())) // keyType's kind is String
		ev := reflect.New(elem.typ).Elem()
		set, p := elem.set, unsafe.Pointer(ev.UnsafeAddr())
		if depth+1+elem.setDepth > MaxDepth {
			set = nil
		}
		ss, keys := elem.structSet, []string(nil) // as in decodeElems
		if set != nil && ss != nil {
			keys = ss.names
			if len(d) >= learnKeysMin {
				var buf [8]string
				for _, v := range d {
					keys = ss.keysOf(v, buf[:0])
					break
				}
			}
		}
		for k, v := range d {
			if keys != nil && !ss.set(keys, v, p) || keys == nil && (set == nil || !set(v, p)) {
				ev.SetZero()
				if err := elem.fn(v, ev, depth+1); err != nil {
					return inside(err, k)
				}
			}
			*kp = k
			m.SetMapIndex(kv, ev)
		}
		dst.Set(m)
		return nil
	}
}

// plainDict returns src as a dict when it is one as the transports
// deliver it.
func plainDict(src any) (wamp.Dict, bool) {
	switch x := src.(type) {
	case wamp.Dict:
		return x, true
	case map[string]any:
		return x, true
	}
	return nil, false
}

// dictOf returns src as a dict: a WAMP dict, or, from an in-process
// caller, any map with string keys or any struct.
func dictOf(src any) (wamp.Dict, bool) {
	if d, ok := plainDict(src); ok {
		return d, true
	}
	rv := reflect.ValueOf(src)
	switch {
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		d := make(wamp.Dict, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			d[it.Key().String()] = it.Value().Interface()
		}
		return d, true
	case rv.Kind() == reflect.Struct,
		rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Struct:
		v, err := encodeValue(rv, 0)
		if d, ok := v.(wamp.Dict); ok && err == nil {
			return d, true
		}
	}
	return nil, false
}

type fieldDecoder struct {
	name  string
	index []int
	dec   *decoder
	// set is the field type's setFunc and offset the field's offset, for
	// a field of the struct itself (not promoted from an embedded one)
	// whose type has one; else set is nil. op says how the struct's
	// setFunc sets it.
	set    setFunc
	offset uintptr
	op     fieldOp
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

// decode decodes v, the value of key k, into f's field of dst.
func (f *fieldDecoder) decode(dst reflect.Value, k string, v any, depth int) error {
	fv, err := fieldByIndex(dst, f.index)
	if err == nil {
		err = f.dec.fn(v, fv, depth)
	}
	if err != nil {
		return inside(err, k)
	}
	return nil
}

// A structPlan decodes a dict into a struct. Keys are matched to fields
// by their json tag name, else their Go name, exactly or else ignoring
// case; keys that match no field are ignored, as encoding/json does.
type structPlan struct {
	typ    reflect.Type
	fields []fieldDecoder // in the struct's order
	byName map[string]*fieldDecoder
	byFold map[string]*fieldDecoder // by lower-case name; the first field of each
	// setDepth is the largest setDepth of the fields' setFuncs.
	setDepth int
}

// structDecoder returns the decoder of struct type t and, when each of
// t's fields is its own (not promoted) and of a type with a setFunc,
// records t's setFunc in b.
func structDecoder(t reflect.Type, b *decodeBuild) (decodeFunc, error) {
	fields, err := structFields(t)
	if err != nil {
		return nil, err
	}
	sp := &structPlan{
		typ:    t,
		fields: make([]fieldDecoder, len(fields)),
		byName: make(map[string]*fieldDecoder, len(fields)),
		byFold: make(map[string]*fieldDecoder, len(fields)),
	}
	flat := true
	for i, f := range fields {
		var dec *decoder
		if f.quoted {
			dec = &decoder{typ: f.typ, fn: quotedDecoder(f.typ)}
		} else if dec, err = b.plan(f.typ); err != nil {
			if ue, ok := err.(*unsupportedTypeError); ok {
				return nil, &unsupportedTypeError{t, fmt.Sprintf("field %s of %s: %s", f.goName, t, ue.why)}
			}
			return nil, err
		}
		fd := &sp.fields[i]
		*fd = fieldDecoder{name: f.name, index: f.index, dec: dec}
		if len(f.index) == 1 && dec.set != nil {
			fd.set, fd.offset, fd.op = dec.set, t.Field(f.index[0]).Offset, fieldOpOf(f.typ)
			sp.setDepth = max(sp.setDepth, dec.setDepth)
		}
		flat = flat && fd.set != nil
		sp.byName[f.name] = fd
		if _, dup := sp.byFold[strings.ToLower(f.name)]; !dup {
			sp.byFold[strings.ToLower(f.name)] = fd
		}
	}
	if flat {
		ss := newStructSetter(sp)
		b.building[t].structSet = ss
		b.building[t].set = ss.setFunc()
		b.building[t].setDepth = 1 + sp.setDepth
	}
	return sp.decode, nil
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
		ss.fields[i] = setField{f.offset, f.op, f.set, f.dec.typ}
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
	var seen uint64 // bit i: fields[i] had a key, for i < 64
	for i := range fields {
		f := &fields[i]
		v, ok := d[keys[i]]
		if !ok {
			continue
		}
		seen |= 1 << (i & 63)
		q := unsafe.Add(p, f.offset)
		switch f.op {
		case inlineString:
			s, ok := v.(string)
			if !ok || isJSONBytes(s) {
				return false
			}
			*(*string)(q) = s
		case inlineBool:
			b, ok := v.(bool)
			if !ok {
				return false
			}
			*(*bool)(q) = b
		case inlineInt:
			switch x := v.(type) {
			case int64:
				if int64(int(x)) != x {
					return false
				}
				*(*int)(q) = int(x)
			case int:
				*(*int)(q) = x
			default:
				if !f.set(v, q) {
					return false
				}
			}
		case inlineInt64:
			switch x := v.(type) {
			case int64:
				*(*int64)(q) = x
			case int:
				*(*int64)(q) = int64(x)
			default:
				if !f.set(v, q) {
					return false
				}
			}
		case inlineFloat64:
			if x, ok := v.(float64); ok {
				*(*float64)(q) = x
			} else if !f.set(v, q) {
				return false
			}
		default:
			if !f.set(v, q) {
				return false
			}
		}
		n++
	}
	if n != len(d) {
		return false
	}
	if n < len(fields) {
		for i := range fields {
			f := &fields[i]
			if i < 64 && seen&(1<<i) != 0 || i >= 64 && hasKey(d, keys[i]) {
				continue
			}
			if q := unsafe.Add(p, f.offset); !isZeroMemory(q, f.typ.Size()) {
				reflect.NewAt(f.typ, q).Elem().SetZero()
			}
		}
	}
	return true
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

func (sp *structPlan) decode(src any, dst reflect.Value, depth int) error {
	// A dict first: it is what every transport delivers, and never a
	// value of the struct's own type.
	d, ok := plainDict(src)
	if !ok {
		if sameType(src, dst) {
			return nil
		}
		if d, ok = dictOf(src); !ok {
			return mismatch(src, sp.typ)
		}
	}
	if depth >= MaxDepth {
		return tooDeep()
	}
	// Keys that name a field exactly, the usual case, with one lookup per
	// field; then, only if d has other keys, those that match a field
	// ignoring case.
	var p unsafe.Pointer // for the fields' setFuncs
	if dst.CanSet() && depth+1+sp.setDepth <= MaxDepth {
		p = unsafe.Pointer(dst.UnsafeAddr()) // not Addr: that looks up *T
	}
	n, err := sp.decodeExact(d, p, dst, depth)
	if err != nil || n == len(d) {
		return err
	}
	return sp.decodeFolded(d, dst, depth)
}

// decodeExact decodes the values of the keys of d that name a field
// exactly into the struct dst at depth, each by its field's setFunc when
// p, dst's address, is not nil and the setFunc takes it, else by the
// field's decoder. It returns how many it decoded.
func (sp *structPlan) decodeExact(d wamp.Dict, p unsafe.Pointer, dst reflect.Value, depth int) (int, error) {
	n := 0
	for i := range sp.fields {
		f := &sp.fields[i]
		v, ok := d[f.name]
		if !ok {
			continue
		}
		n++
		if p != nil && f.set != nil && f.set(v, unsafe.Add(p, f.offset)) {
			continue
		}
		if err := f.decode(dst, f.name, v, depth+1); err != nil {
			return n, err
		}
	}
	return n, nil
}

// decodeFolded decodes the keys of d that name a field only ignoring
// case. Such a key counts when no key names that field exactly; two such
// keys for one field are ambiguous (a dict has no order to pick the last,
// as encoding/json does in an object).
func (sp *structPlan) decodeFolded(d wamp.Dict, dst reflect.Value, depth int) error {
	var folded map[*fieldDecoder]string
	for k, v := range d {
		if sp.byName[k] != nil {
			continue
		}
		f := sp.byFold[strings.ToLower(k)]
		if f == nil || hasKey(d, f.name) {
			continue
		}
		if other, dup := folded[f]; dup {
			k1, k2 := min(k, other), max(k, other)
			return &ArgumentError{Msg: fmt.Sprintf("keys %q and %q both name field %s of %s (ignoring case)", k1, k2, f.name, sp.typ)}
		}
		if folded == nil {
			folded = make(map[*fieldDecoder]string, 1)
		}
		folded[f] = k
		if err := f.decode(dst, k, v, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// quotedDecoder decodes a field of type t with the json option ",string":
// a string holding the value as encoding/json writes it, parsed as
// strictly as encoding/json parses it (no fraction into an integer, no
// overflow). null leaves a pointer field nil.
func quotedDecoder(t reflect.Type) decodeFunc {
	return func(src any, dst reflect.Value, _ int) error {
		if src == nil && t.Kind() == reflect.Pointer {
			dst.SetZero()
			return nil
		}
		s, ok := src.(string)
		if !ok || isJSONBytes(s) {
			return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String() + ": want a string (json option \",string\")"}
		}
		v := reflect.New(t)
		if err := json.Unmarshal([]byte(s), v.Interface()); err != nil || (t.Kind() == reflect.Pointer && v.Elem().IsNil()) {
			return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String() + " (json option \",string\")", Err: err}
		}
		dst.Set(v.Elem())
		return nil
	}
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded
// struct pointers on the way. A nil embedded pointer to an unexported
// struct type cannot be set: its fields are an error, as in encoding/json.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	if len(index) == 1 { // not embedded: the usual case
		return v.Field(index[0]), nil
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, &ArgumentError{Msg: "cannot set embedded pointer to unexported struct " + v.Type().Elem().String()}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// textDecoder decodes a type implementing encoding.TextUnmarshaler from a
// string only, as encoding/json does: a number or another value is not a
// way around the type's own validation.
func textDecoder(t reflect.Type) decodeFunc {
	return func(src any, dst reflect.Value, depth int) error {
		if s, ok := src.(string); ok && !isJSONBytes(s) {
			if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return &ArgumentError{Msg: "cannot use " + describe(src) + " as " + t.String() + ": " + err.Error(), Err: err}
			}
			return nil
		}
		if sameType(src, dst) {
			return nil
		}
		return mismatch(src, t)
	}
}
