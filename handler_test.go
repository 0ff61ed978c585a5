package wampfn

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Every test here registers real functions on a real nexus router and
// calls them through it, on every transport.

type point struct {
	X     int    `json:"x"`
	Y     int    `json:"y"`
	Label string `json:"label,omitempty"`
	Note  string `json:"-"`
}

type shape struct {
	Name   string
	Points []point `json:"points"`
	Scale  *float64
}

// asInt returns v as an integer, failing if it arrived as anything else
// (a float in particular: integers must stay integers on the wire).
func asInt(t *testing.T, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		require.LessOrEqual(t, x, uint64(math.MaxInt64))
		return int64(x)
	}
	t.Fatalf("want an integer, got %T %v", v, v)
	return 0
}

// asBytes returns v as bytes, failing if it arrived as anything else. On
// JSON, bytes travel as the WAMP convention's "\x00"+base64 string, which
// nexus's JSON client hands over undecoded.
func asBytes(t *testing.T, v any) []byte {
	t.Helper()
	switch x := v.(type) {
	case []byte:
		return x
	case serialize.BinaryData:
		return x
	case string:
		require.True(t, strings.HasPrefix(x, "\x00"), "want bytes, got string %q", x)
		b, err := base64.StdEncoding.DecodeString(x[1:])
		require.NoError(t, err)
		return b
	}
	t.Fatalf("want bytes, got %T %v", v, v)
	return nil
}

