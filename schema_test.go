package wampfn

// The schemas are exact both ways, checked with a real JSON Schema
// validator (santhosh-tekuri/jsonschema, draft-07 with formats asserted)
// on hand-written types and on the random types of
// randomtypes_test.go:
//   - every value wampfn sends, as nexus's JSON serializer writes it,
//     validates against its type's output schema;
//   - of random JSON texts built around a type (right and wrong kinds,
//     numbers at and past the edges, missing and unknown keys, null),
//     wampfn's decoder accepts, after nexus's JSON deserializer, exactly
//     those that validate against the type's input schema, but for the
//     documented exceptions (docs/discovery.md), which the texts avoid.

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// The hand-written types: every rule of the mapping.
type (
	sItem struct {
		Name   string            `json:"name"`
		Price  float32           `json:"price,omitempty"`
		When   time.Time         `json:"when"`
		Blob   []byte            `json:"blob"`
		Next   *sItem            `json:"next,omitempty"`
		Tags   map[string][]int8 `json:"tags"`
		Arr    [2]uint16
		Q      int64 `json:",string"`
		QP     *bool `json:"qp,string"`
		Skip   int   `json:"-"`
		Addr   netip.Addr
		Temp   sCelsius `json:"temp"`
		Any    any      `json:"any"`
		Forest sTree    `json:"forest"`
		SEmbedded
		*SEmbedPtr
	}
	// SEmbedded's Name is hidden by sItem's own; E1 is promoted.
	SEmbedded struct {
		E1   int
		Name string
	}
	SEmbedPtr struct {
		P1 string `json:"p1"`
	}
	sTree    []sTree
	sCelsius float64
	// sNode refers to itself through a slice.
	sNode struct {
		ID   uint8   `json:"id"`
		Kids []sNode `json:"kids"`
	}
)

// Types that refer to each other through one that differs by direction
// (pM), in either order; and a named slice that refers to itself and
// differs by direction.
type (
	pM struct{ X int }
	pA struct {
		B *pB `json:"b"`
		M pM  `json:"m"`
	}
	pB struct {
		A *pA `json:"a"`
	}
	pS    struct{ T sTextOut }
	pTree []*struct {
		S    pS
		Kids pTree
	}
	// POuter's A is promoted through an embedded pointer to an
	// unexported struct, which the decoder cannot allocate.
	POuter struct {
		*pInner
		N int
	}
	pInner struct{ A int }
)

func (m pM) MarshalText() ([]byte, error) { return []byte("m" + strconv.Itoa(m.X)), nil }

// sTextOut has a text form going out only (MarshalText, no
// UnmarshalText): its schemas differ by direction.
type sTextOut struct{ X int }

func (t sTextOut) MarshalText() ([]byte, error) { return []byte("x=" + strconv.Itoa(t.X)), nil }

// sFailure is an error type: sent as its message.
type sFailure struct{ Code int }

func (f *sFailure) Error() string { return "failure " + strconv.Itoa(f.Code) }

// sOut holds what only a result can hold.
type sOut struct {
	Err  error                  `json:"err"`
	Text sTextOut               `json:"text"`
	Fail *sFailure              `json:"fail"`
	Txt  encoding.TextMarshaler `json:"txt"`
}

var schemaInTypes = []reflect.Type{
	reflect.TypeFor[sItem](), reflect.TypeFor[[]sItem](), reflect.TypeFor[*sItem](), reflect.TypeFor[sNode](),
	reflect.TypeFor[sTree](), reflect.TypeFor[map[string]*sNode](), reflect.TypeFor[[3]byte](), reflect.TypeFor[[]byte](),
	reflect.TypeFor[time.Time](), reflect.TypeFor[*time.Time](), reflect.TypeFor[sTextOut](), reflect.TypeFor[sFailure](),
	reflect.TypeFor[pA](), reflect.TypeFor[pB](), reflect.TypeFor[pTree](), reflect.TypeFor[POuter](),
}

