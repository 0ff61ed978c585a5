package wampfn

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// chanText decodes from a string, though its element type cannot be
// decoded: a type whose own plan succeeds while a plan it does not need
// would fail.
type chanText []chan int

func (c *chanText) UnmarshalText(b []byte) error {
	*c = make(chanText, len(b))
	return nil
}

// Whether Register accepts a signature does not depend on what was
// registered before it in the process. Each order runs in a process of its
// own (this test binary, run again), whose type caches start empty.
func TestPlanCacheOrderIndependent(t *testing.T) {
	type withChan struct {
		Name string
		C    chan int
	}
	type holder struct{ W withChan }
	signatures := []any{
		func(chanText) int { return 0 },
		func(map[string]chan int) {},
		func([]chan int) {},
		func(withChan) {},
		func(holder) {},
		func() holder { return holder{} },
		func(*chanText) {},
		func(ProgressSink[[]chan int]) {},
		func(map[string]chanText) int { return 0 },
	}
	const marker = "wampfn-order-outcome: "
	if order := os.Getenv("WAMPFN_ORDER"); order != "" {
		// The child: register every signature in the order given, and
		// print Register's error text for each ("" when it accepted it);
		// every accepted signature must also serve a call.
		tr := wampfntest.NewRouter(t)
		callee := tr.Connect(t, wampfntest.InProcess)
		caller := tr.Connect(t, wampfntest.InProcess)
		got := make([]string, len(signatures))
		for k := range signatures {
			i := k
			if order == "backward" {
				i = len(signatures) - 1 - k
			}
			proc := fmt.Sprintf("test.order.%d", i)
			err := Register(callee, proc, signatures[i])
			if err != nil {
				got[i] = strings.TrimPrefix(err.Error(), "wampfn: unsupported function signature: register "+proc+": ")
				continue
			}
			_, err = caller.Call(t.Context(), proc, nil, wamp.List{"abc"}, nil, nil)
			if err != nil {
				// A refusal of the argument is fine; a crash is not.
				require.Equal(t, wamp.ErrInvalidArgument, callErr(t, err).Error, "%s", proc)
			}
		}
		b, err := json.Marshal(got)
		require.NoError(t, err)
		fmt.Println(marker + string(b))
		return
	}
	outcome := func(order string) []string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPlanCacheOrderIndependent$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WAMPFN_ORDER="+order)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		for line := range strings.Lines(string(out)) {
			if rest, ok := strings.CutPrefix(line, marker); ok {
				var got []string
				require.NoError(t, json.Unmarshal([]byte(rest), &got))
				return got
			}
		}
		t.Fatalf("no outcome in the child's output:\n%s", out)
		return nil
	}
	first, second := outcome("forward"), outcome("backward")
	require.Equal(t, first, second, "the same signatures, accepted or refused alike in either order")
	require.Empty(t, first[0], "chanText decodes from a string")
	require.Contains(t, first[1], "chan int cannot be decoded from a WAMP value")
	require.Contains(t, first[3], "field C of wampfn.withChan: chan int cannot be decoded")
	require.Contains(t, first[5], "cannot be sent as a WAMP value")
	require.Empty(t, first[8])
}

