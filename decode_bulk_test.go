package wampfn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Tests of the fast paths of decoding and encoding (setFunc, getFunc):
// they must take exactly what the decoders and encoders take, give what
// they give, and leave every error to them, so that errors still name the
// element.

type (
	fastLevel int8
	fastRatio float32
	fastName  string
)

// fastTypes are the types with a setFunc and a getFunc, named ones too.
var fastTypes = []reflect.Type{
	reflect.TypeFor[bool](), reflect.TypeFor[string](), reflect.TypeFor[fastName](),
	reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](),
	reflect.TypeFor[int64](), reflect.TypeFor[fastLevel](),
	reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](),
	reflect.TypeFor[uint64](), reflect.TypeFor[uintptr](),
	reflect.TypeFor[float32](), reflect.TypeFor[float64](), reflect.TypeFor[fastRatio](),
}

// fastValues are values as the transports deliver them and as Go callers
// send them, edges included.
var fastValues = []any{
	nil, true, false, "", "x", "\x00AAE=", "hällo",
	int64(0), int64(-1), int64(127), int64(128), int64(-129), int64(255), int64(256), int64(65536),
	int64(math.MaxInt32), int64(math.MaxInt32 + 1), int64(math.MinInt32), int64(math.MaxInt64), int64(math.MinInt64),
	int64(1<<53 + 1), int64(1<<24 + 1), int64(1 << 60),
	uint64(0), uint64(7), uint64(math.MaxInt64), uint64(math.MaxInt64 + 1), uint64(math.MaxUint64), uint64(1<<53 + 1),
	0, -5, 300, math.MaxInt, math.MinInt,
	int8(-5), int32(70000), uint16(65535), uint32(1 << 31), uintptr(9), fastLevel(3),
	0.0, math.Copysign(0, -1), 1.5, 3.0, -2.0, 1e300, -1e300, float64(1 << 63), float64(1 << 64), -float64(1 << 63), 4503599627370496.5,
	math.MaxFloat32, math.MaxFloat32 * 1.0000001, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
	float32(1.5), float32(math.Inf(1)), fastRatio(0.25),
	wamp.List{1}, wamp.Dict{"a": 1}, []byte{1}, serialize.BinaryData{1},
}

// sameValue compares two values of one type, NaN equal to NaN.
func sameValue(a, b reflect.Value) bool {
	if k := a.Kind(); k == reflect.Float32 || k == reflect.Float64 {
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) ||
			math.IsNaN(a.Float()) && math.IsNaN(b.Float())
	}
	return a.Interface() == b.Interface()
}

// A setFunc takes a value only when the type's decoder takes it, and
// stores what the decoder stores.
func TestSetFuncsAgreeWithDecoders(t *testing.T) {
	for _, typ := range fastTypes {
		dec := mustDecoder(t, typ)
		require.NotNil(t, dec.set, "%s has a setFunc", typ)
		for _, src := range fastValues {
			fast := reflect.New(typ)
			took := dec.set(src, fast.UnsafePointer())
			slow := reflect.New(typ).Elem()
			err := dec.fn(src, slow, 0)
			if took {
				require.NoError(t, err, "%s from %T %v: the setFunc took what the decoder refuses", typ, src, src)
				require.True(t, sameValue(fast.Elem(), slow), "%s from %T %v: setFunc %v, decoder %v", typ, src, src, fast.Elem(), slow)
			}
		}
	}
	// What the transports deliver for each kind goes the fast way.
	for _, tc := range []struct {
		typ reflect.Type
		src any
	}{
		{reflect.TypeFor[string](), "x"}, {reflect.TypeFor[bool](), true},
		{reflect.TypeFor[int](), int64(-3)}, {reflect.TypeFor[int](), uint64(3)}, {reflect.TypeFor[int](), 3},
		{reflect.TypeFor[int8](), int64(-128)}, {reflect.TypeFor[uint32](), int64(7)}, {reflect.TypeFor[uint32](), uint64(7)},
		{reflect.TypeFor[float64](), 1.5}, {reflect.TypeFor[float64](), int64(3)}, {reflect.TypeFor[float32](), 0.1},
	} {
		fast := reflect.New(tc.typ).UnsafePointer()
		require.True(t, mustDecoder(t, tc.typ).set(tc.src, fast), "%s from %T %v", tc.typ, tc.src, tc.src)
	}
}