var schemaOutTypes = append([]reflect.Type{reflect.TypeFor[sOut](), reflect.TypeFor[*sFailure](), reflect.TypeFor[error]()}, schemaInTypes...)

// compileSchema compiles s, whose $refs point into components, with a
// draft-07 validator that asserts formats.
func compileSchema(t testing.TB, s map[string]any, components map[string]any) *jsonschema.Schema {
	t.Helper()
	root := map[string]any{"allOf": []any{s}, "components": map[string]any{"schemas": components}}
	b, err := json.Marshal(root)
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	require.NoError(t, c.AddResource("mem:///schema.json", doc))
	sch, err := c.Compile("mem:///schema.json")
	require.NoError(t, err, "schema %s", b)
	return sch
}

// typeSchema returns the compiled schema of typ going dir, made as a
// document makes it, and its JSON for messages.
func typeSchema(t testing.TB, typ reflect.Type, dir schemaDir) (*jsonschema.Schema, string) {
	t.Helper()
	g := newSchemaGen()
	g.schema(typ, dir)
	g.finishCollecting()
	s := g.schema(typ, dir)
	require.Zero(t, g.late, "components first met in the second pass")
	b, _ := json.Marshal(map[string]any{"schema": s, "components": g.components})
	return compileSchema(t, s, g.components), string(b)
}

var jsonSer serialize.JSONSerializer

// wireJSON returns v, a value as an encoder made it, as nexus's JSON
// serializer writes it in a YIELD's arguments.
func wireJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := jsonSer.Serialize(&wamp.Yield{Request: 1, Options: wamp.Dict{}, Arguments: wamp.List{v}})
	require.NoError(t, err)
	var msg []json.RawMessage
	require.NoError(t, json.Unmarshal(b, &msg))
	var args []json.RawMessage
	require.NoError(t, json.Unmarshal(msg[3], &args))
	return args[0]
}

// fromWire returns the JSON text x as nexus's JSON serializer delivers it
// to a callee, an INVOCATION's argument; false when it cannot parse it.
func fromWire(x []byte) (any, bool) {
	msg, err := jsonSer.Deserialize([]byte("[68,1,1,{},[" + string(x) + "]]"))
	if err != nil {
		return nil, false
	}
	return msg.(*wamp.Invocation).Arguments[0], true
}

func validates(t testing.TB, sch *jsonschema.Schema, x []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(x))
	require.NoError(t, err, "%s", x)
	return sch.Validate(inst)
}

func TestSchemaSentValuesValidate(t *testing.T) {
	check := func(t *testing.T, typ reflect.Type, values func() reflect.Value, n int) {
		out, outJSON := typeSchema(t, typ, dirOut)
		enc, err := encoderFor(typ)
		require.NoError(t, err)
		for range n {
			v := values()
			x, err := enc.fn(v, 0)
			require.NoError(t, err)
			wire := wireJSON(t, x)
			require.NoError(t, validates(t, out, wire), "%s %s does not validate against %s", typ, wire, outJSON)
		}
	}
	t.Run("hand", func(t *testing.T) {
		for i, typ := range schemaOutTypes {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			check(t, typ, func() reflect.Value { return schemaValue(rng, typ, 0) }, 50)
		}
	})
	for _, seed := range testSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			for i := range rtTypesPerSeed {
				g := newRTGen(seed, uint64(i))
				typ := g.topType(i)
				t.Run(fmt.Sprintf("type=%d", i), func(t *testing.T) {
					check(t, typ, func() reflect.Value { return g.value(typ) }, 10)
				})
			}
		})
	}
}

