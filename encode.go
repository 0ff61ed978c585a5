package wampfn

// Serving a call (stage 6): the encoders, which turn a function's results
// into plain WAMP values (a bound func's arguments go out through them
// too).

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
)

// An encodeFunc converts a Go value into a plain WAMP value: nil, bool,
// an integer, a finite float, string, serialize.BinaryData, wamp.List or
// wamp.Dict, so that an in-process caller sees the shape a network caller
// sees. depth counts the containers above v.
type encodeFunc func(v reflect.Value, depth int) (any, error)

type encoder = plan[encodeFunc]

var (
	encoders          = &planCache[encodeFunc]{}
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

func init() { encoders.build = makeEncodeFunc }

// encoderFor returns the encoder for t, building it on first use.
func encoderFor(t reflect.Type) (*encoder, error) { return encoders.get(t) }

// An encodeError says why a value could not be sent, and where in it.
type encodeError struct {
	Path string // like "items[3].price"; "" for the value itself
	Msg  string
	Err  error
}

func (e *encodeError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return "at " + e.Path + ": " + e.Msg
}

func (e *encodeError) Unwrap() error { return e.Err }

// describeEncodeError is "result 2 at items[3].price: msg" for what.
func describeEncodeError(what string, err error) string {
	if ee, ok := err.(*encodeError); ok && ee.Path != "" {
		return what + " at " + ee.Path + ": " + ee.Msg
	}
	return what + ": " + err.Error()
}

// encodeFailure returns the error "what at path: msg" for err, an error
// from an encoder, wrapping err.
func encodeFailure(what string, err error) error {
	return &messageError{msg: describeEncodeError(what, err), err: err}
}

// messageError is an error with its own message that wraps another.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

// isPlain reports whether v goes on the wire as it is.
func isPlain(v any) bool {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, serialize.BinaryData:
		return true
	case float64:
		return isFinite(x)
	case float32:
		return isFinite(float64(x))
	}
	return false
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// notFinite is the error for a NaN or an infinity, which JSON cannot
// carry: an in-process caller must not see what a network caller cannot.
func notFinite(v any) error {
	return &encodeError{Msg: fmt.Sprintf("cannot send %T %v: WAMP values have no NaN or infinities (JSON cannot carry them)", v, v)}
}

// encodeAny converts a value of any type into a plain WAMP value, by its
// dynamic type, exactly as a result of that type is converted.
func encodeAny(v any, depth int) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, serialize.BinaryData:
		return v, nil
	case float64:
		if !isFinite(x) {
			return nil, notFinite(x)
		}
		return v, nil
	case float32:
		if !isFinite(float64(x)) {
			return nil, notFinite(x)
		}
		return v, nil
	case []byte:
		return serialize.BinaryData(x), nil
	case wamp.List:
		return encodeList(x, depth)
	case []any:
		return encodeList(x, depth)
	case wamp.Dict:
		return encodeDict(x, depth)
	case map[string]any:
		return encodeDict(x, depth)
	}
	return encodeValue(reflect.ValueOf(v), depth)
}

// encodeValue converts v with its type's cached encoder.
func encodeValue(v reflect.Value, depth int) (any, error) {
	e, err := encoderFor(v.Type())
	if err != nil {
		return nil, &encodeError{Msg: err.Error()}
	}
	return e.fn(v, depth)
}

func tooDeepResult() error {
	return &encodeError{Msg: fmt.Sprintf("value nested deeper than %d levels (is it cyclic?)", MaxDepth)}
}