// A getFunc gives what the type's encoder gives, or leaves the value to
// it.
func TestGetFuncsAgreeWithEncoders(t *testing.T) {
	for _, typ := range fastTypes {
		enc, err := encoderFor(typ)
		require.NoError(t, err)
		require.NotNil(t, enc.get, "%s has a getFunc", typ)
		for _, src := range fastValues {
			v := reflect.New(typ).Elem()
			if decodeErr := mustDecoder(t, typ).fn(src, v, 0); decodeErr != nil {
				continue
			}
			want, wantErr := enc.fn(v, 0)
			got, ok := enc.get(unsafe.Pointer(v.UnsafeAddr()))
			if !ok {
				require.Error(t, wantErr, "%s %v: the getFunc refused what the encoder takes", typ, v)
				continue
			}
			require.NoError(t, wantErr)
			require.Equal(t, reflect.TypeOf(want), reflect.TypeOf(got), "%s %v", typ, v)
			require.True(t, sameValue(reflect.ValueOf(want), reflect.ValueOf(got)), "%s %v: getFunc %v, encoder %v", typ, v, got, want)
		}
	}
	nan := struct {
		A int     `json:"a"`
		F float64 `json:"f"`
	}{1, math.NaN()}
	enc, err := encoderFor(reflect.TypeOf(nan))
	require.NoError(t, err)
	_, ok := enc.get(unsafe.Pointer(&nan))
	require.False(t, ok, "a NaN field is the encoder's to refuse")
}

func mustDecoder(t *testing.T, typ reflect.Type) *decoder {
	dec, err := decoderFor(typ)
	require.NoError(t, err)
	return dec
}

type (
	fastInner struct {
		A int `json:"a"`
	}
	// fastOuter has a field reached through an embedded struct (decoded
	// by reflection) next to one of the same type of its own (by its
	// setFunc).
	fastOuter struct {
		fastInner
		B int `json:"b"`
	}
)

// A field decoded by its setFunc and one decoded by reflection take the
// same values and refuse the same with the same message.
func TestFastAndReflectedFieldsAgree(t *testing.T) {
	dec := mustDecoder(t, reflect.TypeFor[fastOuter]())
	require.Nil(t, dec.set, "a struct with a promoted field has no setFunc")
	for _, src := range fastValues {
		viaA, viaB := reflect.New(dec.typ).Elem(), reflect.New(dec.typ).Elem()
		errA := dec.fn(wamp.Dict{"a": src}, viaA, 0)
		errB := dec.fn(wamp.Dict{"b": src}, viaB, 0)
		if errA != nil {
			require.Error(t, errB, "%T %v", src, src)
			require.Equal(t, strings.Replace(errA.Error(), "at a:", "at b:", 1), errB.Error())
			continue
		}
		require.NoError(t, errB, "%T %v", src, src)
		require.Equal(t, viaA.Interface().(fastOuter).A, viaB.Interface().(fastOuter).B, "%T %v", src, src)
	}
}

