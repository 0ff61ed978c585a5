package wampfn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Random types against encoding/json (STYLE.md rule 18): types that
// nobody wrote by hand, built at run time with reflect.StructOf, SliceOf,
// MapOf, ArrayOf and PointerTo, and random values of them. For each type,
// on every transport, a function registered with reflect.MakeFunc must
//   - decode a dict or list built from encoding/json's form of a random
//     value (struct keys dropped at random, an unknown key now and then,
//     a key in other case) exactly as json.Unmarshal decodes the same text
//     into the same type;
//   - return a random value that arrives as json.Marshal writes it,
//     number for number;
//
// and, without a router, the fast paths (setFuncs, getFuncs, a map's
// reused value, learned keys) must give exactly what the general path
// gives, for single values and for lists and maps of them.
//
// The seeds are fixed (randomSeeds); WAMPFN_RANDOM_SEED=n runs seed n
// alone. A failure names the seed and the type.

const randomSeedEnv = "WAMPFN_RANDOM_SEED"

var randomSeeds = []uint64{1, 2, 3}

const (
	rtTypesPerSeed  = 24 // types registered and called over every transport
	rtWireValues    = 4  // values of each type sent and returned on each transport
	rtBulkValues    = 20 // values of each type in the fast-path differential (learnKeysMin and more)
	rtMaxDepth      = 4  // levels of containers inside a generated type
	rtUnknownKeyPct = 15 // percent of struct dicts that get a key naming no field
)

func TestRandomTypesAgainstEncodingJSON(t *testing.T) {
	seeds := testSeeds(t)
	leakCheck(t)
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	callers := map[wampfntest.Transport]*client.Client{}
	for _, transport := range transports {
		callers[transport] = tr.Connect(t, transport)
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			for i := range rtTypesPerSeed {
				// Each type and its values come from (seed, i) alone, so
				// that one runs alone as it runs among the others.
				g := newRTGen(seed, uint64(i))
				typ := g.topType(i)
				t.Run(fmt.Sprintf("type=%d", i), func(t *testing.T) {
					defer func() {
						if t.Failed() {
							t.Logf("seed %d (rerun alone: %s=%d go test -run 'TestRandomTypesAgainstEncodingJSON/seed=%d/type=%d$' .), type %d:\n%s",
								seed, randomSeedEnv, seed, seed, i, i, typ)
						}
					}()
					g.checkFastPaths(t, typ)
					g.checkWire(t, typ, fmt.Sprintf("test.random.%d.%d", seed, i), callee, callers)
				})
			}
		})
	}
}

// testSeeds returns the seeds to run: randomSeeds, or the one that
// WAMPFN_RANDOM_SEED names.
func testSeeds(t *testing.T) []uint64 {
	if s := os.Getenv(randomSeedEnv); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "%s=%q: want a seed, a whole number", randomSeedEnv, s)
		return []uint64{seed}
	}
	return randomSeeds
}

// rtGen makes random types and values, and knows the dict keys of the
// struct types it made.
type rtGen struct {
	rng     *rand.Rand
	structs map[reflect.Type]*rtStruct
}

// rtStruct is a generated struct type as encoding/json sees it: the key
// of each field that it reads and writes, by the rules of a struct
// without embedded fields (a tag's valid name, else the Go name; "-"
// drops a field; of several fields with one key, the one tagged field
// wins, and two tagged ones cancel each other).
type rtStruct struct {
	fieldOf map[string]int // the field index of each key
	quoted  map[string]bool
	// foldOnly are the keys that no other key equals ignoring case: a
	// dict may spell them in other case, and both decoders match them
	// (wampfn refuses two keys folding to one field, and lets an exact
	// key win over a folded one, where encoding/json takes the last).
	foldOnly map[string]bool
}

func newRTGen(seed, stream uint64) *rtGen {
	return &rtGen{rng: rand.New(rand.NewPCG(seed, stream)), structs: map[reflect.Type]*rtStruct{}}
}

var rtScalars = []reflect.Type{
	reflect.TypeFor[bool](), reflect.TypeFor[string](),
	reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](),
	reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
	reflect.TypeFor[uintptr](), reflect.TypeFor[float32](), reflect.TypeFor[float64](),
}