// encodeList returns l itself when every element is plain, else a copy
// with every element encoded.
func encodeList(l []any, depth int) (wamp.List, error) {
	if depth >= MaxDepth {
		return nil, tooDeepResult()
	}
	plain := true
	for _, e := range l {
		if !isPlain(e) {
			plain = false
			break
		}
	}
	if plain {
		return l, nil
	}
	out := make(wamp.List, len(l))
	for i, e := range l {
		var err error
		if out[i], err = encodeAny(e, depth+1); err != nil {
			return nil, inside(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return out, nil
}

// encodeDict returns d itself when every value is plain, else a copy with
// every value encoded.
func encodeDict(d map[string]any, depth int) (wamp.Dict, error) {
	if depth >= MaxDepth {
		return nil, tooDeepResult()
	}
	plain := true
	for _, e := range d {
		if !isPlain(e) {
			plain = false
			break
		}
	}
	if plain {
		return d, nil
	}
	out := make(wamp.Dict, len(d))
	for k, e := range d {
		var err error
		if out[k], err = encodeAny(e, depth+1); err != nil {
			return nil, inside(err, k)
		}
	}
	return out, nil
}

// canEncodeInterface reports whether every value of interface type t can
// be sent: t is empty, or its method set makes every value an error (sent
// as its message) or an encoding.TextMarshaler.
func canEncodeInterface(t reflect.Type) bool {
	return t.NumMethod() == 0 || t.Implements(errorType) || t.Implements(textMarshalerType)
}

func makeEncodeFunc(t reflect.Type, b *planBuild[encodeFunc]) (encodeFunc, error) {
	if t.Kind() != reflect.Interface {
		switch {
		case t.Implements(textMarshalerType):
			return nilOr(t, encodeText), nil
		case t.Implements(errorType):
			return nilOr(t, encodeErrorText), nil
		}
	}
	fn, err := makeKindEncodeFunc(t, b)
	if get := getterFor(t); err == nil && get != nil {
		b.building[t].get = get
	}
	return fn, err
}

func makeKindEncodeFunc(t reflect.Type, b *planBuild[encodeFunc]) (encodeFunc, error) {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return scalarEncoder(t), nil
	case reflect.Interface:
		if !canEncodeInterface(t) {
			return nil, &unsupportedTypeError{fmt.Sprintf("interface %s has methods that wampfn cannot send a value by; use any, error, or a concrete type", t)}
		}
		return encodeInterfaceValue, nil
	case reflect.Pointer:
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return pointerEncoder(elem), nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return encodeBytes, nil
		}
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return listEncoder(elem), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, &unsupportedTypeError{fmt.Sprintf("map key type %s is not a string; WAMP dict keys are strings", t.Key())}
		}
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return mapEncoder(elem), nil
	case reflect.Struct:
		return structEncoder(t, b)
	}
	return nil, &unsupportedTypeError{fmt.Sprintf("%s cannot be sent as a WAMP value", t)}
}

// scalarEncoder returns the encoder of t, a bool, integer, float or
// string type: the value itself for a built-in type, or, for a named one,
// its bool, int64, uint64, float64 or string. A uintptr goes as a uint64,
// and a NaN or an infinity is refused.
func scalarEncoder(t reflect.Type) encodeFunc {
	named := t.PkgPath() != ""
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value, _ int) (any, error) {
			f := v.Float()
			if !isFinite(f) {
				return nil, notFinite(v.Interface())
			}
			if named {
				return f, nil
			}
			return v.Interface(), nil
		}
	case reflect.Uintptr:
		named = true
	}
	if !named {
		return encodeInterface
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(v reflect.Value, _ int) (any, error) { return v.Bool(), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value, _ int) (any, error) { return v.Int(), nil }
	case reflect.String:
		return func(v reflect.Value, _ int) (any, error) { return v.String(), nil }
	}
	return func(v reflect.Value, _ int) (any, error) { return v.Uint(), nil }
}

// encodeInterfaceValue encodes a value of an interface type by its
// dynamic value; nil is null.
func encodeInterfaceValue(v reflect.Value, depth int) (any, error) {
	if v.IsNil() {
		return nil, nil
	}
	return encodeAny(v.Elem().Interface(), depth)
}

func pointerEncoder(elem *encoder) encodeFunc {
	return func(v reflect.Value, depth int) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		if depth >= MaxDepth {
			return nil, tooDeepResult()
		}
		return elem.fn(v.Elem(), depth+1)
	}
}

// encodeBytes encodes a []byte as binary data; nil is null.
func encodeBytes(v reflect.Value, _ int) (any, error) {
	if v.IsNil() {
		return nil, nil
	}
	return serialize.BinaryData(v.Bytes()), nil
}