// A struct's setFunc takes a dict only when every key names a field
// exactly and every value is its field's setFunc's; its decoder gives the
// same struct, and decides everything else.
func TestStructSetFuncAgreesWithDecoder(t *testing.T) {
	dec := mustDecoder(t, reflect.TypeFor[bulkRec]())
	require.NotNil(t, dec.set)
	for _, d := range []wamp.Dict{
		{"name": "a", "count": int64(1), "score": 1.5},
		{"name": "a"},
		{},
		{"name": "a", "count": 1.5},
		{"name": "a", "count": 3.0},
		{"name": "\x00AA=="},
		{"name": "a", "other": 1},
		{"name": "a", "COUNT": int64(2)},
		{"count": int64(1), "COUNT": int64(2)},
		{"Count": int64(1), "COUNT": int64(2)},
		{"name": nil},
		{"score": "x"},
	} {
		// Into a value with every field set: a setFunc that takes d
		// sets every field, those d has no key for to zero, so that a
		// map's decoder can reuse one value.
		fast := reflect.ValueOf(&bulkRec{Name: "stale", Count: -1, Score: -1})
		took := dec.set(d, fast.UnsafePointer())
		slow := reflect.New(dec.typ).Elem()
		err := dec.fn(d, slow, 0)
		if took {
			require.NoError(t, err, "%v", d)
			require.Equal(t, slow.Interface(), fast.Elem().Interface(), "%v", d)
		}
	}
	// A struct of structs and lists has one too, for values its
	// decoder takes as they are.
	wide := mustDecoder(t, reflect.TypeFor[bulkWide]())
	require.NotNil(t, wide.set)
	require.Equal(t, 2, wide.setDepth)
	for i, d := range bulkWideVariants(bulkWideAt(3)) {
		fast := reflect.ValueOf(&bulkWide{Name: "stale", Tags: []string{"stale"}, Origin: bulkPoint{X: -1, Y: -1}, Count: 9})
		took := wide.set(d, fast.UnsafePointer())
		slow := reflect.New(wide.typ).Elem()
		err := wide.fn(d, slow, 0)
		if took {
			require.NoError(t, err, "variant %d: %v", i, d)
			require.Equal(t, slow.Interface(), fast.Elem().Interface(), "variant %d: %v", i, d)
		}
		if i == 0 {
			require.True(t, took, "a complete dict as the transports deliver it goes the fast way")
		}
	}
}

// bulkWideVariants returns w as a dict as the transports deliver it, then
// variants of it that the fast paths must leave to the decoder, or take
// and decode alike: keys missing, an extra key, keys differing in case,
// values of other types, out of range or not exact, JSON bytes for a
// string, and the nested dict and list likewise.
func bulkWideVariants(w bulkWide) []wamp.Dict {
	edit := func(f func(d wamp.Dict)) wamp.Dict {
		d := bulkWideDict(w)
		f(d)
		return d
	}
	return []wamp.Dict{
		bulkWideDict(w),
		edit(func(d wamp.Dict) { delete(d, "name"); delete(d, "origin") }),
		edit(func(d wamp.Dict) { delete(d, "tags") }),
		edit(func(d wamp.Dict) { d["extra"] = 1 }),
		edit(func(d wamp.Dict) { d["NOTE"] = d["note"]; delete(d, "note") }),
		edit(func(d wamp.Dict) { d["Note"] = "folded" }),
		edit(func(d wamp.Dict) { d["id"] = uint64(7) }),
		edit(func(d wamp.Dict) { d["id"] = 7.0 }),
		edit(func(d wamp.Dict) { d["id"] = 7.5 }),
		edit(func(d wamp.Dict) { d["count"] = int64(-1) }),
		edit(func(d wamp.Dict) { d["count"] = uint64(1 << 40) }),
		edit(func(d wamp.Dict) { d["level"] = int64(128) }),
		edit(func(d wamp.Dict) { d["score"] = int64(1 << 53) }),
		edit(func(d wamp.Dict) { d["score"] = int64(1<<53 + 1) }),
		edit(func(d wamp.Dict) { d["ratio"] = 1e300 }),
		edit(func(d wamp.Dict) { d["active"] = "yes" }),
		edit(func(d wamp.Dict) { d["name"] = "\x00AAE=" }),
		edit(func(d wamp.Dict) { d["name"] = nil }),
		edit(func(d wamp.Dict) { d["tags"] = wamp.List{"a", int64(1)} }),
		edit(func(d wamp.Dict) { d["tags"] = wamp.List{} }),
		edit(func(d wamp.Dict) { d["tags"] = nil }),
		edit(func(d wamp.Dict) { d["tags"] = []string{"go", "slice"} }),
		edit(func(d wamp.Dict) { d["origin"] = wamp.Dict{"x": 1.5} }),
		edit(func(d wamp.Dict) { d["origin"] = wamp.Dict{"x": 1.5, "y": "north"} }),
		edit(func(d wamp.Dict) { d["origin"] = wamp.Dict{"X": 1.5, "y": 2.5} }),
		edit(func(d wamp.Dict) { d["origin"] = bulkPoint{X: 1, Y: 2} }),
		edit(func(d wamp.Dict) { d["origin"] = nil }),
		// Keys missing and a value for the decoder to convert: the
		// decoder, not the fast path, leaves the missing fields zero.
		edit(func(d wamp.Dict) { delete(d, "name"); delete(d, "tags"); d["id"] = 7.0 }),
		edit(func(d wamp.Dict) { delete(d, "origin"); d["NAME"] = "folded" }),
		{},
	}
}