func TestArguments(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	when := time.Date(2026, 11, 25, 19, 0, 0, 123000000, time.UTC)
	tests := []struct {
		name    string
		fn      any
		names   []string
		args    wamp.List
		kwargs  wamp.Dict
		check   func(t *testing.T, args wamp.List) // for successful calls
		wantErr string                             // regexp that Args[0] of the invalid_argument ERROR must match
	}{
		{name: "int", fn: func(n int) int { return n * 2 }, args: wamp.List{21},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 42, asInt(t, a[0])) }},
		{name: "integral float as int", fn: func(n int) int { return n }, args: wamp.List{3.0},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 3, asInt(t, a[0])) }},
		{name: "fraction as int", fn: func(n int) int { return n }, names: []string{"n"}, args: wamp.List{1.5},
			wantErr: `^argument 0 \(n\): cannot use float64 1\.5 as int$`},
		{name: "string as int", fn: func(n int) int { return n }, names: []string{"n"}, args: wamp.List{"three"},
			wantErr: `^argument 0 \(n\): cannot use string "three" as int$`},
		{name: "overflow int8", fn: func(a, b int8) int8 { return a }, args: wamp.List{1, 300},
			wantErr: `^argument 1: cannot use u?int(64)? 300 as int8: out of range$`},
		{name: "negative as uint", fn: func(u uint) uint { return u }, args: wamp.List{-1},
			wantErr: `^argument 0: cannot use int(64)? -1 as uint: out of range$`},
		{name: "max uint64", fn: func(u uint64) uint64 { return u }, args: wamp.List{uint64(math.MaxUint64)},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, uint64(math.MaxUint64), a[0]) }},
		{name: "uint64 above int64 as int64", fn: func(i int64) int64 { return i }, args: wamp.List{uint64(math.MaxUint64)},
			wantErr: `^argument 0: cannot use uint64 18446744073709551615 as int64: out of range$`},
		{name: "float32 overflow", fn: func(f float32) float32 { return f }, args: wamp.List{1e300},
			wantErr: `^argument 0: cannot use float64 1e\+300 as float32: out of range$`},
		{name: "bool from int", fn: func(b bool) bool { return b }, args: wamp.List{1},
			wantErr: `^argument 0: cannot use u?int(64)? 1 as bool$`},
		{name: "missing", fn: func(n int, label string) string { return label }, names: []string{"n", "label"}, args: wamp.List{1},
			wantErr: `^argument 1 \(label\): missing required string$`},
		{name: "too many", fn: func(n int) int { return n }, args: wamp.List{1, 2, 3},
			wantErr: `^too many arguments: got 3, want at most 1$`},
		{name: "optional trailing pointers", fn: func(n int, a, b *int) string {
			return fmt.Sprint(n, a == nil, b != nil && *b == 5)
		}, args: wamp.List{1},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "1 true false", a[0]) }},
		{name: "pointer given", fn: func(n int, a *int) int { return n + *a }, args: wamp.List{1, 2},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 3, asInt(t, a[0])) }},
		{name: "variadic", fn: func(sep string, xs ...int) string { return fmt.Sprint(sep, xs) }, args: wamp.List{"-", 1, 2, 3},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "-[1 2 3]", a[0]) }},
		{name: "variadic empty", fn: func(sep string, xs ...int) int { return len(xs) }, args: wamp.List{"-"},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 0, asInt(t, a[0])) }},
		{name: "variadic bad element", fn: func(sep string, xs ...int) int { return len(xs) }, args: wamp.List{"-", 1, "x"},
			wantErr: `^argument 2: cannot use string "x" as int$`},
		{name: "kwargs", fn: func(n int, label string) string { return fmt.Sprint(label, n) }, names: []string{"n", "label"},
			args: wamp.List{4}, kwargs: wamp.Dict{"label": "n="},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "n=4", a[0]) }},
		{name: "kwargs only", fn: func(n int, label string) string { return fmt.Sprint(label, n) }, names: []string{"n", "label"},
			kwargs: wamp.Dict{"n": 5, "label": "n="},
			check:  func(t *testing.T, a wamp.List) { require.Equal(t, "n=5", a[0]) }},
		{name: "kwarg bad value", fn: func(n int) int { return n }, names: []string{"n"}, kwargs: wamp.Dict{"n": "five"},
			wantErr: `^argument 0 \(n\): cannot use string "five" as int$`},
		{name: "kwarg and positional", fn: func(n int) int { return n }, names: []string{"n"}, args: wamp.List{1}, kwargs: wamp.Dict{"n": 2},
			wantErr: `^argument 0 \(n\): given both by position and by keyword$`},
		{name: "unknown kwarg", fn: func(n int) int { return n }, names: []string{"n"}, args: wamp.List{1}, kwargs: wamp.Dict{"m": 2},
			wantErr: `^unknown keyword argument "m"$`},
		{name: "kwargs without names", fn: func(n int) int { return n }, args: wamp.List{1}, kwargs: wamp.Dict{"b": 2, "a": 1},
			wantErr: `^unexpected keyword arguments a, b: the procedure takes positional arguments only$`},
		{name: "bytes", fn: func(b []byte) int { return len(b) }, args: wamp.List{serialize.BinaryData{1, 2, 3}},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 3, asInt(t, a[0])) }},
		{name: "bytes as JSON convention string", fn: func(b []byte) string { return fmt.Sprint(b) }, args: wamp.List{"\x00AQID"},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "[1 2 3]", a[0]) }},
		{name: "bytes from plain []byte", fn: func(b []byte) string { return fmt.Sprint(b) }, args: wamp.List{[]byte{4, 5}},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "[4 5]", a[0]) }},
		{name: "empty bytes stay empty, not nil", fn: func(b []byte) string { return fmt.Sprint(b == nil, len(b)) },
			args:  wamp.List{serialize.BinaryData{}},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "false 0", a[0]) }},
		{name: "empty plain []byte stays empty, not nil", fn: func(b []byte) string { return fmt.Sprint(b == nil, len(b)) },
			args:  wamp.List{[]byte{}},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "false 0", a[0]) }},
		{name: "empty JSON convention string", fn: func(b []byte) string { return fmt.Sprint(b == nil, len(b)) }, args: wamp.List{"\x00"},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "false 0", a[0]) }},
		{name: "bytes not base64", fn: func(b []byte) int { return len(b) }, args: wamp.List{"\x00!!"},
			wantErr: `^argument 0: cannot use bytes as \[\]uint8: not base64$`},
		{name: "bytes as string", fn: func(s string) string { return s }, args: wamp.List{serialize.BinaryData{1}},
			wantErr: `^argument 0: cannot use bytes as string$`},
		{name: "struct", fn: func(s shape) string {
			return fmt.Sprintf("%s %v %v", s.Name, s.Points, *s.Scale)
		}, args: wamp.List{wamp.Dict{"name": "tri", "points": wamp.List{wamp.Dict{"x": 1, "y": 2, "label": "a"}}, "Scale": 0.5, "extra": true}},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "tri [{1 2 a }] 0.5", a[0]) }},
		{name: "struct nested error", fn: func(s shape) int { return len(s.Points) }, names: []string{"s"},
			args:    wamp.List{wamp.Dict{"points": wamp.List{wamp.Dict{"x": 1}, wamp.Dict{"x": 1.5}}}},
			wantErr: `^argument 0 \(s\) at points\[1\]\.x: cannot use float64 1\.5 as int$`},
		{name: "exact key beats a case-folded one", fn: func(p point) int { return p.X }, args: wamp.List{wamp.Dict{"X": 2, "x": 1}},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 1, asInt(t, a[0])) }},
		{name: "case-folded key", fn: func(p point) int { return p.X }, args: wamp.List{wamp.Dict{"X": 2}},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 2, asInt(t, a[0])) }},
		{name: "two case-folded keys for one field", fn: func(p point) string { return p.Label }, args: wamp.List{wamp.Dict{"Label": "a", "LABEL": "b"}},
			wantErr: `^argument 0: keys "LABEL" and "Label" both name field label of wampfn\.point \(ignoring case\)$`},
		{name: "struct from list", fn: func(p point) int { return p.X }, args: wamp.List{wamp.List{1, 2}},
			wantErr: `^argument 0: cannot use list of 2 as wampfn\.point$`},
		{name: "map", fn: func(m map[string]int) int { return m["a"] + m["b"] }, args: wamp.List{wamp.Dict{"a": 1, "b": 2}},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 3, asInt(t, a[0])) }},
		{name: "map bad value", fn: func(m map[string]int) int { return len(m) }, args: wamp.List{wamp.Dict{"a": "x"}},
			wantErr: `^argument 0 at a: cannot use string "x" as int$`},
		{name: "float slice", fn: func(xs []float64) float64 { return xs[0] + xs[1] }, args: wamp.List{wamp.List{1.5, 2}},
			check: func(t *testing.T, a wamp.List) { require.InDelta(t, 3.5, a[0], 0) }},
		{name: "array wrong length", fn: func(a [2]int) int { return a[0] }, args: wamp.List{wamp.List{1, 2, 3}},
			wantErr: `^argument 0: cannot use list of 3 as \[2\]int: want 2 elements$`},
		{name: "time", fn: func(tm time.Time) string { return tm.UTC().Format(time.RFC3339Nano) }, args: wamp.List{when.Format(time.RFC3339Nano)},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, when.Format(time.RFC3339Nano), a[0]) }},
		{name: "time not RFC 3339", fn: func(tm time.Time) int { return tm.Year() }, args: wamp.List{"yesterday"},
			wantErr: `^argument 0: cannot use string "yesterday" as time\.Time: parsing time`},
		{name: "TextUnmarshaler", fn: func(a netip.Addr) bool { return a == ip }, args: wamp.List{ip.String()},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, true, a[0]) }},
		{name: "TextUnmarshaler bad", fn: func(a netip.Addr) bool { return true }, args: wamp.List{"300.1.1.1"},
			wantErr: `^argument 0: cannot use string "300\.1\.1\.1" as netip\.Addr: `},
		// A text type decodes from a string only: a number is not a way
		// around its own validation.
		{name: "TextUnmarshaler from a number", fn: func(a netip.Addr) bool { return true }, args: wamp.List{3221226247},
			wantErr: `^argument 0: cannot use u?int(64)? 3221226247 as netip\.Addr$`},
		{name: "text enum from its underlying int", fn: func(e fuzzEnum) int { return int(e) }, args: wamp.List{7},
			wantErr: `^argument 0: cannot use u?int(64)? 7 as wampfn\.fuzzEnum$`},
		{name: "text enum from text", fn: func(e fuzzEnum) int { return int(e) }, args: wamp.List{"high"},
			check: func(t *testing.T, a wamp.List) { require.EqualValues(t, 2, asInt(t, a[0])) }},
		// A float holds an integer exactly, or when the integer is the
		// float's shortest decimal, as JavaScript and encoding/json
		// write a float without a fraction.
		{name: "2^53 as float64", fn: func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }, args: wamp.List{int64(1 << 53)},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "9007199254740992", a[0]) }},
		{name: "2^53+1 as float64", fn: func(f float64) float64 { return f }, args: wamp.List{int64(1<<53 + 1)},
			wantErr: `^argument 0: cannot use u?int(64)? 9007199254740993 as float64: not exactly representable$`},
		{name: "max uint64 as float64", fn: func(f float64) float64 { return f }, args: wamp.List{uint64(math.MaxUint64)},
			wantErr: `^argument 0: cannot use uint64 18446744073709551615 as float64: not exactly representable$`},
		{name: "2^24+1 as float32", fn: func(f float32) float32 { return f }, args: wamp.List{1<<24 + 1},
			wantErr: `^argument 0: cannot use u?int(64)? 16777217 as float32: not exactly representable$`},
		{name: "a whole float as JavaScript writes it, as float64", fn: func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
			args:  wamp.List{uint64(1234567890123456800)},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "1.2345678901234568e+18", a[0]) }},
		{name: "a whole float32 as encoding/json writes it", fn: func(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) },
			args:  wamp.List{int64(-271063100)},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "-2.710631e+08", a[0]) }},
		{name: "max float32 as encoding/json writes it", fn: func(f float32) bool { return f == math.MaxFloat32 }, args: wamp.List{3.4028235e38},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, true, a[0]) }},
		{name: "a whole float in a float slice", fn: func(fs []float64) string { return strconv.FormatFloat(fs[1], 'g', -1, 64) },
			args:  wamp.List{wamp.List{1.5, uint64(1234567890123456800)}},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "1.2345678901234568e+18", a[0]) }},
		{name: "inexact in a float slice", fn: func(fs []float64) int { return len(fs) }, names: []string{"fs"}, args: wamp.List{wamp.List{1, int64(1<<53 + 1)}},
			wantErr: `^argument 0 \(fs\) at \[1\]: cannot use u?int(64)? 9007199254740993 as float64: not exactly representable$`},
		{name: "any", fn: func(v any) string { return fmt.Sprint(v) }, args: wamp.List{"x"},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, "x", a[0]) }},
		{name: "null into pointer", fn: func(p *int) bool { return p == nil }, args: wamp.List{nil},
			check: func(t *testing.T, a wamp.List) { require.Equal(t, true, a[0]) }},
	}
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					proc := fmt.Sprintf("test.args.%d", i)
					var opts []Option
					if tt.names != nil {
						opts = append(opts, WithParamNames(tt.names...))
					}
					require.NoError(t, Register(callee, proc, tt.fn, opts...))
					t.Cleanup(func() { callee.Unregister(proc) })
					res, err := caller.Call(t.Context(), proc, nil, tt.args, tt.kwargs, nil)
					if tt.wantErr != "" {
						werr := callErr(t, err)
						require.Equal(t, wamp.ErrInvalidArgument, werr.Error)
						require.Len(t, werr.Arguments, 1)
						require.Regexp(t, tt.wantErr, werr.Arguments[0])
						return
					}
					require.NoError(t, err)
					tt.check(t, res.Arguments)
				})
			}
		})
	}
}