// rtWidths are struct widths that every seed makes at the top, around
// the 64 fields of the struct fast path's bit mask and beyond 130.
var rtWidths = []int{1, 2, 7, 31, 63, 64, 65, 66, 100, 129, 130, 140}

// topType returns the i-th type of a seed: structs of the widths above,
// alone and in maps, lists and pointers, half of them flat (see flatType),
// then random types.
func (g *rtGen) topType(i int) reflect.Type {
	if i < len(rtWidths) {
		st := g.structType(0, rtWidths[i], i/2%2 == 0)
		switch i % 4 {
		case 0:
			return st
		case 1:
			return reflect.MapOf(reflect.TypeFor[string](), st)
		case 2:
			return reflect.SliceOf(st)
		default:
			return reflect.PointerTo(st)
		}
	}
	switch i % 4 {
	case 0:
		return reflect.MapOf(reflect.TypeFor[string](), g.structType(1, 60+g.rng.IntN(20), i%8 == 0))
	case 1:
		return reflect.ArrayOf(1+g.rng.IntN(3), g.structType(1, 1+g.rng.IntN(70), false))
	}
	return g.typ(0)
}

// typ returns a random type with at most rtMaxDepth-depth levels of
// containers.
func (g *rtGen) typ(depth int) reflect.Type {
	if depth >= rtMaxDepth {
		return rtScalars[g.rng.IntN(len(rtScalars))]
	}
	switch r := g.rng.IntN(20); {
	case r < 9:
		return rtScalars[g.rng.IntN(len(rtScalars))]
	case r < 11:
		return reflect.SliceOf(g.typ(depth + 1))
	case r < 12:
		return reflect.ArrayOf(g.rng.IntN(4), g.typ(depth+1))
	case r < 14:
		return reflect.MapOf(reflect.TypeFor[string](), g.typ(depth+1))
	case r < 16:
		return reflect.PointerTo(g.typ(depth + 1))
	}
	return g.structType(depth, g.nestedWidth(), false)
}

// flatType returns a random type of those that the decoder's fast paths
// take whole (a setFunc): a scalar, a []float64, []int, []int64 or
// []string, or a struct of such fields.
func (g *rtGen) flatType(depth int) reflect.Type {
	// Rare lists: a null one (a nil slice) is the general path's.
	switch r := g.rng.IntN(100); {
	case r < 92 || depth >= rtMaxDepth:
		return rtScalars[g.rng.IntN(len(rtScalars))]
	case r < 94:
		return []reflect.Type{float64SliceType, intSliceType, int64SliceType, stringSliceType}[g.rng.IntN(4)]
	}
	return g.structType(depth, g.nestedWidth(), true)
}

// nestedWidth is the width of a struct inside another type: mostly
// narrow, now and then beyond 64 fields.
func (g *rtGen) nestedWidth() int {
	if g.rng.IntN(8) == 0 {
		return 60 + g.rng.IntN(12)
	}
	return 1 + g.rng.IntN(8)
}

// rtTagNames are json tag names; the valid ones name the field, the
// others leave it its Go name (as encoding/json's isValidTag says).
var rtTagNames = []struct {
	name  string
	valid bool
}{
	{"name", true}, {"id", true}, {"x-y", true}, {"dot.ted", true}, {"with space", true}, {"ünï", true},
	{"Name", true}, {"NAME", true}, {"k", true}, {"$ref", true}, {"a_b", true},
	{`back\slash`, false}, {`qu"ote`, false},
}