// The struct types of the comparison with encoding/json.
type (
	jsonInner struct {
		A int `json:"a"`
		B string
	}
	JSONOther struct {
		A int    `json:"a"`
		C string `json:"c"`
	}
	jsonTagWins struct {
		Name  string `json:"name"`
		Other string `json:"Name"` // tagged "Name" beats the untagged Name below
		Nm    string // untagged
	}
	jsonUntaggedVsTagged struct {
		ID  int
		Key int `json:"ID"`
	}
	zeroer   struct{ N int }
	jsonOmit struct {
		Empty  string    `json:",omitempty"`
		Zero   int       `json:",omitzero"`
		When   time.Time `json:"when,omitzero"` // IsZero method
		Z      zeroer    `json:"z,omitzero"`    // IsZero method on the value
		PZ     *zeroer   `json:"pz,omitzero"`
		Kept   int       `json:"kept"`
		Struct jsonInner `json:",omitzero"`
	}
	jsonQuoted struct {
		I   int64    `json:"i,string"`
		U   uint8    `json:"u,string"`
		F   float64  `json:"f,string"`
		B   bool     `json:"b,string"`
		S   string   `json:"s,string"`
		P   *int     `json:"p,string"`
		Nil *float32 `json:"nil,string"`
	}
	jsonOddTags struct {
		//lint:ignore SA5008 encoding/json names this field "-"
		Dash int `json:"-,"`
		//lint:ignore SA5008 an invalid name: encoding/json keeps the Go name
		Bad     int `json:"a\"b"`
		Opts    int `json:",omitempty"`
		Skipped int `json:"-"`
		lower   int // unexported: never sent
	}
	// JSONEmbedded is exported: encoding/json (and wampfn) can allocate
	// it behind a nil embedded pointer.
	JSONEmbedded struct {
		A int `json:"a"`
		B string
	}
	// WrapA and WrapB both embed JSONEmbedded: embedded side by side,
	// its fields come twice at one depth and cancel out.
	WrapA struct {
		JSONEmbedded
		P int
	}
	WrapB struct {
		JSONEmbedded
		Q int
	}
	jsonEmbeddedPtr struct {
		*JSONEmbedded
		X int
	}
	jsonTwice struct {
		jsonInner
		Again jsonWrapInner
	}
	jsonWrapInner struct{ jsonInner }
)

func (z zeroer) IsZero() bool { return z.N == 42 }

// buildStruct returns a constructor of values of the struct type with
// fields. (Types built at run time: go vet reports the repeated json tags
// that are the point of these cases.)
func buildStruct(fields ...reflect.StructField) func(values ...any) any {
	t := reflect.StructOf(fields)
	return func(values ...any) any {
		v := reflect.New(t).Elem()
		for i, x := range values {
			v.Field(i).Set(reflect.ValueOf(x))
		}
		return v.Interface()
	}
}

func embed[T any]() reflect.StructField {
	t := reflect.TypeFor[T]()
	return reflect.StructField{Name: t.Name(), Type: t, Anonymous: true}
}