func TestResults(t *testing.T) {
	scale := 2.5
	tests := []struct {
		name  string
		fn    any
		check func(t *testing.T, res *wamp.Result)
	}{
		{"nothing", func() {}, func(t *testing.T, r *wamp.Result) {
			require.Empty(t, r.Arguments)
			require.Empty(t, r.ArgumentsKw)
		}},
		{"only nil error", func() error { return nil }, func(t *testing.T, r *wamp.Result) { require.Empty(t, r.Arguments) }},
		{"int stays integer", func() (int, error) { return 3, nil }, func(t *testing.T, r *wamp.Result) {
			require.Len(t, r.Arguments, 1)
			require.EqualValues(t, 3, asInt(t, r.Arguments[0]))
		}},
		{"several results", func() (string, int, error) { return "a", -7, nil }, func(t *testing.T, r *wamp.Result) {
			require.Len(t, r.Arguments, 2)
			require.Equal(t, "a", r.Arguments[0])
			require.EqualValues(t, -7, asInt(t, r.Arguments[1]))
		}},
		{"struct as dict", func() shape {
			return shape{Name: "sq", Points: []point{{X: 1, Y: 2, Note: "hidden"}}, Scale: &scale}
		}, func(t *testing.T, r *wamp.Result) {
			d, ok := wamp.AsDict(r.Arguments[0])
			require.True(t, ok, "want a dict, got %T", r.Arguments[0])
			require.Equal(t, "sq", d["Name"])
			require.InDelta(t, 2.5, d["Scale"], 0)
			pts, ok := wamp.AsList(d["points"])
			require.True(t, ok)
			p0, ok := wamp.AsDict(pts[0])
			require.True(t, ok)
			require.EqualValues(t, 1, asInt(t, p0["x"]))
			require.EqualValues(t, 2, asInt(t, p0["y"]))
			require.NotContains(t, p0, "label", "omitempty")
			require.NotContains(t, p0, "Note", `json:"-"`)
		}},
		{"bytes", func() []byte { return []byte{0, 1, 254} }, func(t *testing.T, r *wamp.Result) {
			require.Equal(t, []byte{0, 1, 254}, asBytes(t, r.Arguments[0]))
		}},
		{"map", func() map[string][]int { return map[string][]int{"a": {1}} }, func(t *testing.T, r *wamp.Result) {
			d, ok := wamp.AsDict(r.Arguments[0])
			require.True(t, ok)
			l, ok := wamp.AsList(d["a"])
			require.True(t, ok)
			require.EqualValues(t, 1, asInt(t, l[0]))
		}},
		{"time as RFC 3339", func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }, func(t *testing.T, r *wamp.Result) {
			require.Equal(t, "2026-01-02T03:04:05Z", r.Arguments[0])
		}},
		{"nil pointer", func() *point { return nil }, func(t *testing.T, r *wamp.Result) {
			require.Equal(t, wamp.List{nil}, r.Arguments)
		}},
		{"Result sets args and kwargs", func() (Result, error) {
			return Result{Args: wamp.List{1, point{X: 1}}, Kwargs: wamp.Dict{"k": "v"}}, nil
		}, func(t *testing.T, r *wamp.Result) {
			require.Len(t, r.Arguments, 2)
			require.EqualValues(t, 1, asInt(t, r.Arguments[0]))
			p, ok := wamp.AsDict(r.Arguments[1])
			require.True(t, ok, "a struct inside Result.Args is sent as a dict, got %T", r.Arguments[1])
			require.EqualValues(t, 1, asInt(t, p["x"]))
			require.Equal(t, "v", r.ArgumentsKw["k"])
		}},
		{"any holding struct", func() any { return point{X: 4} }, func(t *testing.T, r *wamp.Result) {
			p, ok := wamp.AsDict(r.Arguments[0])
			require.True(t, ok, "got %T", r.Arguments[0])
			require.EqualValues(t, 4, asInt(t, p["x"]))
		}},
	}
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					proc := fmt.Sprintf("test.results.%d", i)
					require.NoError(t, Register(callee, proc, tt.fn))
					t.Cleanup(func() { callee.Unregister(proc) })
					res, err := caller.Call(t.Context(), proc, nil, nil, nil, nil)
					require.NoError(t, err)
					tt.check(t, res)
				})
			}
		})
	}
}