func TestSchemaArgumentsExact(t *testing.T) {
	check := func(t *testing.T, typ reflect.Type, rng *rand.Rand, n int) {
		in, inJSON := typeSchema(t, typ, dirIn)
		dec, err := decoderFor(typ)
		require.NoError(t, err)
		var accepted, refused int
		for range n {
			// Half the texts have no wrong value on purpose, so that wide
			// structs are accepted too.
			cg := &candGen{rng: rng, noise: []int{0, 3, 10, 30}[rng.IntN(4)]}
			x, err := json.Marshal(cg.candidate(typ, 0))
			require.NoError(t, err)
			src, ok := fromWire(x)
			if !ok {
				continue // no router takes it either
			}
			decErr := dec.fn(src, reflect.New(typ).Elem(), 0)
			valErr := validates(t, in, x)
			switch {
			case decErr == nil && valErr != nil:
				t.Fatalf("%s: wampfn accepts %s, which does not validate against %s: %v", typ, x, inJSON, valErr)
			case decErr != nil && valErr == nil:
				t.Fatalf("%s: %s validates against %s, but wampfn refuses it: %v", typ, x, inJSON, decErr)
			case decErr != nil && cg.noise == 0:
				t.Fatalf("%s: %s, made without a wrong value, is refused: %v", typ, x, decErr)
			case decErr == nil:
				accepted++
			default:
				refused++
			}
		}
		// Both kinds of text were tried.
		require.NotZero(t, accepted, "%s: no text was accepted", typ)
		require.NotZero(t, refused, "%s: no text was refused", typ)
	}
	t.Run("hand", func(t *testing.T) {
		for i, typ := range schemaInTypes {
			check(t, typ, rand.New(rand.NewPCG(uint64(i), 2)), 400)
		}
	})
	for _, seed := range testSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			for i := range rtTypesPerSeed {
				typ := newRTGen(seed, uint64(i)).topType(i)
				t.Run(fmt.Sprintf("type=%d", i), func(t *testing.T) {
					check(t, typ, rand.New(rand.NewPCG(seed, uint64(i)+1000)), 80)
				})
			}
		})
	}
}

// schemaValue returns a random value of typ, of the hand-written types
// (rtGen.value takes only the types it makes).
func schemaValue(rng *rand.Rand, typ reflect.Type, depth int) reflect.Value {
	v := reflect.New(typ).Elem()
	if rng.IntN(8) == 0 || depth > 5 {
		return v
	}
	switch {
	case typ == timeType:
		v.Set(reflect.ValueOf(time.Unix(rng.Int64N(1<<35), rng.Int64N(1e9)).In(time.FixedZone("", 60*(rng.IntN(1200)-600)))))
		return v
	case typ == reflect.TypeFor[netip.Addr]():
		v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), 0, 1})))
		return v
	case typ == errorType:
		v.Set(reflect.ValueOf(errors.New("e" + strconv.Itoa(rng.IntN(9)))))
		return v
	case typ.Kind() == reflect.Interface && typ.NumMethod() == 0:
		if x := []any{nil, 1.5, "s", map[string]any{"k": []any{true}}}[rng.IntN(4)]; x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return v
	case typ.Kind() == reflect.Interface:
		v.Set(reflect.ValueOf(netip.IPv6Loopback()))
		return v
	}
	g := &rtGen{rng: rng}
	switch typ.Kind() {
	case reflect.Pointer:
		p := reflect.New(typ.Elem())
		p.Elem().Set(schemaValue(rng, typ.Elem(), depth+1))
		v.Set(p)
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rng.IntN(7))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			v.SetBytes(b)
			return v
		}
		n := rng.IntN(4)
		v.Set(reflect.MakeSlice(typ, n, n))
		for i := range n {
			v.Index(i).Set(schemaValue(rng, typ.Elem(), depth+1))
		}
	case reflect.Array:
		for i := range v.Len() {
			v.Index(i).Set(schemaValue(rng, typ.Elem(), depth+1))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(typ))
		for range rng.IntN(3) {
			v.SetMapIndex(reflect.ValueOf(g.text()), schemaValue(rng, typ.Elem(), depth+1))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				f.Set(schemaValue(rng, typ.Field(i).Type, depth+1))
			}
		}
	default:
		return g.value(typ) // a scalar
	}
	return v
}