var jsonComparisons = []any{
	jsonTagWins{Name: "n", Other: "o", Nm: "u"},
	jsonUntaggedVsTagged{ID: 1, Key: 2},
	// jsonInner's A and jsonOther's A, both "a" at depth 1, cancel out.
	buildStruct(embed[JSONEmbedded](), embed[JSONOther]())(JSONEmbedded{A: 1, B: "b"}, JSONOther{A: 2, C: "c"}),
	// The top-level "a" beats the embedded one.
	buildStruct(embed[JSONEmbedded](), reflect.StructField{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"a"`})(JSONEmbedded{A: 1, B: "b"}, "top"),
	jsonOmit{When: time.Time{}, Z: zeroer{42}, PZ: &zeroer{42}},
	jsonOmit{Empty: "e", Zero: 1, When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Z: zeroer{1}, Kept: 0, Struct: jsonInner{A: 1}},
	jsonQuoted{I: -12, U: 255, F: 1.5, B: true, S: `he said "hi" <b>`, P: new(int)},
	jsonOddTags{Dash: 1, Bad: 2, Opts: 3, Skipped: 4, lower: 5},
	jsonEmbeddedPtr{JSONEmbedded: &JSONEmbedded{A: 1, B: "b"}, X: 2},
	jsonEmbeddedPtr{X: 3},
	jsonTwice{jsonInner{A: 1}, jsonWrapInner{jsonInner{A: 2, B: "x"}}},
	buildStruct(embed[WrapA](), embed[WrapB]())(WrapA{JSONEmbedded{A: 1, B: "b"}, 2}, WrapB{JSONEmbedded{A: 3, B: "c"}, 4}),
}

// viaJSON returns v as encoding/json's generic value: what a JSON peer
// would see.
func viaJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// Struct keys are those of encoding/json, in both directions.
func TestStructKeysLikeEncodingJSON(t *testing.T) {
	for _, v := range jsonComparisons {
		t.Run(fmt.Sprintf("%T %v", v, v), func(t *testing.T) {
			rv := reflect.ValueOf(v)
			enc, err := encoderFor(rv.Type())
			require.NoError(t, err)
			got, err := enc.fn(rv, 0)
			require.NoError(t, err)
			require.Equal(t, viaJSON(t, v), viaJSON(t, got), "encoding: wampfn's dict, against encoding/json's object")

			// Decoding what encoding/json wrote gives what encoding/json
			// reads from it.
			b, err := json.Marshal(v)
			require.NoError(t, err)
			want := reflect.New(rv.Type())
			require.NoError(t, json.Unmarshal(b, want.Interface()))
			dec, err := decoderFor(rv.Type())
			require.NoError(t, err)
			gotV := reflect.New(rv.Type())
			require.NoError(t, dec.fn(viaJSON(t, v), gotV.Elem(), 0))
			require.Equal(t, want.Elem().Interface(), gotV.Elem().Interface(), "decoding")
		})
	}
}

// ",string" is honoured for the kinds encoding/json quotes, strictly, and
// refused at Register where encoding/json would ignore it.
func TestQuotedFields(t *testing.T) {
	dec, err := decoderFor(reflect.TypeFor[jsonQuoted]())
	require.NoError(t, err)
	for _, tc := range []struct {
		in   wamp.Dict
		want string // the ArgumentError's text; "" for success
	}{
		{wamp.Dict{"i": "-5", "u": "7", "f": "2.5", "b": "false", "s": `"x"`, "p": "9", "nil": nil}, ""},
		{wamp.Dict{"i": 5}, `at i: cannot use int 5 as int64: want a string (json option ",string")`},
		{wamp.Dict{"i": "1.5"}, `at i: cannot use string "1.5" as int64 (json option ",string")`},
		{wamp.Dict{"u": "300"}, `at u: cannot use string "300" as uint8 (json option ",string")`},
		{wamp.Dict{"s": "x"}, `at s: cannot use string "x" as string (json option ",string")`},
		{wamp.Dict{"b": "yes"}, `at b: cannot use string "yes" as bool (json option ",string")`},
	} {
		var got jsonQuoted
		err := dec.fn(tc.in, reflect.ValueOf(&got).Elem(), 0)
		if tc.want == "" {
			require.NoError(t, err)
			require.Equal(t, jsonQuoted{I: -5, U: 7, F: 2.5, S: "x", P: ptr(9)}, got)
			continue
		}
		var ae *ArgumentError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, tc.want, "at "+ae.Path+": "+ae.Msg)
	}

	tr := wampfntest.NewRouter(t)
	c := tr.Connect(t, wampfntest.InProcess)
	for _, fn := range []any{
		func(struct {
			//lint:ignore SA5008 the option Register must refuse
			L []int `json:"l,string"`
		}) {
		},
		func() (v struct {
			//lint:ignore SA5008 the option Register must refuse
			T time.Time `json:"t,string"`
		}) {
			return v
		},
	} {
		err := Register(c, "test.quoted.bad", fn)
		require.ErrorIs(t, err, ErrSignature)
		require.Contains(t, err.Error(), `the json option ",string"`)
	}
}

func ptr[T any](v T) *T { return &v }

// The same struct rules over a real router, on every transport.
func TestStructKeysOverWire(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			for i, v := range jsonComparisons {
				proc := fmt.Sprintf("test.structkeys.%d", i)
				// An echo of v's type: decode what arrives, send it back.
				typ := reflect.TypeOf(v)
				echo := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{typ}, []reflect.Type{typ}, false),
					func(in []reflect.Value) []reflect.Value { return in }).Interface()
				require.NoError(t, Register(callee, proc, echo))
				arg := viaJSON(t, v)
				// What encoding/json's echo would send back.
				b, err := json.Marshal(arg)
				require.NoError(t, err)
				read := reflect.New(typ)
				require.NoError(t, json.Unmarshal(b, read.Interface()))
				want := viaJSON(t, read.Elem().Interface())

				res, err := caller.Call(t.Context(), proc, nil, wamp.List{arg}, nil, nil)
				require.NoError(t, err, "%T", v)
				require.Len(t, res.Arguments, 1)
				require.Equal(t, want, viaJSON(t, res.Arguments[0]), "%T: what arrives and goes back is what encoding/json reads and writes", v)
			}
		})
	}
}
