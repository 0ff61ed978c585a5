package wampfn

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Hostile input: FuzzDecode feeds WAMP values built from the fuzzer's
// bytes (nested lists and dicts, huge and negative numbers, NaN and
// infinities, invalid UTF-8, "\x00"-prefixed strings that are not base64,
// nesting thousands of levels deep, and the Go values an in-process caller
// may send) as positional and keyword arguments to a set of signatures,
// through the real argument binding (procedure.bindArgs) and the whole
// invocation path (procedure.invoke: bind, call, encode the result). It
// must never panic or hang, and must end either in a call whose result
// encodes, or in an *ArgumentError that becomes wamp.error.invalid_argument
// with its message.
//
// CI: go test -run '^$' -fuzz FuzzDecode -fuzztime 20s .
//
// Bounds: lists, dicts and pointers nest at most MaxDepth (64) levels in
// a parameter of a recursive type (any other type has a fixed depth; a
// value of type any is taken as it is). nexus's serializers (ugorji codec)
// refuse messages nested deeper than 1024. Sizes are bounded by the
// message: decoding allocates the parameter's value, so a list of n
// elements into []T costs n*sizeof(T) however small its elements are on
// the wire (msgpack nil: 1 byte); bound message sizes at the router (nexus
// RawSocket RecvLimit, 16 MiB by default; nexus's WebSocket server has no
// limit).

type (
	fuzzInner struct {
		A int8            `json:"a"`
		B *uint16         `json:"b"`
		C []float32       `json:"c"`
		D map[string]bool `json:"d"`
	}
	fuzzEmbedded struct{ E string }
	fuzzStruct   struct {
		Name  string            `json:"name"`
		Items []fuzzInner       `json:"items"`
		Tags  map[string]string `json:"tags,omitempty"`
		Raw   []byte            `json:"raw"`
		When  time.Time         `json:"when"`
		Fixed [2]int64
		Ptr   **int
		*fuzzEmbedded
		Skip string `json:"-"`
	}
	fuzzTree struct {
		Val  int                  `json:"val"`
		Kids []*fuzzTree          `json:"kids"`
		Next *fuzzTree            `json:"next"`
		Meta map[string]*fuzzTree `json:"meta"`
	}
	fuzzList  []fuzzList
	fuzzMap   map[string]fuzzMap
	fuzzKey   string
	fuzzLevel uint8
	// fuzzEnum decodes from "low" or "high" only.
	fuzzEnum int
)

func (e *fuzzEnum) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*e = 1
	case "high":
		*e = 2
	default:
		return fmt.Errorf("unknown level %q", b)
	}
	return nil
}

// fuzzPanicky's UnmarshalText panics on "boom", as a buggy one might.
type fuzzPanicky struct{}

func (*fuzzPanicky) UnmarshalText(b []byte) error {
	if string(b) == "boom" {
		panic("boom")
	}
	return nil
}

func (e fuzzEnum) MarshalText() ([]byte, error) {
	return []byte([]string{"", "low", "high"}[min(max(int(e), 0), 2)]), nil
}

// fuzzSignature is a function to decode into; echo ones return their
// arguments, so that everything they accept must also encode.
type fuzzSignature struct {
	fn    any
	names []string
}