// withFreshKeys returns d with keys of its own (equal, not the same
// strings), as a network transport delivers them.
func withFreshKeys(d wamp.Dict) wamp.Dict {
	out := make(wamp.Dict, len(d))
	for k, v := range d {
		out[strings.Clone(k)] = v
	}
	return out
}

// A list or map of structs decodes as its elements decode one by one into
// values of their own, whichever elements come first: the fast paths
// (each struct set in place, fields looked up by the first element's own
// keys, one map value reused) change nothing but speed.
func TestBulkFastPathsAgree(t *testing.T) {
	listDec := mustDecoder(t, reflect.TypeFor[[]bulkWide]())
	mapDec := mustDecoder(t, reflect.TypeFor[map[string]bulkWide]())
	elem := mustDecoder(t, reflect.TypeFor[bulkWide]())
	variants := bulkWideVariants(bulkWideAt(5))
	rng := rand.New(rand.NewPCG(12, 1))
	for round := range 400 {
		n := []int{1, 2, learnKeysMin - 1, learnKeysMin, learnKeysMin + 1, 64}[round%6]
		l := make(wamp.List, n)
		for i := range l {
			var d wamp.Dict
			switch r := rng.IntN(10); {
			case r < 6: // most elements as the transports deliver them
				d = bulkWideDict(bulkWideAt(i))
			default:
				d = variants[rng.IntN(len(variants))]
			}
			if rng.IntN(2) == 0 {
				d = withFreshKeys(d)
			}
			l[i] = d
		}
		if round%7 == 0 {
			l[0] = []any{"not", "a", "dict"}
		}
		// One by one.
		want := make([]bulkWide, n)
		var wantErr error
		for i, e := range l {
			v := reflect.ValueOf(&want[i]).Elem()
			if err := elem.fn(e, v, 1); err != nil && wantErr == nil {
				wantErr = fmt.Errorf("[%d]: %w", i, err)
			}
		}
		// As a list.
		got := reflect.New(listDec.typ).Elem()
		err := listDec.fn(l, got, 0)
		if wantErr != nil {
			require.Error(t, err, "round %d: element %v", round, wantErr)
		} else {
			require.NoError(t, err, "round %d", round)
			require.Equal(t, want, got.Interface(), "round %d", round)
		}
		// As a map.
		m := make(wamp.Dict, n)
		wantMap := make(map[string]bulkWide, n)
		for i, e := range l {
			m["k"+strconv.Itoa(i)] = e
			wantMap["k"+strconv.Itoa(i)] = want[i]
		}
		gotMap := reflect.New(mapDec.typ).Elem()
		err = mapDec.fn(m, gotMap, 0)
		if wantErr != nil {
			require.Error(t, err, "round %d: element %v", round, wantErr)
		} else {
			require.NoError(t, err, "round %d", round)
			require.Equal(t, wantMap, gotMap.Interface(), "round %d", round)
		}
	}
}