// structType returns a struct type of width fields whose types have at
// most rtMaxDepth-depth-1 levels of containers, with random json tags;
// when flat, of flatType fields only, without the option ",string" (which
// has no fast path).
func (g *rtGen) structType(depth, width int, flat bool) reflect.Type {
	fields := make([]reflect.StructField, width)
	type keyed struct {
		key    string
		tagged bool
		quoted bool
	}
	keys := make([]keyed, width)
	for i := range fields {
		var ft reflect.Type
		if flat {
			ft = g.flatType(depth + 1)
		} else {
			ft = g.typ(depth + 1)
		}
		goName := "F" + strconv.Itoa(i)
		name, valid := "", false
		switch r := g.rng.IntN(10); {
		case r < 4: // no name
		case r < 7:
			name, valid = "k"+strconv.Itoa(i), true
		case r < 8:
			n := rtTagNames[g.rng.IntN(len(rtTagNames))]
			name, valid = n.name, n.valid
		case r < 9 && i > 0:
			// The key of an earlier field, or its Go name in lower case:
			// a collision that one field wins, or a fold.
			j := g.rng.IntN(i)
			name, valid = keys[j].key, true
			if g.rng.IntN(2) == 0 {
				name = strings.ToLower(fields[j].Name)
			}
		}
		var opts []string
		switch r := g.rng.IntN(12); {
		case r == 0:
			opts = append(opts, "omitempty")
		case r == 1:
			opts = append(opts, "omitzero")
		case r == 2 && rtQuotable(ft) && !flat:
			opts = append(opts, "string")
		}
		tag := name
		if len(opts) > 0 {
			tag += "," + strings.Join(opts, ",")
		}
		switch g.rng.IntN(30) {
		case 0:
			tag, name, valid, opts = "-", "", false, nil // dropped
		case 1:
			tag, name, valid, opts = "-,", "-", true, nil // a field named "-"
		}
		fields[i] = reflect.StructField{Name: goName, Type: ft}
		if tag == "-" && name == "-" {
			tag = "-," // named "-", not dropped
		}
		if tag != "" {
			fields[i].Tag = reflect.StructTag(`json:` + strconv.Quote(tag))
		}
		switch {
		case tag == "-":
			keys[i] = keyed{key: ""}
		case valid && name != "":
			keys[i] = keyed{key: name, tagged: true, quoted: slices.Contains(opts, "string")}
		default:
			keys[i] = keyed{key: goName, quoted: slices.Contains(opts, "string")}
		}
	}
	st := reflect.StructOf(fields)
	meta := &rtStruct{fieldOf: map[string]int{}, quoted: map[string]bool{}, foldOnly: map[string]bool{}}
	byKey := map[string][]int{}
	for i, k := range keys {
		if k.key != "" {
			byKey[k.key] = append(byKey[k.key], i)
		}
	}
	for key, idx := range byKey {
		winner, tagged := idx[0], 0
		for _, i := range idx {
			if keys[i].tagged {
				winner = i
				tagged++
			}
		}
		if len(idx) == 1 || tagged == 1 {
			meta.fieldOf[key] = winner
			meta.quoted[key] = keys[winner].quoted
		}
	}
	folds := map[string]int{}
	for key := range meta.fieldOf {
		folds[strings.ToLower(key)]++
	}
	for key := range meta.fieldOf {
		meta.foldOnly[key] = folds[strings.ToLower(key)] == 1
	}
	g.structs[st] = meta
	return st
}

// rtQuotable reports whether the json option ",string" applies to t.
func rtQuotable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return slices.Contains(rtScalars, t)
}

