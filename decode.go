package wampfn

// Serving a call (stage 4): the decoders, which turn a WAMP value as a
// transport delivers it into a Go value of a parameter's type, strictly
// (a bound func's results come back through them too).

import (
	"bytes"
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
			return nil, &unsupportedTypeError{fmt.Sprintf("interface %s has methods; only an empty interface can hold a WAMP value", t)}
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
			return bytesDecoder(t, elem, b.building[t]), nil
		}
		return sliceDecoder(t, elem, b.building[t]), nil
	case reflect.Array:
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return arrayDecoder(t, elem), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, &unsupportedTypeError{fmt.Sprintf("map key type %s is not a string; WAMP dict keys are strings", t.Key())}
		}
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return mapDecoder(t, elem), nil
	case reflect.Struct:
		return structDecoder(t, b)
	}
	return nil, &unsupportedTypeError{fmt.Sprintf("%s cannot be decoded from a WAMP value", t)}
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

// A floatFit says whether a number fits a float type (see floatFor).
type floatFit uint8

const (
	floatFits       floatFit = iota
	floatInexact             // an integer that the float would change
	floatOutOfRange          // a finite float beyond the type's range
)

// floatFor returns the number k, i, u, f (as number returns it) as a
// value of a float type of bits bits (32 or 64), held in a float64, and
// whether it fits. A float fits rounded to the type, unless it rounds to
// an infinity. An integer fits when the type holds it exactly, or when it
// is the shortest decimal form of the float nearest to it: how
// JavaScript, encoding/json and others write a float of no fraction
// (1234567890123456800 for 1.2345678901234568e18, 271063100 for the
// float32 271063104), so it is a float that the caller sent. Any other
// integer (2^53+1 into a float64) would change on the way in.
func floatFor(k numKind, i int64, u uint64, f float64, bits int) (float64, floatFit) {
	switch k {
	case floatNumber:
		if bits == 32 {
			r := float64(float32(f))
			if math.IsInf(r, 0) && !math.IsInf(f, 0) {
				return f, floatOutOfRange
			}
			return r, floatFits
		}
		return f, floatFits
	case signedNumber:
		if bits == 32 {
			f = float64(float32(i)) // rounded once, from the integer
		} else {
			f = float64(i)
		}
		if f < twoTo63 && int64(f) == i {
			return f, floatFits
		}
		var buf [24]byte
		return f, shortestFit(f, bits, strconv.AppendInt(buf[:0], i, 10))
	case unsignedNumber:
		if bits == 32 {
			f = float64(float32(u))
		} else {
			f = float64(u)
		}
		if f < 2*twoTo63 && uint64(f) == u {
			return f, floatFits
		}
		var buf [24]byte
		return f, shortestFit(f, bits, strconv.AppendUint(buf[:0], u, 10))
	}
	return f, floatFits
}

// shortestFit reports whether dec, an integer's decimal digits, is the
// shortest decimal form of f, a float of bits bits nearest to it.
func shortestFit(f float64, bits int, dec []byte) floatFit {
	var buf [32]byte
	if string(strconv.AppendFloat(buf[:0], f, 'f', -1, bits)) == string(dec) {
		return floatFits
	}
	return floatInexact
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

// decodeFloat takes a number as floatFor says: any float in the type's
// range, rounded; an integer that the type holds exactly (a float64 every
// integer up to 2^53, a float32 up to 2^24, larger ones only when round
// enough), or that is the shortest decimal of a float.
func decodeFloat(src any, dst reflect.Value, _ int) error {
	k, i, u, f := number(src)
	if k == notNumber {
		return mismatch(src, dst.Type())
	}
	f, fit := floatFor(k, i, u, f, dst.Type().Bits())
	switch fit {
	case floatInexact:
		return inexact(src, dst.Type())
	case floatOutOfRange:
		return outOfRange(src, dst.Type())
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

// sliceDecoder returns the decoder of slice type t, whose plan is self:
// its setFunc, when it has one (a []int, say), takes a list whose elements
// convert without question in one loop.
func sliceDecoder(t reflect.Type, elem, self *decoder) decodeFunc {
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
		if self.set != nil && dst.CanSet() && self.set(l, unsafe.Pointer(dst.UnsafeAddr())) {
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
func bytesDecoder(t reflect.Type, elem, self *decoder) decodeFunc {
	list := sliceDecoder(t, elem, self)
	return func(src any, dst reflect.Value, depth int) error {
		var b []byte
		switch x := src.(type) {
		case []byte:
			b = bytes.Clone(x) // empty stays empty, as "\x00" on JSON: nil only for nil
		case serialize.BinaryData:
			b = bytes.Clone(x)
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
	// One key and one value, reused, in one allocation: a key converted
	// from each k would allocate.
	entry := reflect.StructOf([]reflect.StructField{{Name: "K", Type: t.Key()}, {Name: "V", Type: elem.typ}})
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
		// A setFunc that takes a value sets all of ev; the decoder starts
		// from zero.
		e := reflect.New(entry).Elem()
		kv, ev := e.Field(0), e.Field(1)
		kp := (*string)(unsafe.Pointer(kv.UnsafeAddr())) // the key's kind is String
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
	// whose type has one; else set is nil.
	set    setFunc
	offset uintptr
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
				return nil, &unsupportedTypeError{fmt.Sprintf("field %s of %s: %s", f.goName, t, ue.why)}
			}
			return nil, err
		}
		fd := &sp.fields[i]
		*fd = fieldDecoder{name: f.name, index: f.index, dec: dec}
		if len(f.index) == 1 && dec.set != nil {
			fd.set, fd.offset = dec.set, t.Field(f.index[0]).Offset
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