// A struct's fast path reads a dict and the list and dict inside it: it is
// not used where they would be nested deeper than MaxDepth, so that they
// are refused there as the decoder refuses them.
func TestStructSetFuncKeepsMaxDepth(t *testing.T) {
	// holder has no setFunc (a pointer has none); its decoder sets its
	// field W by bulkWide's.
	type holder struct {
		W bulkWide `json:"w"`
		P *int     `json:"p"`
	}
	wide := bulkWideDict(bulkWideAt(1))
	for _, tc := range []struct {
		inner   reflect.Type
		src     any
		levels  int // lists around src
		wantErr bool
	}{
		{reflect.TypeFor[bulkWide](), wide, MaxDepth - 2, false},
		{reflect.TypeFor[bulkWide](), wide, MaxDepth - 1, true},
		{reflect.TypeFor[holder](), wamp.Dict{"w": wide}, MaxDepth - 3, false},
		{reflect.TypeFor[holder](), wamp.Dict{"w": wide}, MaxDepth - 2, true},
		{reflect.TypeFor[map[string]bulkWide](), wamp.Dict{"a": wide}, MaxDepth - 3, false},
		{reflect.TypeFor[map[string]bulkWide](), wamp.Dict{"a": wide}, MaxDepth - 2, true},
	} {
		typ, src := tc.inner, tc.src
		for range tc.levels {
			typ, src = reflect.SliceOf(typ), wamp.List{src}
		}
		err := mustDecoder(t, typ).fn(src, reflect.New(typ).Elem(), 0)
		if !tc.wantErr {
			require.NoError(t, err, "%s in %d levels", tc.inner, tc.levels)
			continue
		}
		require.ErrorContains(t, err, fmt.Sprintf("nested deeper than %d levels", MaxDepth), "%s in %d levels", tc.inner, tc.levels)
	}
}