// A candGen makes JSON values around a type, with a wrong one one time
// in noise (0: never).
type candGen struct {
	rng   *rand.Rand
	noise int
	// doubles leaves out the integers just past a 64-bit type's range,
	// which a validator that reads numbers as doubles cannot tell from
	// the edge (exception 4).
	doubles bool
}

func (cg *candGen) noisy() bool { return cg.noise > 0 && cg.rng.IntN(cg.noise) == 0 }

// candidate returns a random JSON value around typ: mostly of its shape,
// with a wrong kind, an edge number or a bad text now and then. It avoids
// the exceptions of docs/discovery.md: keys in other case, a []byte as a
// list of numbers, strings starting with NUL, integers that a float type
// cannot hold exactly, a float32 just past its largest value, ",string"
// contents that do not parse, texts that a TextUnmarshaler other than
// time.Time refuses, and integers past ±2^53 written with a fraction.
func (cg *candGen) candidate(typ reflect.Type, depth int) any {
	rng := cg.rng
	if cg.noisy() {
		return wrongKind(rng, typ)
	}
	switch {
	case typ == timeType:
		if cg.noisy() {
			return []string{"2024-13-01T00:00:00Z", "yesterday", "2024-01-02 03:04:05Z", "", "2024-02-30T12:00:00Z",
				"2024-02-29t12:34:56z", "2016-12-31T23:59:60Z", "2024-02-29T24:00:00Z"}[rng.IntN(8)]
		}
		return time.Unix(rng.Int64N(1<<35), rng.Int64N(1e9)).UTC().Format(time.RFC3339Nano)
	case typ == reflect.TypeFor[netip.Addr]():
		return []string{"10.0.0.1", "::1", "fe80::1"}[rng.IntN(3)]
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8:
		b := make([]byte, rng.IntN(7))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		s := base64.StdEncoding.EncodeToString(b)
		switch {
		case cg.noisy():
			return s + "!" // not base64
		case rng.IntN(4) == 0:
			return nil
		case rng.IntN(2) == 0:
			return "\x00" + s
		}
		return s
	case inText(typ):
		return "x=1" // not reached: the hand types have no other TextUnmarshaler
	}
	switch typ.Kind() {
	case reflect.Bool:
		return rng.IntN(2) == 0
	case reflect.String:
		return (&rtGen{rng: rng}).text()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := typ.Bits()
		lo, hi := new(big.Int).Lsh(big.NewInt(-1), uint(bits-1)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), big.NewInt(1))
		return cg.intCandidate(lo, hi)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		hi := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(typ.Bits())), big.NewInt(1))
		return cg.intCandidate(big.NewInt(0), hi)
	case reflect.Float32:
		if cg.noisy() {
			return json.RawMessage([]string{"3.5e38", "-1e39", "3.4028235677973366e38"}[rng.IntN(3)])
		}
		return json.RawMessage([]string{"0", "1.5", "-2.25", "3.4028234663852886e38", "-3.4028235e38", "3.4028235677973362e38", "1e-46", "16777216", "-123", "1e2"}[rng.IntN(10)])
	case reflect.Float64:
		return json.RawMessage([]string{"0", "1.5", "-2.25", "1.7976931348623157e308", "-1e-300", "9007199254740992", "-123", "0.1"}[rng.IntN(8)])
	case reflect.Interface:
		return []any{nil, 1, "s", []any{true, nil}, map[string]any{"k": 2.5}}[rng.IntN(5)]
	case reflect.Pointer:
		if rng.IntN(3) == 0 || depth > 6 {
			return nil
		}
		return cg.candidate(typ.Elem(), depth)
	case reflect.Slice, reflect.Array:
		n := rng.IntN(4)
		if depth > 6 {
			n = 0 // a type that refers to itself ends here
		}
		if typ.Kind() == reflect.Array {
			n = typ.Len()
			if cg.noisy() {
				n += []int{-1, 1}[rng.IntN(2)]
				n = max(n, 0)
			}
		} else if rng.IntN(8) == 0 {
			return nil
		}
		l := make([]any, n)
		for i := range l {
			l[i] = cg.candidate(typ.Elem(), depth+1)
		}
		return l
	case reflect.Map:
		if rng.IntN(8) == 0 {
			return nil
		}
		m := map[string]any{}
		for range rng.IntN(3) * min(1, 7-depth) {
			m[(&rtGen{rng: rng}).text()] = cg.candidate(typ.Elem(), depth+1)
		}
		return m
	case reflect.Struct:
		return cg.structCandidate(typ, depth)
	}
	panic("candidate: " + typ.String())
}

