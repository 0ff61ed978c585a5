package wampfn

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Interface-typed values (any, error, an interface a value is served
// through) are encoded by their dynamic type, exactly as the same value is
// when a function returns it with its own type.

type (
	// label is a named string: it goes out as a plain string.
	label string
	// ranked is sent through its MarshalText.
	ranked int
	// codedError is an error with fields: it goes out as its message.
	codedError struct{ Code int }
	// textError is an interface that wampfn serves through Error.
	textError interface {
		error
		Temporary() bool
	}
	tempError string
	// panicText panics in MarshalText, as a buggy one might.
	panicText struct{}
)

func (r ranked) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("rank-%d", int(r))), nil }
func (e *codedError) Error() string           { return fmt.Sprintf("code %d", e.Code) }
func (e tempError) Error() string             { return string(e) }
func (tempError) Temporary() bool             { return true }
func (panicText) MarshalText() ([]byte, error) {
	panic("MarshalText exploded")
}

// interfaceValues are values that functions send through interface types,
// with the type each has when returned directly.
var interfaceValues = []struct {
	name string
	v    any
	// want, when set, is what v is sent as: an error cannot be returned
	// with its concrete type (Register refuses that), so it is compared
	// with its message.
	want any
}{
	{name: "int", v: 5},
	{name: "negative int64", v: int64(-7)},
	{name: "uint64 above int64", v: uint64(math.MaxUint64)},
	{name: "float", v: 2.5},
	{name: "string", v: "s"},
	{name: "named string", v: label("lbl")},
	{name: "bool", v: true},
	{name: "struct", v: point{X: 1, Y: 2, Label: "a"}},
	{name: "pointer to struct", v: &point{X: 3}},
	{name: "nil pointer", v: (*point)(nil)},
	{name: "slice of structs", v: []point{{X: 1}, {X: 2}}},
	{name: "map", v: map[string][]int{"a": {1, 2}}},
	{name: "bytes", v: []byte{0, 1, 254}},
	{name: "time", v: time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)},
	{name: "TextMarshaler", v: ranked(2)},
	{name: "error value", v: errors.New("disk full"), want: "disk full"},
	{name: "error with fields", v: &codedError{Code: 7}, want: "code 7"},
	{name: "nested any", v: []any{point{X: 9}, map[string]any{"p": &point{Y: 4}}, nil}},
}

// directFunc returns a func() T that returns v, T being v's own type.
func directFunc(v any) any {
	t := reflect.TypeOf(v)
	ft := reflect.FuncOf(nil, []reflect.Type{t}, false)
	return reflect.MakeFunc(ft, func([]reflect.Value) []reflect.Value {
		return []reflect.Value{reflect.ValueOf(v)}
	}).Interface()
}