// Errors name the element inside a list or map of structs, and the field,
// on every transport, with every check in place.
func TestBulkErrorsNameTheElement(t *testing.T) {
	recs := func(n, bad int, key string, v any) wamp.List {
		l := make(wamp.List, n)
		for i := range l {
			l[i] = bulkRecDict(bulkRecAt(i))
		}
		d := bulkRecDict(bulkRecAt(bad))
		d[key] = v
		l[bad] = d
		return l
	}
	wide := func(n, bad int, edit func(wamp.Dict)) wamp.List {
		l := make(wamp.List, n)
		for i := range l {
			l[i] = bulkWideDict(bulkWideAt(i))
		}
		edit(l[bad].(wamp.Dict))
		return l
	}
	tests := []struct {
		name    string
		fn      any
		arg     any
		wantErr string // regexp that Args[0] of the invalid_argument ERROR must match
		want    int64  // the result, without wantErr
	}{
		{"fraction", func(recs []bulkRec) int { return len(recs) }, recs(10000, 7812, "count", 1.5),
			`^argument 0 \(recs\) at \[7812\]\.count: cannot use float64 1\.5 as int$`, 0},
		{"integral float", func(recs []bulkRec) int { return recs[7812].Count }, recs(10000, 7812, "count", 3.0), "", 3},
		{"string for a number", func(recs []bulkRec) int { return len(recs) }, recs(100, 42, "score", "high"),
			`^argument 0 \(recs\) at \[42\]\.score: cannot use string "high" as float64$`, 0},
		{"bytes for a string", func(recs []bulkRec) int { return len(recs) }, recs(100, 3, "name", serialize.BinaryData{1}),
			`^argument 0 \(recs\) at \[3\]\.name: cannot use bytes as string$`, 0},
		{"exact key before folded", func(recs []bulkRec) int { return recs[5].Count }, recs(10, 5, "COUNT", int64(99)), "", 5},
		{"ambiguous folded keys", func(recs []bulkRec) int { return len(recs) },
			wamp.List{bulkRecDict(bulkRecAt(0)), wamp.Dict{"Count": 1, "COUNT": 2}},
			`^argument 0 \(recs\) at \[1\]: keys "COUNT" and "Count" both name field count of wampfn\.bulkRec \(ignoring case\)$`, 0},
		{"overflow in a nested field", func(recs []bulkWide) int { return len(recs) },
			wide(1000, 999, func(d wamp.Dict) { d["level"] = 300 }),
			`^argument 0 \(recs\) at \[999\]\.level: cannot use u?int(64)? 300 as int8: out of range$`, 0},
		{"negative into uint32", func(recs []bulkWide) int { return len(recs) },
			wide(10, 2, func(d wamp.Dict) { d["count"] = -1 }),
			`^argument 0 \(recs\) at \[2\]\.count: cannot use int(64)? -1 as uint32: out of range$`, 0},
		{"float32 overflow", func(recs []bulkWide) int { return len(recs) },
			wide(10, 4, func(d wamp.Dict) { d["ratio"] = 1e300 }),
			`^argument 0 \(recs\) at \[4\]\.ratio: cannot use float64 1e\+300 as float32: out of range$`, 0},
		{"in a nested struct", func(recs []bulkWide) int { return len(recs) },
			wide(10, 6, func(d wamp.Dict) { d["origin"] = wamp.Dict{"x": 1.5, "y": "north"} }),
			`^argument 0 \(recs\) at \[6\]\.origin\.y: cannot use string "north" as float64$`, 0},
		{"in a list of strings", func(recs []bulkWide) int { return len(recs) },
			wide(10, 8, func(d wamp.Dict) { d["tags"] = wamp.List{"a", 7} }),
			`^argument 0 \(recs\) at \[8\]\.tags\[1\]: cannot use u?int(64)? 7 as string$`, 0},
		{"in a map of structs", func(recs map[string]bulkRec) int { return len(recs) },
			wamp.Dict{"a": bulkRecDict(bulkRecAt(1)), "b": wamp.Dict{"count": uint64(math.MaxUint64)}},
			`^argument 0 \(recs\) at b\.count: cannot use uint64 18446744073709551615 as int: out of range$`, 0},
	}
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	for i, tt := range tests {
		require.NoError(t, Register(callee, fmt.Sprintf("test.bulk.%d", i), tt.fn, WithParamNames("recs")))
	}
	for _, transport := range transports {
		caller := tr.Connect(t, transport)
		for i, tt := range tests {
			t.Run(transport.String()+"/"+tt.name, func(t *testing.T) {
				res, err := caller.Call(t.Context(), fmt.Sprintf("test.bulk.%d", i), nil, wamp.List{tt.arg}, nil, nil)
				if tt.wantErr == "" {
					require.NoError(t, err)
					require.Equal(t, tt.want, asInt(t, res.Arguments[0]))
					return
				}
				werr := callErr(t, err)
				require.Equal(t, wamp.ErrInvalidArgument, werr.Error)
				require.Len(t, werr.Arguments, 1)
				require.Regexp(t, tt.wantErr, werr.Arguments[0])
			})
		}
	}
}

// keysOf gives, for each field with a key in the dict, the dict's own key
// string, so that looking the next dicts up by it compares pointers; and
// the field's name for the others.
func TestKeysOfTakesTheDictsOwnKeys(t *testing.T) {
	ss := mustDecoder(t, reflect.TypeFor[bulkRec]()).structSet
	require.NotNil(t, ss)
	d := withFreshKeys(wamp.Dict{"name": "a", "score": 1.5, "other": 1})
	keys := ss.keysOf(d, nil)
	require.Equal(t, []string{"name", "count", "score"}, keys)
	for k := range d {
		if i, ok := ss.index[k]; ok {
			require.Same(t, unsafe.StringData(k), unsafe.StringData(keys[i]), "field %s", k)
		}
	}
	require.Same(t, unsafe.StringData(ss.names[1]), unsafe.StringData(keys[1]), "count has no key")
	// Not a dict, or one with more keys than fields: the names.
	require.Equal(t, ss.names, ss.keysOf("x", nil))
	require.Equal(t, ss.names, ss.keysOf(wamp.Dict{"a": 1, "b": 2, "c": 3, "d": 4}, nil))
}