// structCandidate returns an object of some of typ's keys, exactly as
// encoding/json spells them, and now and then a key that names no field.
func (cg *candGen) structCandidate(typ reflect.Type, depth int) any {
	rng := cg.rng
	fields, err := structFields(typ)
	if err != nil {
		panic(err)
	}
	m := map[string]any{}
	for _, f := range fields {
		if rng.IntN(3) == 0 || depth > 6 && f.typ.Kind() != reflect.Bool {
			continue
		}
		if behindUnsettable(typ, f.index) && !cg.noisy() {
			continue // a key that the decoder always refuses
		}
		if !f.quoted {
			m[f.name] = cg.candidate(f.typ, depth+1)
			continue
		}
		// A ",string" field: a string holding what encoding/json writes,
		// or another kind.
		switch {
		case cg.noisy():
			m[f.name] = wrongKind(rng, reflect.TypeFor[string]()) // not a string: its contents are the exception
		case cg.noisy() || f.typ.Kind() == reflect.Pointer && rng.IntN(4) == 0:
			m[f.name] = nil
		default:
			et := f.typ
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			b, _ := json.Marshal((&rtGen{rng: rng}).value(et).Interface())
			m[f.name] = string(b)
		}
	}
	if rng.IntN(4) == 0 {
		m["zz unknown"] = []any{1, "x"} // folds to no key of any type here
	}
	return m
}

// intCandidate returns an integer in [lo, hi] or just past it, or a
// small number with a fraction or an exponent.
func (cg *candGen) intCandidate(lo, hi *big.Int) any {
	rng, one := cg.rng, big.NewInt(1)
	if cg.noisy() {
		switch rng.IntN(3) {
		case 0:
			return json.RawMessage([]string{"2.5", "-0.5", "1e-2"}[rng.IntN(3)])
		case 1:
			if cg.doubles && lo.BitLen() > 53 {
				return json.RawMessage("0.5")
			}
			return json.RawMessage(new(big.Int).Sub(lo, one).String())
		}
		if cg.doubles && hi.BitLen() > 53 {
			return json.RawMessage("-0.5")
		}
		return json.RawMessage(new(big.Int).Add(hi, one).String())
	}
	switch rng.IntN(6) {
	case 0:
		return json.RawMessage([]string{"1.0", "1e2", "0.0"}[rng.IntN(3)])
	case 1:
		return json.RawMessage(new(big.Int).Add(lo, one).String())
	case 2:
		return json.RawMessage(new(big.Int).Sub(hi, one).String())
	case 3:
		return json.RawMessage(lo.String())
	case 4:
		return json.RawMessage(hi.String())
	}
	small := big.NewInt(int64(rng.IntN(200) - 100))
	if small.Cmp(lo) < 0 {
		small.Neg(small)
	}
	return json.RawMessage(small.String())
}