func TestInterfaceValues(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			call := func(t *testing.T, proc string, args ...any) (*wamp.Result, []*wamp.Result) {
				t.Helper()
				var mu sync.Mutex
				var progress []*wamp.Result
				res, err := caller.Call(t.Context(), proc, nil, args, nil, func(r *wamp.Result) {
					mu.Lock()
					defer mu.Unlock()
					progress = append(progress, r)
				})
				require.NoError(t, err)
				mu.Lock()
				defer mu.Unlock()
				return res, progress
			}

			sendAny := make(chan any, 1)
			require.NoError(t, Register(callee, "test.iface.sink", func(sink ProgressSink[any]) error {
				return sink.Send(<-sendAny)
			}))
			resultAny := make(chan any, 1)
			require.NoError(t, Register(callee, "test.iface.result", func() (any, error) { return <-resultAny, nil }))
			resultArgs := make(chan any, 2)
			require.NoError(t, Register(callee, "test.iface.args", func() Result {
				return Result{Args: wamp.List{<-resultArgs}, Kwargs: wamp.Dict{"k": <-resultArgs}}
			}))

			for i, tc := range interfaceValues {
				t.Run(tc.name, func(t *testing.T) {
					want := &wamp.Result{Arguments: wamp.List{tc.want}}
					if tc.want == nil {
						direct := fmt.Sprintf("test.iface.direct.%d", i)
						require.NoError(t, Register(callee, direct, directFunc(tc.v)))
						t.Cleanup(func() { callee.Unregister(direct) })
						want, _ = call(t, direct)
						require.Len(t, want.Arguments, 1)
					}

					sendAny <- tc.v
					res, progress := call(t, "test.iface.sink")
					require.Empty(t, res.Arguments)
					require.Len(t, progress, 1, "one progressive result")
					require.Equal(t, want.Arguments, progress[0].Arguments, "ProgressSink[any].Send(v) sends what returning v does")

					resultAny <- tc.v
					res, _ = call(t, "test.iface.result")
					require.Equal(t, want.Arguments, res.Arguments, "a result of type any holding v is sent as v is")

					resultArgs <- tc.v
					resultArgs <- tc.v
					res, _ = call(t, "test.iface.args")
					require.Equal(t, want.Arguments, res.Arguments, "Result.Args holding v")
					require.Equal(t, want.Arguments[0], res.ArgumentsKw["k"], "Result.Kwargs holding v")
				})
			}

			// nil is null, in every interface position.
			sendAny <- nil
			_, progress := call(t, "test.iface.sink")
			require.Len(t, progress, 1)
			require.Equal(t, wamp.List{nil}, progress[0].Arguments, "Send(nil) sends [null]")
			resultAny <- nil
			res, _ := call(t, "test.iface.result")
			require.Equal(t, wamp.List{nil}, res.Arguments)
			resultArgs <- nil
			resultArgs <- nil
			res, _ = call(t, "test.iface.args")
			require.Equal(t, wamp.List{nil}, res.Arguments)

			// An error value is sent as its message, whatever its type;
			// so is one behind an interface with methods of its own.
			require.NoError(t, Register(callee, "test.iface.errors", func(sink ProgressSink[error]) error {
				return errors.Join(
					sink.Send(errors.New("disk full")),
					sink.Send(&codedError{Code: 7}),
					sink.Send(fmt.Errorf("wrapped: %w", &Error{URI: "com.example.oops"})),
					sink.Send(nil),
				)
			}))
			_, progress = call(t, "test.iface.errors")
			require.Equal(t, []wamp.List{{"disk full"}, {"code 7"}, {"wrapped: com.example.oops"}, {nil}}, argsOf(progress))

			require.NoError(t, Register(callee, "test.iface.temp", func(sink ProgressSink[textError]) error {
				return sink.Send(tempError("try again"))
			}))
			_, progress = call(t, "test.iface.temp")
			require.Equal(t, []wamp.List{{"try again"}}, argsOf(progress))

			ip := netip.MustParseAddr("192.0.2.7")
			require.NoError(t, Register(callee, "test.iface.text", func(sink ProgressSink[encoding.TextMarshaler]) error {
				return errors.Join(sink.Send(ip), sink.Send(ranked(1)))
			}))
			_, progress = call(t, "test.iface.text")
			require.Equal(t, []wamp.List{{"192.0.2.7"}, {"rank-1"}}, argsOf(progress))
		})
	}
}

func argsOf(rs []*wamp.Result) []wamp.List {
	out := make([]wamp.List, len(rs))
	for i, r := range rs {
		out[i] = r.Arguments
	}
	return out
}