// value returns a random value of t: zero values, edges of each number
// type, nil and empty slices and maps among them.
func (g *rtGen) value(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	if g.rng.IntN(10) == 0 {
		return v // zero: omitempty and omitzero leave it out
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(g.rng.IntN(2) == 0)
	case reflect.String:
		v.SetString(g.text())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		lo, hi := int64(-1)<<(bits-1), int64(uint64(1)<<(bits-1)-1)
		switch g.rng.IntN(4) {
		case 0:
			v.SetInt([]int64{lo, hi, lo + 1, hi - 1, -1}[g.rng.IntN(5)])
		case 1:
			v.SetInt(int64(g.rng.IntN(200)) - 100)
		default:
			v.SetInt(int64(g.rng.Uint64()) >> (64 - bits))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := t.Bits()
		hi := uint64(1)<<(bits-1) - 1 + uint64(1)<<(bits-1)
		switch g.rng.IntN(4) {
		case 0:
			v.SetUint([]uint64{hi, hi - 1, hi / 2, hi/2 + 1, 1}[g.rng.IntN(5)])
		case 1:
			v.SetUint(uint64(g.rng.IntN(300)))
		default:
			v.SetUint(g.rng.Uint64() >> (64 - bits))
		}
	case reflect.Float32:
		v.SetFloat(float64(g.float32()))
	case reflect.Float64:
		v.SetFloat(g.float64())
	case reflect.Pointer:
		if g.rng.IntN(4) != 0 {
			p := reflect.New(t.Elem())
			p.Elem().Set(g.value(t.Elem()))
			v.Set(p)
		}
	case reflect.Slice:
		if g.rng.IntN(6) == 0 { // nil; empty below
			return v
		}
		n := g.length(t.Elem())
		v.Set(reflect.MakeSlice(t, n, n))
		for i := range n {
			v.Index(i).Set(g.value(t.Elem()))
		}
	case reflect.Array:
		for i := range v.Len() {
			v.Index(i).Set(g.value(t.Elem()))
		}
	case reflect.Map:
		if g.rng.IntN(6) == 0 {
			return v
		}
		n := g.length(t.Elem())
		v.Set(reflect.MakeMapWithSize(t, n))
		for range n {
			v.SetMapIndex(reflect.ValueOf(g.text()), g.value(t.Elem()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			v.Field(i).Set(g.value(t.Field(i).Type))
		}
	default:
		panic("rtGen.value: " + t.String())
	}
	return v
}

// length is a random length for a slice or map of elem: 0 to 4, fewer for
// wide structs.
func (g *rtGen) length(elem reflect.Type) int {
	if elem.Kind() == reflect.Struct && elem.NumField() > 16 {
		return g.rng.IntN(3)
	}
	return g.rng.IntN(5)
}

var rtRunes = []string{"a", "b", "Z", "0", " ", "é", "日本", "🙂", `"`, `\`, "/", "<", ">", "&", "\n", "\t", "\u2028", "\x01", "\x00", "{", "["}

// text returns a random valid UTF-8 string. It never starts with NUL,
// which marks binary data in WAMP's JSON convention.
func (g *rtGen) text() string {
	var b strings.Builder
	for i := range g.rng.IntN(8) {
		r := rtRunes[g.rng.IntN(len(rtRunes))]
		if i == 0 && r == "\x00" {
			r = "x"
		}
		b.WriteString(r)
	}
	return b.String()
}

func (g *rtGen) float64() float64 {
	switch g.rng.IntN(6) {
	case 0:
		return []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, 1<<53 + 2, 1e21, 1e-7, 0.1, -0.5}[g.rng.IntN(9)]
	case 1:
		return float64(g.rng.IntN(2000) - 1000) // integral: encoding/json writes it as an integer
	case 2:
		return math.Ldexp(g.rng.Float64(), g.rng.IntN(2000)-1000)
	}
	return g.rng.NormFloat64() * math.Pow(10, float64(g.rng.IntN(30)-15))
}

func (g *rtGen) float32() float32 {
	switch g.rng.IntN(6) {
	case 0:
		return []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1 << 24, 1<<24 + 2, 0.1, 3.4e37, -1e-30}[g.rng.IntN(8)]
	case 1:
		return float32(g.rng.IntN(2000) - 1000)
	case 2:
		return math.Float32frombits(g.rng.Uint32()&^(0xff<<23) | uint32(1+g.rng.IntN(253))<<23) // any finite exponent
	}
	return float32(g.rng.NormFloat64() * math.Pow(10, float64(g.rng.IntN(20)-10)))
}

// wampValue returns what encoding/json writes of v as a WAMP value, the
// way the JSON transport delivers it: wamp.Dict, wamp.List, string,
// bool, nil, and numbers as int64 (negative), uint64 or float64 (with a
// fraction or an exponent).
func rtWAMPValue(t *testing.T, v reflect.Value) any {
	text, err := json.Marshal(v.Interface())
	require.NoError(t, err)
	return rtParseJSON(t, text)
}

func rtParseJSON(t *testing.T, text []byte) any {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var x any
	require.NoError(t, dec.Decode(&x))
	return rtFromJSON(t, x)
}

func rtFromJSON(t *testing.T, x any) any {
	switch x := x.(type) {
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			require.NoError(t, err)
			return f
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil && i < 0 {
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		f, err := strconv.ParseFloat(s, 64) // an integral float beyond 64 bits
		require.NoError(t, err)
		return f
	case []any:
		l := make(wamp.List, len(x))
		for i, e := range x {
			l[i] = rtFromJSON(t, e)
		}
		return l
	case map[string]any:
		d := make(wamp.Dict, len(x))
		for k, e := range x {
			d[k] = rtFromJSON(t, e)
		}
		return d
	}
	return x
}

// mutate returns w, a WAMP value of type t, with its structs' dicts
// changed as a caller may send them: keys dropped, a key in other case,
// a key that names no field.
func (g *rtGen) mutate(tt *testing.T, t reflect.Type, w any) any {
	if w == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.mutate(tt, t.Elem(), w)
	case reflect.Slice, reflect.Array:
		l, ok := w.(wamp.List)
		if !ok { // []byte, as base64
			return w
		}
		out := make(wamp.List, len(l))
		for i, e := range l {
			out[i] = g.mutate(tt, t.Elem(), e)
		}
		return out
	case reflect.Map:
		d := w.(wamp.Dict)
		out := make(wamp.Dict, len(d))
		for k, e := range d {
			out[k] = g.mutate(tt, t.Elem(), e)
		}
		return out
	case reflect.Struct:
		meta := g.structs[t]
		d := w.(wamp.Dict)
		out := make(wamp.Dict, len(d))
		drop := []int{0, 0, 10, 30, 70, 100}[g.rng.IntN(6)] // percent of keys dropped
		folded := g.rng.IntN(10) == 0                       // one key in other case
		for k, e := range d {
			i, ok := meta.fieldOf[k]
			require.True(tt, ok, "encoding/json wrote key %q, which names no field of %s by the test's reckoning", k, t)
			if g.rng.IntN(100) < drop {
				continue
			}
			if !meta.quoted[k] {
				e = g.mutate(tt, t.Field(i).Type, e)
			}
			if folded && meta.foldOnly[k] {
				if other := rtOtherCase(k); other != k {
					k, folded = other, false
				}
			}
			out[k] = e
		}
		if g.rng.IntN(100) < rtUnknownKeyPct {
			out["zz"+strconv.Itoa(g.rng.IntN(1000))] = []any{int64(1), "two", wamp.Dict{"three": 3.5}, nil}[g.rng.IntN(4)]
		}
		return out
	}
	return w
}

// rtOtherCase swaps the case of key's ASCII letters.
func rtOtherCase(key string) string {
	b := []byte(key)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// generalDecoders and generalEncoders build plans without fast paths: no
// setFunc, structSetter or getFunc, so every value goes through the
// decoders and encoders by reflection. They are the fast paths' oracle.
var (
	generalDecoders = &planCache[decodeFunc]{build: func(t reflect.Type, b *decodeBuild) (decodeFunc, error) {
		fn, err := makeDecodeFunc(t, b)
		if p := b.building[t]; p != nil {
			p.set, p.structSet, p.setDepth = nil, nil, 0
		}
		return fn, err
	}}
	generalEncoders = &planCache[encodeFunc]{build: func(t reflect.Type, b *planBuild[encodeFunc]) (encodeFunc, error) {
		fn, err := makeEncodeFunc(t, b)
		if p := b.building[t]; p != nil {
			p.get = nil
		}
		return fn, err
	}}
)

// checkFastPaths holds the fast paths to the general path on random
// values of typ, alone and in lists and maps (one value reused for every
// entry, keys learned from the first element), and into a value that
// holds another random value (a setFunc sets every field).
func (g *rtGen) checkFastPaths(t *testing.T, typ reflect.Type) {
	inputs := make(wamp.List, rtBulkValues)
	values := make([]reflect.Value, rtBulkValues)
	for i := range inputs {
		values[i] = g.value(typ)
		inputs[i] = g.mutate(t, typ, rtWAMPValue(t, values[i]))
	}
	sliceType, mapType := reflect.SliceOf(typ), reflect.MapOf(reflect.TypeFor[string](), typ)
	bulk := wamp.Dict{}
	for i, in := range inputs {
		bulk["k"+strconv.Itoa(i)] = in
	}
	for _, tc := range []struct {
		what string
		typ  reflect.Type
		src  any
	}{
		{"value", typ, inputs[0]},
		{"list", sliceType, inputs},
		{"map", mapType, bulk},
	} {
		fast, err := decoderFor(tc.typ)
		require.NoError(t, err)
		general, err := generalDecoders.get(tc.typ)
		require.NoError(t, err)
		got, want := reflect.New(tc.typ).Elem(), reflect.New(tc.typ).Elem()
		gotErr, wantErr := fast.fn(tc.src, got, 0), general.fn(tc.src, want, 0)
		require.NoError(t, wantErr, "%s: the general path refuses what encoding/json wrote", tc.what)
		require.NoError(t, gotErr, "%s: the fast paths refuse what the general path takes", tc.what)
		require.True(t, reflect.DeepEqual(want.Interface(), got.Interface()),
			"%s: the fast paths and the general path disagree\nfast:    %s\ngeneral: %s", tc.what, rtShort(got), rtShort(want))
	}
	dec, err := decoderFor(typ)
	require.NoError(t, err)
	general, err := generalDecoders.get(typ)
	require.NoError(t, err)
	enc, err := encoderFor(typ)
	require.NoError(t, err)
	generalEnc, err := generalEncoders.get(typ)
	require.NoError(t, err)
	for i, in := range inputs {
		want := reflect.New(typ).Elem()
		require.NoError(t, general.fn(in, want, 0))
		if dec.set != nil {
			// Into the value of another input, as a map's decoder reuses
			// one value for every entry: a setFunc that takes the input
			// sets every field that a key can name.
			dst := reflect.New(typ)
			require.NoError(t, general.fn(inputs[(i+1)%len(inputs)], dst.Elem(), 0))
			if dec.set(in, dst.UnsafePointer()) {
				require.True(t, reflect.DeepEqual(want.Interface(), dst.Elem().Interface()),
					"value %d: the setFunc left a value of its own\nsetFunc: %s\ngeneral: %s", i, rtShort(dst.Elem()), rtShort(want))
			}
		}
		// Encoding: the fast paths give what the general path gives.
		v := values[i]
		gotW, err := enc.fn(v, 0)
		require.NoError(t, err)
		wantW, err := generalEnc.fn(v, 0)
		require.NoError(t, err)
		require.True(t, reflect.DeepEqual(wantW, gotW), "value %d: encoders disagree\nfast:    %s\ngeneral: %s", i, rtShort(gotW), rtShort(wantW))
		if enc.get != nil {
			p := reflect.New(typ)
			p.Elem().Set(v)
			if x, ok := enc.get(p.UnsafePointer()); ok {
				require.True(t, reflect.DeepEqual(wantW, x), "value %d: the getFunc disagrees\ngetFunc: %s\ngeneral: %s", i, rtShort(x), rtShort(wantW))
			}
		}
	}
}

// checkWire registers a function taking typ and one returning it, as
// name+".decode" and name+".encode", built with reflect.MakeFunc as a
// user's generated code would, and calls them over every transport.
func (g *rtGen) checkWire(t *testing.T, typ reflect.Type, name string, callee *client.Client, callers map[wampfntest.Transport]*client.Client) {
	got := make(chan reflect.Value, 1)
	decodeFn := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{typ}, nil, false), func(in []reflect.Value) []reflect.Value {
		got <- in[0]
		return nil
	})
	var ret reflect.Value
	encodeFn := reflect.MakeFunc(reflect.FuncOf(nil, []reflect.Type{typ}, false), func([]reflect.Value) []reflect.Value {
		return []reflect.Value{ret}
	})
	require.NoError(t, Register(callee, name+".decode", decodeFn.Interface(), WithParamNames("v")))
	require.NoError(t, Register(callee, name+".encode", encodeFn.Interface()))
	t.Cleanup(func() {
		callee.Unregister(name + ".decode")
		callee.Unregister(name + ".encode")
	})
	for _, transport := range transports {
		caller := callers[transport]
		for i := range rtWireValues {
			// Decode: as json.Unmarshal decodes the same text.
			in := g.mutate(t, typ, rtWAMPValue(t, g.wireValue(t, typ, transport)))
			text, err := json.Marshal(in)
			require.NoError(t, err)
			want := reflect.New(typ)
			require.NoError(t, json.Unmarshal(text, want.Interface()), "%s: encoding/json refuses its own form", transport)
			args, kwargs := wamp.List{in}, wamp.Dict(nil)
			if i%2 == 1 {
				args, kwargs = nil, wamp.Dict{"v": in}
			}
			_, err = rtCall(t, caller, name+".decode", args, kwargs)
			require.NoError(t, err, "%s: value %d (%d bytes as JSON): %s", transport, i, len(text), rtShort(text))
			v := <-got
			require.True(t, rtEqual(want.Elem(), v), "%s: value %d decodes otherwise than encoding/json decodes %s\nwampfn:        %s\nencoding/json: %s",
				transport, i, rtShort(text), rtShort(v), rtShort(want.Elem()))

			// Encode: as json.Marshal writes it.
			ret = g.wireValue(t, typ, transport)
			res, err := rtCall(t, caller, name+".encode", nil, nil)
			require.NoError(t, err, "%s: value %d (%d bytes as JSON): %s", transport, i, rtJSONLen(ret), rtShort(ret))
			require.Len(t, res.Arguments, 1)
			text, err = json.Marshal(ret.Interface())
			require.NoError(t, err)
			wantW := rtParseJSON(t, text)
			if diff := g.sameAsJSON(typ, res.Arguments[0], wantW, ""); diff != "" {
				t.Fatalf("%s: value %d arrives otherwise than encoding/json writes it: %s\nencoding/json: %s\nwampfn: %s", transport, i, diff, rtShort(text), rtShort(res.Arguments[0]))
			}
		}
	}
}

// wireValue returns a random value of typ that transport carries: on
// JSON, none with a negative whole number below -2^63, which nexus's JSON
// serializer writes and cannot read (see TestNexusJSONDropsNegativeWholeFloats).
func (g *rtGen) wireValue(t *testing.T, typ reflect.Type, transport wampfntest.Transport) reflect.Value {
	for {
		v := g.value(typ)
		if transport != wampfntest.JSON || !nexusJSONDrops(rtWAMPValue(t, v)) {
			return v
		}
	}
}

// nexusJSONDrops reports whether w, a WAMP value, holds a float that
// nexus v3.3.0's JSON serializer writes as an integer and cannot read
// back: a whole number in (-2^64, -2^63), whose magnitude it reads as a
// uint64 that an int64 cannot hold.
func nexusJSONDrops(w any) bool {
	switch x := w.(type) {
	case float64:
		return x == math.Trunc(x) && x < -twoTo63 && x > -2*twoTo63
	case wamp.List:
		return slices.ContainsFunc(x, nexusJSONDrops)
	case wamp.Dict:
		for _, e := range x {
			if nexusJSONDrops(e) {
				return true
			}
		}
	}
	return false
}

// rtCall calls procedure, giving up after rtCallTimeout: a message that
// the router cannot deliver is dropped, and the caller would wait for
// ever.
func rtCall(t *testing.T, caller *client.Client, procedure string, args wamp.List, kwargs wamp.Dict) (*wamp.Result, error) {
	ctx, cancel := context.WithTimeout(t.Context(), rtCallTimeout)
	defer cancel()
	return caller.Call(ctx, procedure, nil, args, kwargs, nil)
}

const rtCallTimeout = time.Minute

// rtShort formats v for a failure message, cut short.
func rtShort(v any) string {
	var s string
	switch x := v.(type) {
	case []byte:
		s = string(x)
	default:
		s = fmt.Sprintf("%#v", v)
	}
	const max = 1500
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func rtJSONLen(v reflect.Value) int {
	text, _ := json.Marshal(v.Interface())
	return len(text)
}

// rtEqual reports whether a and b, values of one type, are equal, a nil
// slice or map equal to an empty one.
func rtEqual(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return rtEqual(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !rtEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !rtEqual(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !rtEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	}
	return a.Interface() == b.Interface()
}

// sameAsJSON compares got, a value of type t as a caller received it,
// with want, what encoding/json wrote of it, parsed by rtParseJSON; it
// returns where and how they differ, or "". Numbers compare exactly, as
// the type holds them (a float32 as a float32), and an integer must
// arrive as an integer.
func (g *rtGen) sameAsJSON(t reflect.Type, got, want any, at string) string {
	differ := func(format string, args ...any) string {
		return fmt.Sprintf("at %q: ", at) + fmt.Sprintf(format, args...)
	}
	if want == nil && got == nil {
		return ""
	}
	if want == nil {
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Pointer {
			if rtIsEmpty(got) && t.Kind() != reflect.Pointer {
				return ""
			}
		}
		return differ("got %T %v, want null", got, got)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.sameAsJSON(t.Elem(), got, want, at)
	case reflect.Bool, reflect.String:
		if got != want {
			return differ("got %T %#v, want %#v", got, got, want)
		}
		return ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		gs, ok := rtIntText(got)
		if !ok {
			return differ("got %T %v, want the integer %v", got, got, want)
		}
		if ws, _ := rtIntText(want); gs != ws {
			return differ("got %s, want %v", gs, want)
		}
		return ""
	case reflect.Float32, reflect.Float64:
		gf, ok := rtFloat(got)
		wf, _ := rtFloat(want)
		if t.Kind() == reflect.Float32 {
			ok = ok && float32(gf) == float32(wf)
		} else {
			ok = ok && gf == wf
		}
		if !ok {
			return differ("got %T %v, want %v", got, got, want)
		}
		return ""
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			gb, ok := rtBytes(got)
			wb, err := base64.StdEncoding.DecodeString(want.(string))
			if !ok || err != nil || !bytes.Equal(gb, wb) {
				return differ("got %T %v, want the bytes %v", got, got, want)
			}
			return ""
		}
		gl, ok := rtList(got)
		wl := want.(wamp.List)
		if !ok || len(gl) != len(wl) {
			return differ("got %T %v, want a list of %d", got, got, len(wl))
		}
		for i := range gl {
			if d := g.sameAsJSON(t.Elem(), gl[i], wl[i], at+"["+strconv.Itoa(i)+"]"); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map, reflect.Struct:
		gd, ok := asDict(got)
		wd := want.(wamp.Dict)
		if !ok || len(gd) != len(wd) {
			return differ("got %T with %d keys, want a dict of %d: %v", got, rtLen(got), len(wd), slices.Sorted(maps.Keys(wd)))
		}
		for k, w := range wd {
			gv, ok := gd[k]
			if !ok {
				return differ("no key %q", k)
			}
			et := t
			switch {
			case t.Kind() == reflect.Map:
				et = t.Elem()
			case g.structs[t].quoted[k]:
				et = reflect.TypeFor[string]()
			default:
				et = t.Field(g.structs[t].fieldOf[k]).Type
			}
			if d := g.sameAsJSON(et, gv, w, at+"."+k); d != "" {
				return d
			}
		}
		return ""
	}
	return differ("type %s not compared", t)
}

func rtLen(v any) int {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice {
		return rv.Len()
	}
	return -1
}

// rtIsEmpty reports whether v is an empty list, dict or bytes.
func rtIsEmpty(v any) bool { return rtLen(v) == 0 }

// rtIntText returns v, an integer of any Go type, in decimal.
func rtIntText(v any) (string, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), true
	}
	return "", false
}

// rtFloat returns v, a number of any Go type, as a float64.
func rtFloat(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// rtBytes returns v as bytes as a caller receives them: binary on msgpack
// and CBOR and in-process, the WAMP convention's "\x00"+base64 on JSON.
func rtBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case serialize.BinaryData:
		return x, true
	case string:
		if strings.HasPrefix(x, "\x00") {
			b, err := base64.StdEncoding.DecodeString(x[1:])
			return b, err == nil
		}
	}
	return nil, false
}

func rtList(v any) ([]any, bool) {
	switch x := v.(type) {
	case wamp.List:
		return x, true
	case []any:
		return x, true
	}
	return nil, false
}