// wrongKind returns a JSON value of another kind than typ's, or null,
// avoiding the exceptions (see candidate).
func wrongKind(rng *rand.Rand, typ reflect.Type) any {
	for {
		x := []any{nil, true, 7, -1.5, "s", []any{}, map[string]any{}}[rng.IntN(7)]
		bytesType := typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8
		if _, isList := x.([]any); isList && bytesType {
			continue // a list of numbers is a []byte too
		}
		if _, isStr := x.(string); isStr && (typ.Kind() == reflect.String || inText(typ) || bytesType ||
			typ.Kind() == reflect.Pointer && (typ.Elem().Kind() == reflect.String || inText(typ.Elem()))) {
			continue
		}
		return x
	}
}

// TestRandomTypeSchemasAjv hands the schemas of the random and the
// hand-written types to ajv (interop/schema_check.js, Node): every schema
// must compile; what each echo procedure returns, after a round trip over
// a real router on a JSON WebSocket, must validate against its output
// schema; and the JSON texts of TestSchemaArgumentsExact that wampfn
// accepts must validate against the input schema, those it refuses must
// not. It needs node and interop/node_modules (bash interop/install.sh):
// without them it skips, or fails with WAMPFN_INTEROP=require.
func TestRandomTypeSchemasAjv(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("interop/node_modules/ajv/package.json")
	}
	if err != nil {
		if os.Getenv("WAMPFN_INTEROP") == "require" {
			t.Fatalf("WAMPFN_INTEROP=require but node or interop/node_modules/ajv is missing: %v (install: bash interop/install.sh)", err)
		}
		t.Skipf("node or interop/node_modules/ajv is missing (%v); install them with: bash interop/install.sh", err)
	}
	leakCheck(t)
	r := wampfntest.NewRouter(t)
	callee := r.Connect(t, wampfntest.InProcess)
	caller := r.Connect(t, wampfntest.JSON)

	type ajvCase struct {
		Name    string            `json:"name"`
		Schema  map[string]any    `json:"schema"`
		Valid   []json.RawMessage `json:"valid"`
		Invalid []json.RawMessage `json:"invalid"`
	}
	var cases []ajvCase
	components := map[string]any{}
	addType := func(name string, typ reflect.Type, values func() reflect.Value, rng *rand.Rand) {
		g := newSchemaGen()
		g.schema(typ, dirIn)
		g.schema(typ, dirOut)
		g.finishCollecting()
		in, out := g.schema(typ, dirIn), g.schema(typ, dirOut)
		for k, v := range g.components { // one type's names never clash with another's here
			components[name+"."+k] = renamed(t, v.(map[string]any), name)
		}
		in, out = renamed(t, in, name), renamed(t, out, name)

		// What an echo returns, over the router.
		uri := "test.ajv." + strings.NewReplacer("/", ".", "=", "").Replace(name)
		fn := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{typ}, []reflect.Type{typ}, false),
			func(args []reflect.Value) []reflect.Value { return args })
		require.NoError(t, Register(callee, uri, fn.Interface()))
		enc, err := encoderFor(typ)
		require.NoError(t, err)
		outCase := ajvCase{Name: name + " result", Schema: out}
		for range 5 {
			x, err := enc.fn(values(), 0)
			require.NoError(t, err)
			src, ok := fromWire(wireJSON(t, x)) // as a JSON peer sends it
			if !ok || g.asymmetric(typ) {
				// What goes out does not come back in; or nexus's JSON
				// codec cannot read what it wrote (a float beyond 2^64
				// written as an integer).
				outCase.Valid = append(outCase.Valid, wireJSON(t, x))
				continue
			}
			res, err := caller.Call(t.Context(), uri, nil, wamp.List{src}, nil, nil)
			require.NoError(t, err, "%s: %s", typ, wireJSON(t, x))
			outCase.Valid = append(outCase.Valid, wireJSON(t, res.Arguments[0]))
		}
		// What wampfn accepts and refuses.
		dec, err := decoderFor(typ)
		require.NoError(t, err)
		inCase := ajvCase{Name: name + " argument", Schema: in}
		for range 40 {
			cg := &candGen{rng: rng, noise: []int{0, 3, 10}[rng.IntN(3)], doubles: true}
			x, err := json.Marshal(cg.candidate(typ, 0))
			require.NoError(t, err)
			src, ok := fromWire(x)
			if !ok {
				continue
			}
			if dec.fn(src, reflect.New(typ).Elem(), 0) == nil {
				inCase.Valid = append(inCase.Valid, x)
			} else {
				inCase.Invalid = append(inCase.Invalid, x)
			}
		}
		cases = append(cases, outCase, inCase)
	}
	for i, typ := range schemaInTypes {
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		addType(fmt.Sprintf("hand%d", i), typ, func() reflect.Value { return schemaValue(rng, typ, 0) }, rng)
	}
	for _, seed := range testSeeds(t) {
		for i := range rtTypesPerSeed {
			g := newRTGen(seed, uint64(i))
			typ := g.topType(i)
			addType(fmt.Sprintf("seed%d.type%d", seed, i), typ, func() reflect.Value { return g.value(typ) },
				rand.New(rand.NewPCG(seed, uint64(i)+2000)))
		}
	}

	input, err := json.Marshal(map[string]any{"components": map[string]any{"schemas": components}, "cases": cases})
	require.NoError(t, err)
	if f := os.Getenv("WAMPFN_AJV_DUMP"); f != "" {
		require.NoError(t, os.WriteFile(f, input, 0o644))
	}
	cmd := exec.CommandContext(t.Context(), node, "interop/schema_check.js")
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ajv:\n%s", out)
	require.Equal(t, fmt.Sprintf("ok %d\n", len(cases)), string(out))
}