// listEncoder returns the encoder of a slice or array of elem, each
// element by elem's getFunc when it has one and takes it, else by its
// encoder; a nil slice is null.
func listEncoder(elem *encoder) encodeFunc {
	return func(v reflect.Value, depth int) (any, error) {
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil, nil
		}
		if depth >= MaxDepth {
			return nil, tooDeepResult()
		}
		l := make(wamp.List, v.Len())
		get, p := elemsGetter(v, elem, depth)
		size := elem.typ.Size()
		for i := range l {
			if get != nil {
				var ok bool
				if l[i], ok = get(unsafe.Add(p, uintptr(i)*size)); ok {
					continue
				}
			}
			var err error
			if l[i], err = elem.fn(v.Index(i), depth+1); err != nil {
				return nil, inside(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return l, nil
	}
}

// mapEncoder returns the encoder of a map with string keys to elem; nil
// is null.
func mapEncoder(elem *encoder) encodeFunc {
	return func(v reflect.Value, depth int) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		if depth >= MaxDepth {
			return nil, tooDeepResult()
		}
		d := make(wamp.Dict, v.Len())
		for it := v.MapRange(); it.Next(); {
			x, err := elem.fn(it.Value(), depth+1)
			if err != nil {
				return nil, inside(err, it.Key().String())
			}
			d[it.Key().String()] = x
		}
		return d, nil
	}
}

// A getFunc is the fast path of an encoder, as a setFunc is a decoder's:
// it returns the WAMP value of the value at p, a pointer to a value of the
// encoder's type, and false when the encoder must run instead (for a NaN
// or an infinity, which it refuses). Bool, string, integer and float types
// that the encoder encodes by their kind have one, and so has a struct of
// such fields without the json options omitempty, omitzero and string; the
// encoder's plan holds it. Where reflect.Value.Interface copies each value
// into new memory, a getFunc boxes it as a Go conversion does (an integer
// below 256 allocates nothing). Like a setFunc, it does not count depth.
type getFunc func(p unsafe.Pointer) (any, bool)

// getterFor returns the getFunc of t, a type that makeKindEncodeFunc
// encodes, or nil when t has none or, a struct, records its own (see
// structEncoder). The getFunc returns what t's encodeFunc returns: the
// value itself, or, for a named numeric type, its int64, uint64 or
// float64.
func getterFor(t reflect.Type) getFunc {
	named := t.PkgPath() != ""
	switch t.Kind() {
	case reflect.Bool:
		return valueGetter[bool]()
	case reflect.String:
		return valueGetter[string]()
	case reflect.Int:
		return intGetter[int](named)
	case reflect.Int8:
		return intGetter[int8](named)
	case reflect.Int16:
		return intGetter[int16](named)
	case reflect.Int32:
		return intGetter[int32](named)
	case reflect.Int64:
		return intGetter[int64](named)
	case reflect.Uint:
		return uintGetter[uint](named)
	case reflect.Uint8:
		return uintGetter[uint8](named)
	case reflect.Uint16:
		return uintGetter[uint16](named)
	case reflect.Uint32:
		return uintGetter[uint32](named)
	case reflect.Uint64:
		return uintGetter[uint64](named)
	case reflect.Uintptr:
		return uintGetter[uintptr](true)
	case reflect.Float32:
		return floatGetter[float32](named)
	case reflect.Float64:
		return floatGetter[float64](named)
	}
	return nil
}

// (Each returns a closure, as the setters do, for one call less.)

func valueGetter[T any]() getFunc {
	return func(p unsafe.Pointer) (any, bool) { return *(*T)(p), true }
}

func intGetter[T int | int8 | int16 | int32 | int64](named bool) getFunc {
	if named {
		return func(p unsafe.Pointer) (any, bool) { return int64(*(*T)(p)), true }
	}
	return valueGetter[T]()
}

func uintGetter[T uint | uint8 | uint16 | uint32 | uint64 | uintptr](named bool) getFunc {
	if named {
		return func(p unsafe.Pointer) (any, bool) { return uint64(*(*T)(p)), true }
	}
	return valueGetter[T]()
}

func floatGetter[T float32 | float64](named bool) getFunc {
	return func(p unsafe.Pointer) (any, bool) {
		f := *(*T)(p)
		switch {
		case !isFinite(float64(f)):
			return nil, false
		case named:
			return float64(f), true
		}
		return f, true
	}
}

// elemsGetter returns the getFunc of the elements of v, a slice or an
// array at depth, and a pointer to its first element; nil when there is
// none or v's elements are not addressable.
func elemsGetter(v reflect.Value, elem *encoder, depth int) (getFunc, unsafe.Pointer) {
	if elem.get == nil || depth+1 >= MaxDepth || v.Len() == 0 {
		return nil, nil
	}
	if first := v.Index(0); first.CanAddr() {
		return elem.get, unsafe.Pointer(first.UnsafeAddr())
	}
	return nil, nil
}

// nilOr returns enc, preceded for a pointer type t by a nil check: a nil
// pointer is sent as null and its methods are not called.
func nilOr(t reflect.Type, enc encodeFunc) encodeFunc {
	if t.Kind() != reflect.Pointer {
		return enc
	}
	return func(v reflect.Value, depth int) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		return enc(v, depth)
	}
}

func encodeInterface(v reflect.Value, _ int) (any, error) { return v.Interface(), nil }

func encodeText(v reflect.Value, _ int) (any, error) {
	text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return nil, &encodeError{Msg: fmt.Sprintf("%s.MarshalText: %v", v.Type(), err), Err: err}
	}
	return string(text), nil
}

// encodeErrorText sends an error value as its message, which is what a caller
// can use of it.
func encodeErrorText(v reflect.Value, _ int) (any, error) {
	return v.Interface().(error).Error(), nil
}