var fuzzSignatures = []fuzzSignature{
	{fn: func(int, int8, uint, uint8, float32, float64, bool, string) {}},
	{fn: func(a int64, b uint64, c int32, d uint16) (int64, uint64, int32, uint16) { return a, b, c, d }},
	{fn: func(a []byte, b [4]byte, c *[]byte) ([]byte, [4]byte, *[]byte) { return a, b, c }},
	{fn: func(a []int, b [3]string, c map[string]int, d map[fuzzKey]fuzzLevel) ([]int, [3]string, map[string]int, map[fuzzKey]fuzzLevel) {
		return a, b, c, d
	}},
	{fn: func(any, []any, map[string]any) {}},
	{fn: func(s fuzzStruct, p *fuzzStruct) (fuzzStruct, *fuzzStruct) { return s, p }},
	{fn: func(t fuzzTree) fuzzTree { return t }},
	{fn: func(l fuzzList, m fuzzMap) (fuzzList, fuzzMap) { return l, m }},
	// net.IP is not echoed: it also decodes from bytes of any length,
	// which its MarshalText then refuses.
	{fn: func(t time.Time, ip net.IP, e fuzzEnum) (time.Time, int, fuzzEnum) { return t, len(ip), e }},
	{fn: func(s string, rest ...int64) (string, []int64) { return s, rest }},
	{fn: func(n int, s *string, t *fuzzTree) (int, *string, *fuzzTree) { return n, s, t }},
	{fn: func(ctx context.Context, n int, d Details, f []float64) (int, []float64) { return n, f }},
	{fn: func(a int, b []string, c *fuzzStruct) (int, []string, *fuzzStruct) { return a, b, c }, names: []string{"a", "b", "c"}},
	// Not an echo: []fuzzTree would nest rest's trees one level deeper
	// than they arrived, each as an argument of its own.
	{fn: func(x uint8, rest ...fuzzTree) (uint8, int) { return x, len(rest) }, names: []string{"x", "rest"}},
}

// fuzzProcedures returns the signatures analysed, as Register would. (Not
// a package-level variable: the decoder cache is set up by an init func,
// which runs after package-level variables are initialised.)
var fuzzProcedures = sync.OnceValue(func() []*procedure {
	ps := make([]*procedure, len(fuzzSignatures))
	for i, s := range fuzzSignatures {
		var opts []Option
		if s.names != nil {
			opts = append(opts, WithParamNames(s.names...))
		}
		p, err := newProcedure(fmt.Sprintf("fuzz.%d", i), s.fn, opts)
		if err != nil {
			panic(err)
		}
		ps[i] = p
	}
	return ps
})

// fuzzKeys are dict keys that name struct fields and parameters, so that
// generated dicts reach the field decoders.
var fuzzKeys = []string{"a", "b", "c", "d", "x", "rest", "name", "Name", "NAME", "items", "tags", "raw",
	"when", "Fixed", "Ptr", "E", "Skip", "val", "kids", "next", "meta", "", "\xff", "\x00"}

// Bounds on the values built from one input: they keep each input fast,
// so that a slow decoder stands out, not a big input.
const (
	fuzzMaxNodes = 10000 // values and containers
	fuzzMaxDeep  = 5000  // the deep op's nesting
	fuzzMaxLen   = 256   // string and byte lengths
)

// fuzzBuilder turns fuzz bytes into WAMP values.
type fuzzBuilder struct {
	b     []byte
	nodes int
}

func (fb *fuzzBuilder) byte() byte {
	if len(fb.b) == 0 {
		return 0
	}
	c := fb.b[0]
	fb.b = fb.b[1:]
	return c
}

func (fb *fuzzBuilder) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], fb.b)
	fb.b = fb.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (fb *fuzzBuilder) bytes() []byte {
	n := min(int(fb.byte())%fuzzMaxLen, len(fb.b))
	out := append([]byte(nil), fb.b[:n]...)
	fb.b = fb.b[n:]
	return out
}

var fuzzFloats = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1.5, 3.0, -3.0,
	twoTo63, -twoTo63, 2 * twoTo63, 1e300, -1e300, math.MaxFloat32 * 2, math.SmallestNonzeroFloat64,
	255, 256, -1, 1 << 53, 1<<53 + 1}

var fuzzInts = []any{int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64), uint64(1 << 63),
	int64(-1), int64(0), int64(255), int64(256), int64(-129), int64(math.MaxInt32) + 1, uint64(1<<53 + 1)}

var fuzzStrings = []string{"low", "high", "2024-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "127.0.0.1", "::1",
	"AQID", "\x00AQID", "\x00", "\x00!!not base64!!", "\x00AQI", "AQI", "3", "1.5", "true", "null",
	"\xff\xfe", strings.Repeat("é", 30)}