// A map of structs wider than 64 fields reuses one struct for every
// entry: an entry whose dict lacks a key gets that field's zero value,
// never the value of an entry decoded before it, whichever field is
// missing (below and above the 64th), on every transport.
func TestWideStructMapEntriesDoNotLeak(t *testing.T) {
	const width = 70
	fields := make([]reflect.StructField, width)
	for i := range fields {
		fields[i] = reflect.StructField{Name: "F" + strconv.Itoa(i), Type: reflect.TypeFor[int]()}
	}
	wide := reflect.StructOf(fields)
	mapType := reflect.MapOf(reflect.TypeFor[string](), wide)
	require.NotNil(t, mustDecoder(t, wide).structSet, "the struct has the fast path under test")
	// The shape: b lacks F0, which a (decoded before it, or
	// not: map order is random) sets. Then one entry per field lacking
	// only that field, so that whatever entry comes before it has the
	// field set: a value left over shows in every order.
	arg := wamp.Dict{
		"a": wamp.Dict{"F0": 7, "F1": 8, "F63": 5, "F65": 6},
		"b": wamp.Dict{"F64": 9},
		"c": wamp.Dict{},
	}
	for k := range width {
		d := wamp.Dict{}
		for i := range width {
			if i != k {
				d["F"+strconv.Itoa(i)] = 1000*k + i + 1
			}
		}
		arg["m"+strconv.Itoa(k)] = d
	}
	want := map[string]map[string]int64{}
	for k, v := range arg {
		entry := map[string]int64{}
		for i := range width {
			entry["F"+strconv.Itoa(i)] = 0
		}
		for f, x := range v.(wamp.Dict) {
			entry[f] = int64(x.(int))
		}
		want[k] = entry
	}
	// The function hands back what it decoded, as a dict of dicts.
	echo := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{mapType}, []reflect.Type{mapType}, false),
		func(in []reflect.Value) []reflect.Value { return in })
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	require.NoError(t, Register(callee, "test.wide.map", echo.Interface()))
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			caller := tr.Connect(t, transport)
			for round := range 20 {
				res, err := caller.Call(t.Context(), "test.wide.map", nil, wamp.List{arg}, nil, nil)
				require.NoError(t, err)
				require.Len(t, res.Arguments, 1)
				d, ok := asDict(res.Arguments[0])
				require.True(t, ok, "result is a dict: %T", res.Arguments[0])
				require.Len(t, d, len(want))
				var wrong []string // "entry.field: got x, want y"
				for k, fields := range want {
					fd, ok := asDict(d[k])
					require.True(t, ok, "entry %s is a dict: %T", k, d[k])
					require.Len(t, fd, width, "entry %s", k)
					for f, w := range fields {
						if got := asInt(t, fd[f]); got != w {
							wrong = append(wrong, fmt.Sprintf("%s.%s: got %d, want %d", k, f, got, w))
						}
					}
				}
				slices.Sort(wrong)
				require.Empty(t, wrong, "round %d", round)
			}
		})
	}
}

// asDict returns v as a dict as a nexus client delivers one: a wamp.Dict
// in-process, a map[string]any from a serializer.
func asDict(v any) (map[string]any, bool) {
	switch d := v.(type) {
	case wamp.Dict:
		return d, true
	case map[string]any:
		return d, true
	}
	return nil, false
}