type fieldEncoder struct {
	name      string
	index     []int
	omitEmpty bool
	isZero    func(reflect.Value) bool // for omitzero; nil without it
	quoted    bool                     // the json option ",string"
	enc       *encoder                 // nil when quoted
	// get is the field type's getFunc and offset the field's offset, for
	// a field of the struct itself (not promoted from an embedded one)
	// without omitempty, omitzero and string whose type has one; else get
	// is nil.
	get    getFunc
	offset uintptr
}

// structEncoder encodes a struct as a dict keyed the way encoding/json
// keys it. When each of its fields is its own (not promoted), has a
// getFunc and is not a struct, it records the struct's getFunc in b.
func structEncoder(t reflect.Type, b *planBuild[encodeFunc]) (encodeFunc, error) {
	fields, flat, err := fieldEncoders(t, b)
	if err != nil {
		return nil, err
	}
	se := &structEncoding{fields}
	if flat {
		b.building[t].get = se.get
	}
	return se.encode, nil
}

// fieldEncoders plans the fields of struct type t, and reports whether
// the struct can have a getFunc.
func fieldEncoders(t reflect.Type, b *planBuild[encodeFunc]) (fields []fieldEncoder, flat bool, err error) {
	sfs, err := structFields(t)
	if err != nil {
		return nil, false, err
	}
	fields = make([]fieldEncoder, 0, len(sfs))
	flat = true
	for _, f := range sfs {
		fe := fieldEncoder{name: f.name, index: f.index, omitEmpty: f.omitEmpty, quoted: f.quoted}
		if f.omitZero {
			fe.isZero = zeroTest(f.typ)
		}
		if !f.quoted {
			if fe.enc, err = b.plan(f.typ); err != nil {
				if ue, ok := err.(*unsupportedTypeError); ok {
					return nil, false, &unsupportedTypeError{fmt.Sprintf("field %s of %s: %s", f.goName, t, ue.why)}
				}
				return nil, false, err
			}
			if len(f.index) == 1 && !f.omitEmpty && !f.omitZero {
				fe.get, fe.offset = fe.enc.get, t.Field(f.index[0]).Offset
			}
		}
		flat = flat && fe.get != nil && f.typ.Kind() != reflect.Struct
		fields = append(fields, fe)
	}
	return fields, flat, nil
}

// A structEncoding is the plan of a struct's encoder.
type structEncoding struct {
	fields []fieldEncoder
}

// get is the struct's getFunc, when every field has one.
func (se *structEncoding) get(p unsafe.Pointer) (any, bool) {
	d := make(wamp.Dict, len(se.fields))
	for i := range se.fields {
		f := &se.fields[i]
		x, ok := f.get(unsafe.Add(p, f.offset))
		if !ok {
			return nil, false
		}
		d[f.name] = x
	}
	return d, true
}

// encode is the struct's encodeFunc: each field by its getFunc when it has
// one and takes the value, else by its encoder.
func (se *structEncoding) encode(v reflect.Value, depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, tooDeepResult()
	}
	var p unsafe.Pointer // for the fields' getFuncs
	if v.CanAddr() && depth+1 < MaxDepth {
		p = unsafe.Pointer(v.UnsafeAddr())
	}
	d := make(wamp.Dict, len(se.fields))
	for i := range se.fields {
		f := &se.fields[i]
		if p != nil && f.get != nil {
			if x, ok := f.get(unsafe.Add(p, f.offset)); ok {
				d[f.name] = x
				continue
			}
		}
		fv, ok := fieldOf(v, f.index)
		if !ok || (f.omitEmpty && isEmptyValue(fv)) || (f.isZero != nil && f.isZero(fv)) {
			continue
		}
		var x any
		var err error
		if f.quoted {
			x, err = encodeQuoted(fv)
		} else {
			x, err = f.enc.fn(fv, depth+1)
		}
		if err != nil {
			return nil, inside(err, f.name)
		}
		d[f.name] = x
	}
	return d, nil
}

// encodeQuoted encodes a field with the json option ",string": its value
// as encoding/json writes it, in a string.
func encodeQuoted(v reflect.Value) (any, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
	}
	if (v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64) && !isFinite(v.Float()) {
		return nil, notFinite(v.Interface())
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, &encodeError{Msg: err.Error(), Err: err}
	}
	return string(b), nil
}

// zeroTest returns encoding/json's test for omitzero on a field of type
// t: its IsZero method when it has one, else reflect.Value.IsZero.
func zeroTest(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(interface{ IsZero() bool }).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// fieldOf is reflect.Value.FieldByIndex that reports false where a nil
// embedded pointer hides the field.
func fieldOf(v reflect.Value, index []int) (reflect.Value, bool) {
	if len(index) == 1 { // not embedded: the usual case
		return v.Field(index[0]), true
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