func (fb *fuzzBuilder) value(depth int) any {
	fb.nodes++
	if fb.nodes > fuzzMaxNodes || len(fb.b) == 0 {
		return nil
	}
	op := fb.byte()
	switch op % 22 {
	case 0:
		return nil
	case 1:
		return op&0x80 != 0
	case 2:
		return int64(fb.u64())
	case 3:
		return fb.u64()
	case 4:
		return math.Float64frombits(fb.u64())
	case 5:
		return fuzzFloats[int(fb.byte())%len(fuzzFloats)]
	case 6:
		return fuzzInts[int(fb.byte())%len(fuzzInts)]
	case 7:
		return string(fb.bytes()) // any bytes: invalid UTF-8 too
	case 8:
		return "\x00" + string(fb.bytes()) // JSON bytes, mostly not base64
	case 9:
		return "\x00" + base64.StdEncoding.EncodeToString(fb.bytes())
	case 10:
		if op&0x80 != 0 {
			return serialize.BinaryData(fb.bytes())
		}
		return fb.bytes()
	case 11:
		return fuzzStrings[int(fb.byte())%len(fuzzStrings)]
	case 12, 13:
		l := make(wamp.List, int(fb.byte())%8)
		for i := range l {
			l[i] = fb.value(depth + 1)
		}
		if op&0x80 != 0 {
			return []any(l) // in-process: a plain []any
		}
		return l
	case 14, 15:
		n := int(fb.byte()) % 8
		d := make(wamp.Dict, n)
		for range n {
			var k string
			if c := fb.byte(); c&0x80 != 0 {
				k = string(fb.bytes())
			} else {
				k = fuzzKeys[int(c)%len(fuzzKeys)]
			}
			d[k] = fb.value(depth + 1)
		}
		if op&0x80 != 0 {
			return map[string]any(d)
		}
		return d
	case 16:
		// Deep nesting of lists or dicts, built without recursion.
		// Every level counts against fuzzMaxNodes.
		levels := int(binary.LittleEndian.Uint16([]byte{fb.byte(), fb.byte()})) % fuzzMaxDeep
		levels = min(levels, max(fuzzMaxNodes-fb.nodes, 0))
		fb.nodes += levels
		key := fuzzKeys[int(fb.byte())%len(fuzzKeys)]
		v := fb.value(depth + 1)
		for range levels {
			if op&0x80 != 0 {
				v = wamp.Dict{key: v}
			} else {
				v = wamp.List{v}
			}
		}
		return v
	case 17:
		// Go values an in-process caller may send.
		switch fb.byte() % 10 {
		case 0:
			return int(int64(fb.u64()))
		case 1:
			return int32(fb.u64())
		case 2:
			return uint8(fb.u64())
		case 3:
			return float32(math.Float64frombits(fb.u64()))
		case 4:
			return []int{int(fb.byte()), -int(fb.byte())}
		case 5:
			return [3]string{string(fb.bytes()), "b", "c"}
		case 6:
			return map[string]int{"a": int(fb.byte())}
		case 7:
			return fuzzInner{A: int8(fb.byte()), C: []float32{1.5}}
		case 8:
			return &fuzzTree{Val: int(fb.byte()), Kids: []*fuzzTree{nil, {}}}
		default:
			return time.Unix(int64(fb.u64()%253402300800), 0).UTC() // up to year 9999, as MarshalText allows
		}
	case 18:
		return fuzzKey(fb.bytes())
	case 19:
		return make(chan int) // not a WAMP value at all
	default:
		return int64(int8(fb.byte()))
	}
}

// fuzzInvocation builds a signature index, positional arguments and
// keyword arguments from data.
func fuzzInvocation(data []byte) (int, wamp.List, wamp.Dict) {
	fb := &fuzzBuilder{b: data}
	sig := int(fb.byte()) % len(fuzzSignatures)
	head := fb.byte()
	args := make(wamp.List, int(head)%7)
	for i := range args {
		args[i] = fb.value(0)
	}
	var kwargs wamp.Dict
	if head&0x80 != 0 {
		kwargs = wamp.Dict{}
		for range int(fb.byte()) % 4 {
			k := fuzzKeys[int(fb.byte())%len(fuzzKeys)]
			kwargs[k] = fb.value(0)
		}
	}
	return sig, args, kwargs
}