// renamed returns schema s with its $refs to component X made to point
// to component prefix.X, by way of its JSON.
func renamed(t *testing.T, s map[string]any, prefix string) map[string]any {
	b, err := json.Marshal(s)
	require.NoError(t, err)
	b = bytes.ReplaceAll(b, []byte(`"`+componentsPrefix), []byte(`"`+componentsPrefix+prefix+"."))
	var r map[string]any
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

// TestSchemaCycleAcrossProcedures: pA differs by direction (through pM),
// and so does pB, which holds a pA; whichever procedure is described
// first, pB's output schema takes pM as text.
func TestSchemaCycleAcrossProcedures(t *testing.T) {
	for _, order := range [][]string{{"a.x", "c.out"}, {"c.out", "a.x"}} {
		d := NewDescription(Info{})
		fns := map[string]any{"a.x": func(pA) {}, "c.out": func() pB { return pB{} }}
		for _, uri := range order {
			require.NoError(t, d.Register(uri, fns[uri]))
		}
		doc, late := buildDocument(d.info, d.procs)
		require.Zero(t, late)
		components := doc["components"].(map[string]any)["schemas"].(map[string]any)
		var sch, param *jsonschema.Schema
		for _, m := range doc["methods"].([]any) {
			m := m.(map[string]any)
			switch m["name"] {
			case "c.out":
				sch = compileSchema(t, m["result"].(map[string]any)["schema"].(map[string]any), components)
			case "a.x":
				param = compileSchema(t, m["params"].([]any)[0].(map[string]any)["schema"].(map[string]any), components)
			}
		}
		enc, err := encoderFor(reflect.TypeFor[pB]())
		require.NoError(t, err)
		x, err := enc.fn(reflect.ValueOf(pB{A: &pA{M: pM{3}}}), 0)
		require.NoError(t, err)
		require.NoError(t, validates(t, sch, wireJSON(t, x)), "%v: %s", order, wireJSON(t, x))
		require.NoError(t, validates(t, param, []byte(`{"b": {"a": null}, "m": {"X": 1}}`)), "%v", order)
		require.Error(t, validates(t, param, []byte(`{"m": "m3"}`)), "%v", order)
	}
}