// A panic while converting a value sent from a goroutine the function
// started is recovered: Send returns an error, the process lives on, and
// the call is answered.
func TestSendPanicInGoroutine(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			var logMu sync.Mutex
			var logged strings.Builder
			callee := tr.Connect(t, wampfntest.InProcess, wampfntest.WithClientConfig(func(cfg *client.Config) {
				cfg.Logger = lockedLogger{&logMu, &logged}
			}))
			caller := tr.Connect(t, transport)
			sendErr := make(chan error, 1)
			require.NoError(t, Register(callee, "test.panicky", func(sink ProgressSink[any]) string {
				done := make(chan struct{})
				go func() {
					defer close(done)
					sendErr <- sink.Send(panicText{})
				}()
				<-done
				return "still here"
			}))
			res, err := caller.Call(t.Context(), "test.panicky", nil, nil, nil, func(*wamp.Result) {})
			require.NoError(t, err)
			require.Equal(t, wamp.List{"still here"}, res.Arguments)
			err = <-sendErr
			require.Error(t, err)
			require.Contains(t, err.Error(), "converting a wampfn.panicText panicked")
			require.NotContains(t, err.Error(), "exploded", "the panic value goes to the log only")
			logMu.Lock()
			defer logMu.Unlock()
			require.Contains(t, logged.String(), "MarshalText exploded")
		})
	}
}

// NaN and infinities cannot travel as JSON: a result or progress value
// holding one is an error for that call, on every transport alike, naming
// where it is.
func TestNonFiniteFloats(t *testing.T) {
	type priced struct {
		Price float64 `json:"price"`
	}
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name    string
		fn      any
		wantMsg string // Args[0] of the runtime_error
	}{
		{"float64 NaN", func() float64 { return nan }, "result 0: cannot send float64 NaN: WAMP values have no NaN or infinities (JSON cannot carry them)"},
		{"second result", func() (int, float32, error) { return 1, float32(math.Inf(-1)), nil }, "result 1: cannot send float32 -Inf"},
		{"in a slice", func() []float64 { return []float64{1, inf} }, "result 0 at [1]: cannot send float64 +Inf"},
		{"in a struct in a map", func() map[string]priced { return map[string]priced{"x": {Price: nan}} }, "result 0 at x.price: cannot send float64 NaN"},
		{"behind any", func() any { return []any{1.5, wamp.Dict{"p": inf}} }, "result 0 at [1].p: cannot send float64 +Inf"},
		{"in Result.Kwargs", func() Result { return Result{Kwargs: wamp.Dict{"v": nan}} }, "result at v: cannot send float64 NaN"},
	}
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					proc := fmt.Sprintf("test.nonfinite.%d", i)
					require.NoError(t, Register(callee, proc, tt.fn))
					t.Cleanup(func() { callee.Unregister(proc) })
					_, err := caller.Call(t.Context(), proc, nil, nil, nil, nil)
					werr := callErr(t, err)
					require.Equal(t, ErrRuntimeError, werr.Error)
					require.Len(t, werr.Arguments, 1)
					require.Contains(t, werr.Arguments[0], tt.wantMsg)
				})
			}

			// Progress: Send refuses the value and sends nothing; the
			// function decides what the call becomes.
			sendErrs := make(chan []error, 2)
			require.NoError(t, Register(callee, "test.nonfinite.float", func(sink ProgressSink[float64]) {
				sendErrs <- []error{sink.Send(nan), sink.Send(1.5), sink.Send(math.Inf(-1))}
			}))
			require.NoError(t, Register(callee, "test.nonfinite.any", func(sink ProgressSink[any]) {
				sendErrs <- []error{sink.Send(wamp.List{nan}), sink.Send(1.5), sink.Send(priced{Price: inf})}
			}))
			for _, proc := range []string{"test.nonfinite.float", "test.nonfinite.any"} {
				var mu sync.Mutex
				var got []wamp.List
				_, err := caller.Call(t.Context(), proc, nil, nil, nil, func(r *wamp.Result) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, r.Arguments)
				})
				require.NoError(t, err)
				errs := <-sendErrs
				require.ErrorContains(t, errs[0], "wampfn: progress value")
				require.ErrorContains(t, errs[0], "NaN: WAMP values have no NaN or infinities")
				require.NoError(t, errs[1])
				require.ErrorContains(t, errs[2], "Inf")
				mu.Lock()
				require.Len(t, got, 1, "%s: only the finite value was sent", proc)
				require.InDelta(t, 1.5, got[0][0], 0)
				mu.Unlock()
			}
		})
	}
}
