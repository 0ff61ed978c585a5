package wampfn

import (
	"encoding"
	"fmt"
	"reflect"

	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
)

// An encodeFunc converts a Go value into a plain WAMP value: nil, bool,
// an integer, a float, string, serialize.BinaryData, wamp.List or
// wamp.Dict, so that an in-process caller sees the shape a network caller
// sees. depth counts the containers above v.
type encodeFunc func(v reflect.Value, depth int) (any, error)

type encoder = plan[encodeFunc]

var (
	encoders          = &planCache[encodeFunc]{}
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func init() { encoders.build = makeEncodeFunc }

// encoderFor returns the encoder for t, building it on first use.
func encoderFor(t reflect.Type) (*encoder, error) { return encoders.get(t) }

// isPlain reports whether v goes on the wire as it is.
func isPlain(v any) bool {
	switch v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, float32, float64, serialize.BinaryData:
		return true
	}
	return false
}

// encodeAny converts a value of any type into a plain WAMP value.
func encodeAny(v any, depth int) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, float32, float64, serialize.BinaryData:
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
		return nil, err
	}
	return e.fn(v, depth)
}

func tooDeepResult() error {
	return fmt.Errorf("wampfn: value nested deeper than %d levels (is it cyclic?)", MaxDepth)
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
			return nil, err
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
			return nil, err
		}
	}
	return out, nil
}

func makeEncodeFunc(t reflect.Type, b *planBuild[encodeFunc]) (encodeFunc, error) {
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && t.Implements(textMarshalerType) {
		return encodeText, nil
	}
	named := t.PkgPath() != ""
	switch t.Kind() {
	case reflect.Bool:
		if named {
			return func(v reflect.Value, _ int) (any, error) { return v.Bool(), nil }, nil
		}
		return encodeInterface, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if named {
			return func(v reflect.Value, _ int) (any, error) { return v.Int(), nil }, nil
		}
		return encodeInterface, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if named || t.Kind() == reflect.Uintptr {
			return func(v reflect.Value, _ int) (any, error) { return v.Uint(), nil }, nil
		}
		return encodeInterface, nil
	case reflect.Float32, reflect.Float64:
		if named {
			return func(v reflect.Value, _ int) (any, error) { return v.Float(), nil }, nil
		}
		return encodeInterface, nil
	case reflect.String:
		if named {
			return func(v reflect.Value, _ int) (any, error) { return v.String(), nil }, nil
		}
		return encodeInterface, nil
	case reflect.Interface:
		return func(v reflect.Value, depth int) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			return encodeAny(v.Elem().Interface(), depth)
		}, nil
	case reflect.Pointer:
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return func(v reflect.Value, depth int) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			if depth >= MaxDepth {
				return nil, tooDeepResult()
			}
			return elem.fn(v.Elem(), depth+1)
		}, nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return func(v reflect.Value, _ int) (any, error) {
				if v.IsNil() {
					return nil, nil
				}
				return serialize.BinaryData(v.Bytes()), nil
			}, nil
		}
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
		return func(v reflect.Value, depth int) (any, error) {
			if v.Kind() == reflect.Slice && v.IsNil() {
				return nil, nil
			}
			if depth >= MaxDepth {
				return nil, tooDeepResult()
			}
			l := make(wamp.List, v.Len())
			for i := range l {
				var err error
				if l[i], err = elem.fn(v.Index(i), depth+1); err != nil {
					return nil, err
				}
			}
			return l, nil
		}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, &unsupportedTypeError{t, fmt.Sprintf("map key type %s is not a string; WAMP dict keys are strings", t.Key())}
		}
		elem, err := b.plan(t.Elem())
		if err != nil {
			return nil, err
		}
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
					return nil, err
				}
				d[it.Key().String()] = x
			}
			return d, nil
		}, nil
	case reflect.Struct:
		return structEncoder(t, b)
	}
	return nil, &unsupportedTypeError{t, fmt.Sprintf("%s cannot be sent as a WAMP value", t)}
}

func encodeInterface(v reflect.Value, _ int) (any, error) { return v.Interface(), nil }

func encodeText(v reflect.Value, _ int) (any, error) {
	text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return nil, fmt.Errorf("wampfn: %s.MarshalText: %w", v.Type(), err)
	}
	return string(text), nil
}

type fieldEncoder struct {
	name      string
	index     []int
	omitEmpty bool
	enc       *encoder
}

// structEncoder encodes a struct as a dict keyed the way encoding/json
// keys it.
func structEncoder(t reflect.Type, b *planBuild[encodeFunc]) (encodeFunc, error) {
	var fields []fieldEncoder
	for _, f := range structFields(t) {
		enc, err := b.plan(f.typ)
		if err != nil {
			if ue, ok := err.(*unsupportedTypeError); ok {
				return nil, &unsupportedTypeError{t, fmt.Sprintf("field %s of %s: %s", f.goName, t, ue.why)}
			}
			return nil, err
		}
		fields = append(fields, fieldEncoder{f.name, f.index, f.omitEmpty, enc})
	}
	return func(v reflect.Value, depth int) (any, error) {
		if depth >= MaxDepth {
			return nil, tooDeepResult()
		}
		d := make(wamp.Dict, len(fields))
		for _, f := range fields {
			fv, ok := fieldOf(v, f.index)
			if !ok || (f.omitEmpty && isEmptyValue(fv)) {
				continue
			}
			x, err := f.enc.fn(fv, depth+1)
			if err != nil {
				return nil, err
			}
			d[f.name] = x
		}
		return d, nil
	}, nil
}

// fieldOf is reflect.Value.FieldByIndex that reports false where a nil
// embedded pointer hides the field.
func fieldOf(v reflect.Value, index []int) (reflect.Value, bool) {
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