// fuzzHangLimit is how long one input may take. Far above what any input
// takes; a decoder that loops forever crashes the test with the input.
const fuzzHangLimit = 10 * time.Second

func FuzzDecode(f *testing.F) {
	// A few seeds; testdata/fuzz/FuzzDecode holds the corpus the fuzzer
	// found (one input per distinct outcome) and the inputs that failed.
	for sig := range fuzzSignatures {
		f.Add([]byte{byte(sig), 0})
		// deep nesting, as a list and as a dict
		f.Add([]byte{byte(sig), 1, 16, 0xff, 0x0f, 20, 2, 1})
		f.Add([]byte{byte(sig), 1, 16 | 0x80, 0x40, 0x00, 18, 2, 1})
		// keyword arguments
		f.Add([]byte{byte(sig), 0x81, 6, 1, 2, 3, 0, 3, 0x10, 1, 4})
	}
	// each kind of value, in both flavours
	for op := range byte(22) {
		f.Add([]byte{op % byte(len(fuzzSignatures)), 3, op, 7, 1, 2, 3, 4, 5, 6, 7, 8, op | 0x80, 3, 1, 0, 5})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, args, kwargs := fuzzInvocation(data)
		p := fuzzProcedures()[sig]
		hang := time.AfterFunc(fuzzHangLimit, func() {
			panic(fmt.Sprintf("%s: decoding %d args, %d kwargs took over %v", p.fn.Type(), len(args), len(kwargs), fuzzHangLimit))
		})
		defer hang.Stop()

		in := make([]reflect.Value, len(p.kinds))
		bindErr := p.bindArgs(args, kwargs, in)
		if bindErr != nil {
			var ae *ArgumentError
			if !errors.As(bindErr, &ae) {
				t.Fatalf("%s: error is a %T, not an *ArgumentError: %v", p.fn.Type(), bindErr, bindErr)
			}
			if bindErr.Error() == "" {
				t.Fatalf("%s: empty error message", p.fn.Type())
			}
		} else {
			for _, j := range p.args {
				if !in[j.in].IsValid() {
					t.Fatalf("%s: parameter %d not set", p.fn.Type(), j.in)
				}
			}
		}

		res := p.invoke(context.Background(), nil, &wamp.Invocation{Request: 1, Details: wamp.Dict{}, Arguments: args, ArgumentsKw: kwargs})
		switch {
		case bindErr != nil:
			// Not necessarily the same message: with several bad keys in
			// a dict, which one is reported depends on map order.
			if msg, _ := firstString(res.Args); res.Err != wamp.ErrInvalidArgument || len(res.Args) != 1 || msg == "" {
				t.Fatalf("%s: bindArgs failed with %q, but the call ended with %s %v", p.fn.Type(), bindErr, res.Err, res.Args)
			}
		case res.Err == ErrRuntimeError && len(res.Args) == 1 && strings.Contains(fmt.Sprint(res.Args[0]), "WAMP values have no NaN or infinities"):
			// A NaN or an infinity decodes (msgpack and CBOR carry
			// them) but is not sent back: JSON cannot carry it.
		case res.Err != "":
			// Everything else that decodes must encode back: echo
			// functions return their arguments.
			t.Fatalf("%s: arguments decoded but the call ended with %s %v", p.fn.Type(), res.Err, res.Args)
		}
	})
}

// firstString returns l[0] when it is a string.
func firstString(l wamp.List) (string, bool) {
	if len(l) == 0 {
		return "", false
	}
	s, ok := l[0].(string)
	return s, ok
}