var errPlain = errors.New("disk on fire")

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		fn         any
		wantURI    wamp.URI
		wantArgs   wamp.List
		wantKwargs wamp.Dict
	}{
		{"wampfn.Error", func() error {
			return &Error{URI: "com.example.error.custom", Args: wamp.List{"bad", 2}, Kwargs: wamp.Dict{"field": "n"}}
		}, "com.example.error.custom", wamp.List{"bad", 2}, wamp.Dict{"field": "n"}},
		{"wrapped wampfn.Error", func() (int, error) {
			return 0, fmt.Errorf("lookup: %w", &Error{URI: "com.example.error.not_found"})
		}, "com.example.error.not_found", nil, nil},
		{"plain error", func() (int, error) { return 1, errPlain }, ErrRuntimeError, wamp.List{"disk on fire"}, nil},
		{"context.Canceled", func() error { return fmt.Errorf("step 2: %w", context.Canceled) },
			wamp.ErrCanceled, wamp.List{"step 2: context canceled"}, nil},
		{"context.DeadlineExceeded", func() error { return context.DeadlineExceeded },
			wamp.ErrTimeout, wamp.List{"context deadline exceeded"}, nil},
		{"ArgumentError", func() error { return &ArgumentError{Index: 0, Name: "n", Msg: "must be even"} },
			wamp.ErrInvalidArgument, wamp.List{"argument 0 (n): must be even"}, nil},
		{"panic", func() int { panic("boom") }, ErrRuntimeError, wamp.List{"test.errors.6 failed: the callee recovered from a panic and logged it"}, nil},
	}
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			var logged strings.Builder
			var logMu sync.Mutex
			callee := tr.Connect(t, wampfntest.InProcess, wampfntest.WithClientConfig(func(cfg *client.Config) {
				cfg.Logger = lockedLogger{&logMu, &logged}
			}))
			caller := tr.Connect(t, transport)
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					proc := fmt.Sprintf("test.errors.%d", i)
					require.NoError(t, Register(callee, proc, tt.fn))
					t.Cleanup(func() { callee.Unregister(proc) })
					_, err := caller.Call(t.Context(), proc, nil, nil, nil, nil)
					werr := callErr(t, err)
					require.Equal(t, tt.wantURI, werr.Error)
					require.Len(t, werr.Arguments, len(tt.wantArgs))
					for j, want := range tt.wantArgs {
						if n, ok := want.(int); ok {
							require.EqualValues(t, n, asInt(t, werr.Arguments[j]))
						} else {
							require.Equal(t, want, werr.Arguments[j])
						}
					}
					require.Equal(t, len(tt.wantKwargs), len(werr.ArgumentsKw))
					for k, v := range tt.wantKwargs {
						require.Equal(t, v, werr.ArgumentsKw[k])
					}
				})
			}
			// The panic was logged with its stack, and the callee still serves.
			logMu.Lock()
			log := logged.String()
			logMu.Unlock()
			require.Contains(t, log, "wampfn: panic in test.errors.6: boom")
			require.Contains(t, log, "goroutine ")
			require.NoError(t, Register(callee, "test.errors.after", func() int { return 1 }))
			_, err := caller.Call(t.Context(), "test.errors.after", nil, nil, nil, nil)
			require.NoError(t, err)
		})
	}
}

// lockedLogger collects log output from several goroutines.
type lockedLogger struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l lockedLogger) Print(v ...any)                 { l.write(fmt.Sprint(v...)) }
func (l lockedLogger) Println(v ...any)               { l.write(fmt.Sprintln(v...)) }
func (l lockedLogger) Printf(format string, v ...any) { l.write(fmt.Sprintf(format, v...)) }
func (l lockedLogger) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

// embedsSink and embedsSinkPointer have a ProgressSink's methods, but are
// not one.
type (
	embedsSink struct {
		ProgressSink[int]
		Extra int
	}
	embedsSinkPointer struct{ *ProgressSink[int] }
)

func TestRegisterRejects(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	c := tr.Connect(t, wampfntest.InProcess)
	tests := []struct {
		name string
		fn   any
		opts []Option
		want string // the error text after "wampfn: unsupported function signature: register test.bad: "
	}{
		{"nil", nil, nil, "fn is nil, want a func"},
		{"not a func", 42, nil, "fn is a int, want a func"},
		{"nil func", (func())(nil), nil, "fn is a nil func()"},
		{"chan", func(n int, c chan int) {}, nil, "parameter 1 (chan int) cannot take a WAMP argument: chan int cannot be decoded from a WAMP value"},
		{"func", func(f func()) {}, nil, "parameter 0 (func()) cannot take a WAMP argument: func() cannot be decoded from a WAMP value"},
		{"complex", func(c complex128) {}, nil, "parameter 0 (complex128) cannot take a WAMP argument: complex128 cannot be decoded from a WAMP value"},
		{"two sinks", func(a ProgressSink[int], b ProgressSink[string]) {}, nil, "parameter 1 (wampfn.ProgressSink[string]): a function takes at most one ProgressSink"},
		{"sink pointer", func(s *ProgressSink[int]) {}, nil, "parameter 0 (*wampfn.ProgressSink[int]): take the ProgressSink by value, not by pointer"},
		//lint:ignore ST1008 the signature Register must refuse
		{"error not last", func() (error, int) { return nil, 0 }, nil, "result 0 (error): error must be the last result"},
		{"map key", func(m map[int]string) {}, nil, "parameter 0 (map[int]string) cannot take a WAMP argument: map key type int is not a string; WAMP dict keys are strings"},
		{"interface with methods", func(s fmt.Stringer) {}, nil, "parameter 0 (fmt.Stringer) cannot take a WAMP argument: interface fmt.Stringer has methods; only an empty interface can hold a WAMP value"},
		{"struct field", func(s struct{ C chan int }) {}, nil, "parameter 0 (struct { C chan int }) cannot take a WAMP argument: field C of struct { C chan int }: chan int cannot be decoded from a WAMP value"},
		{"chan result", func() chan int { return nil }, nil, "result 0 (chan int) cannot be sent as a WAMP value: chan int cannot be sent as a WAMP value"},
		{"chan progress", func(s ProgressSink[chan int]) {}, nil, "parameter 0 (wampfn.ProgressSink[chan int]): progress values: chan int cannot be sent as a WAMP value"},
		{"names count", func(ctx context.Context, a, b int) {}, []Option{WithParamNames("a")}, "WithParamNames has 1 names (a) for 2 argument parameters"},
		{"names duplicate", func(a, b int) {}, []Option{WithParamNames("a", "a")}, `WithParamNames: name "a" given twice`},
		{"Result not alone", func() (Result, int) { return Result{}, 0 }, nil, "result 0 (wampfn.Result): a Result must be the only result besides the error"},
		{"concrete error result", func() (int, *codedError) { return 0, nil }, nil, "result 1 (*wampfn.codedError) is an error type: declare the function's last result as error, so that a non-nil error ends the call with an ERROR"},
		{"error interface result", func() (textError, error) { return nil, nil }, nil, "result 0 (wampfn.textError) is an error type: only the last result may be an error, declared as error"},
		{"Stringer result", func() fmt.Stringer { return nil }, nil, "result 0 (fmt.Stringer) cannot be sent as a WAMP value: interface fmt.Stringer has methods that wampfn cannot send a value by; use any, error, or a concrete type"},
		{"Stringer progress", func(ProgressSink[fmt.Stringer]) {}, nil, "parameter 0 (wampfn.ProgressSink[fmt.Stringer]): progress values: interface fmt.Stringer has methods that wampfn cannot send a value by"},
		{"Stringer field", func() struct{ S fmt.Stringer } { return struct{ S fmt.Stringer }{} }, nil, "result 0 (struct { S fmt.Stringer }) cannot be sent as a WAMP value: field S of struct { S fmt.Stringer }: interface fmt.Stringer has methods"},
		{"embeds sink", func(embedsSink) {}, nil, "parameter 0 (wampfn.embedsSink) embeds a ProgressSink: take the wampfn.ProgressSink itself as the parameter"},
		{"pointer to struct embedding sink", func(int, *embedsSink) {}, nil, "parameter 1 (*wampfn.embedsSink) embeds a ProgressSink: take the wampfn.ProgressSink itself as the parameter"},
		{"embeds sink pointer", func(embedsSinkPointer) {}, nil, "parameter 0 (wampfn.embedsSinkPointer) embeds a ProgressSink: take the wampfn.ProgressSink itself as the parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Register(c, "test.bad", tt.fn, tt.opts...)
			require.ErrorIs(t, err, ErrSignature)
			require.True(t, strings.HasPrefix(err.Error(), "wampfn: unsupported function signature: register test.bad: "+tt.want), "got %q", err)
			_, ok := c.RegistrationID("test.bad")
			require.False(t, ok, "nothing is registered")
		})
	}
	t.Run("Handler", func(t *testing.T) {
		_, err := Handler(c, func(c chan int) {})
		require.ErrorIs(t, err, ErrSignature)
		require.Contains(t, err.Error(), "handler: parameter 0 (chan int)")
	})
}