// TestHostileArgumentsOverWire sends hostile arguments through a real
// router over each transport: each call ends in a result or
// wamp.error.invalid_argument (wamp.error.runtime_error when a parameter
// type's UnmarshalText panics), and the callee keeps serving.
func TestHostileArgumentsOverWire(t *testing.T) {
	deepList := func(n int) any {
		var v any = int64(1)
		for range n {
			v = wamp.List{v}
		}
		return v
	}
	// deepTree(n) is n "next" levels below the top: a fuzzTree n levels
	// down is 2n containers deep (struct, pointer, struct...).
	deepTree := func(n int) any {
		v := wamp.Dict{"val": 1}
		for range n {
			v = wamp.Dict{"next": v}
		}
		return v
	}
	inv := wamp.ErrInvalidArgument
	cases := []struct {
		name    string
		fn      any
		args    wamp.List
		wantURI wamp.URI // "" for a result
	}{
		{"tree nested past MaxDepth", func(fuzzTree) {}, wamp.List{deepTree(MaxDepth / 2)}, inv},
		{"tree nested just within MaxDepth", func(fuzzTree) {}, wamp.List{deepTree(MaxDepth/2 - 1)}, ""},
		{"list nested 1000 deep into any", func(any) {}, wamp.List{deepList(1000)}, ""},
		{"list nested 1000 deep into fuzzList", func(fuzzList) {}, wamp.List{deepList(1000)}, inv},
		{"huge uint into int64", func(int64) {}, wamp.List{uint64(math.MaxUint64)}, inv},
		{"negative into uint", func(uint) {}, wamp.List{int64(-1)}, inv},
		{"fraction into int", func(int) {}, wamp.List{1.5}, inv},
		{"1e300 into float32", func(float32) {}, wamp.List{1e300}, inv},
		{"invalid UTF-8 string", func(string) {}, wamp.List{"\xff\xfeok"}, ""},
		{"NUL-prefixed non-base64 into []byte", func([]byte) {}, wamp.List{"\x00!!"}, inv},
		{"NUL-prefixed string into string", func(string) {}, wamp.List{"\x00AQID"}, inv},
		{"dict into int", func(int) {}, wamp.List{wamp.Dict{"a": 1}}, inv},
		{"bad time", func(time.Time) {}, wamp.List{"yesterday"}, inv},
		{"too many arguments", func(int) {}, wamp.List{1, 2, 3}, inv},
		// Found by FuzzDecode: this panicked in reflect and took the
		// callee's process down.
		{"field behind a nil embedded pointer to an unexported struct", func(fuzzStruct) {}, wamp.List{wamp.Dict{"E": "x"}}, inv},
		// A parameter type's UnmarshalText runs on what the caller sent:
		// its panic is recovered like the function's.
		{"UnmarshalText panics", func(fuzzPanicky) {}, wamp.List{"boom"}, ErrRuntimeError},
	}
	for _, via := range transports {
		t.Run(via.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, via)
			caller := tr.Connect(t, via)
			for i, tc := range cases {
				proc := fmt.Sprintf("wampfn.test.hostile.%d", i)
				require.NoError(t, Register(callee, proc, tc.fn), tc.name)
				_, err := caller.Call(t.Context(), proc, nil, tc.args, nil, nil)
				if tc.wantURI == "" {
					require.NoError(t, err, tc.name)
					continue
				}
				e := callErr(t, err)
				require.Equal(t, tc.wantURI, e.Error, "%s: %v", tc.name, e.Arguments)
				require.Len(t, e.Arguments, 1, tc.name)
				msg, _ := e.Arguments[0].(string)
				require.NotEmpty(t, msg, tc.name)
			}
			// The callee is still up.
			require.NoError(t, Register(callee, "wampfn.test.hostile.ok", func(n int) int { return n + 1 }))
			res, err := caller.Call(t.Context(), "wampfn.test.hostile.ok", nil, wamp.List{1}, nil, nil)
			require.NoError(t, err)
			v, _ := wamp.AsInt64(res.Arguments[0])
			require.Equal(t, int64(2), v)
		})
	}
}