func TestRecursiveType(t *testing.T) {
	type node struct {
		V    int
		Next *node
	}
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	caller := tr.Connect(t, wampfntest.JSON)
	require.NoError(t, Register(callee, "test.list", func(n *node) (int, *node) {
		sum := 0
		for ; n != nil; n = n.Next {
			sum += n.V
		}
		return sum, &node{V: 1, Next: &node{V: 2}}
	}))
	res, err := caller.Call(t.Context(), "test.list", nil, wamp.List{wamp.Dict{"V": 1, "Next": wamp.Dict{"V": 2}}}, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 3, asInt(t, res.Arguments[0]))
	next, _ := wamp.AsDict(res.Arguments[1])
	require.NotNil(t, next["Next"])

	// Input nested deeper than MaxDepth is refused, not followed.
	var deep any = wamp.Dict{"V": 1}
	for range MaxDepth + 5 {
		deep = wamp.Dict{"V": 1, "Next": deep}
	}
	_, err = caller.Call(t.Context(), "test.list", nil, wamp.List{deep}, nil, nil)
	werr := callErr(t, err)
	require.Equal(t, wamp.ErrInvalidArgument, werr.Error)
	require.Contains(t, werr.Arguments[0], fmt.Sprintf("nested deeper than %d levels", MaxDepth))
}

func TestDetails(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	caller := tr.Connect(t, wampfntest.MsgPack)
	got := make(chan Details, 1)
	fn := func(d Details, ctx context.Context) bool {
		got <- d
		_, hasDeadline := ctx.Deadline()
		return hasDeadline
	}
	require.NoError(t, Register(callee, "test.details", fn, WithRegisterOptions(wamp.Dict{
		wamp.OptDiscloseCaller: true, "forward_timeout": true,
	})))
	res, err := caller.Call(t.Context(), "test.details", wamp.Dict{wamp.OptTimeout: 5000}, nil, nil, nil)
	require.NoError(t, err)
	d := <-got
	require.Equal(t, "test.details", d.Procedure)
	require.Equal(t, caller.ID(), d.Caller)
	require.Equal(t, "anonymous", d.CallerAuthRole)
	require.Equal(t, 5*time.Second, d.Timeout)
	require.Equal(t, true, res.Arguments[0], "the context carries the forwarded timeout as its deadline")

	// A prefix registration sees the URI that was called.
	require.NoError(t, Register(callee, "test.prefix", fn, WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchPrefix})))
	_, err = caller.Call(t.Context(), "test.prefix.sub", nil, nil, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "test.prefix.sub", (<-got).Procedure)
}

// Details.Timeout reads the forwarded timeout as any transport delivers it,
// without wrapping or truncating.
func TestTimeoutDetail(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want time.Duration
	}{
		{int64(5000), 5 * time.Second},
		{uint64(5000), 5 * time.Second},
		{5000.0, 5 * time.Second},
		{int(1), time.Millisecond},
		{nil, 0},
		{"5000", 0},
		{int64(0), 0},
		{int64(-5), 0},
		{1.5, 0},                              // wamp.AsInt64: 1ms
		{uint64(1<<63 + 1000), math.MaxInt64}, // wamp.AsInt64: negative
		{1e19, math.MaxInt64},                 // wamp.AsInt64: math.MinInt64
		{int64(1e13), math.MaxInt64},          // 1e13 ms overflows time.Duration
		{math.Inf(1), math.MaxInt64},
		{math.NaN(), 0},
	} {
		require.Equal(t, tc.want, timeoutDetail(tc.in), "%T %v", tc.in, tc.in)
	}
}

// Register refuses, before asking the router, a URI that no router
// accepts; what only a strict router refuses is the router's to refuse.
func TestRegisterURI(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	c := tr.Connect(t, wampfntest.InProcess)
	fn := func() int { return 1 }
	for uri, want := range map[string]string{
		"":            "wampfn: register: invalid procedure URI: empty",
		"test..x":     "wampfn: register test..x: invalid procedure URI: component 1 is empty",
		"test.x.":     `component 2 is empty (register with match "prefix" for a URI that ends with ".")`,
		"test.a b":    `component 1 ("a b") contains ' '`,
		"wamp.custom": `wampfn: register wamp.custom: invalid procedure URI: the prefix "wamp." is reserved for the router`,
	} {
		err := Register(c, uri, fn)
		require.ErrorContains(t, err, want, "%q", uri)
		_, ok := c.RegistrationID(uri)
		require.False(t, ok)
	}
	require.NoError(t, Register(c, "test.camelCase", fn))
	require.NoError(t, Register(c, "test.prefix.", fn, WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchPrefix})))
	require.NoError(t, Register(c, "test..wild", fn, WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchWildcard})))
}
