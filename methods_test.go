package wampfn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"LongOp": "long_op", "Longop": "longop", "GetHTTPStatus": "get_http_status", "Sum2": "sum2",
		"HTTPServer": "http_server", "A": "a", "ID": "id", "UserID": "user_id", "V2API": "v2_api",
		"Get2FA": "get2_fa", "already_snake": "already_snake", "ÄpfelZählen": "äpfel_zählen",
	} {
		require.Equal(t, want, snakeCase(in), in)
	}
}

// rtRecord has the kinds of value that a round trip must bring back
// unchanged.
type rtRecord struct {
	Name   string            `json:"name"`
	When   time.Time         `json:"when"`
	Data   []byte            `json:"data"`
	Tags   map[string]int    `json:"tags"`
	Scores []float64         `json:"scores"`
	Big    uint64            `json:"big"`
	Next   *rtRecord         `json:"next,omitempty"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// calc is served with RegisterMethods and called through BindAll.
type calc struct {
	canceled chan error // Wait reports its context's error here
}

func (c *calc) Add(a, b int) int                   { return a + b }
func (c *calc) Echo(r rtRecord) (rtRecord, error)  { return r, nil }
func (c *calc) Reverse(xs ...string) []string      { slicesReverse(xs); return xs }
func (c *calc) Bytes(b []byte) []byte              { return append(b, 0xff) }
func (c *calc) Lookup(m map[string]int) (int, int) { return len(m), m["k"] }
func (c *calc) GetHTTPStatus() int                 { return 418 }
func (c *calc) Renamed() string                    { return "renamed" }
func (c *calc) Skip(chan int)                      {}
func (c *calc) Count(ctx context.Context, n int, sink ProgressSink[int]) (int, error) {
	for i := range n {
		if err := sink.Send(i); err != nil {
			return 0, err
		}
	}
	return n, nil
}
func (c *calc) Fail(uri string) error {
	return &Error{URI: wamp.URI(uri), Args: wamp.List{"bad", 2}, Kwargs: wamp.Dict{"field": "n"}}
}
func (c *calc) Wait(ctx context.Context) error {
	<-ctx.Done()
	c.canceled <- ctx.Err()
	return ctx.Err()
}

//lint:ignore U1000 an unexported method: RegisterMethods must not register it
func (c *calc) internal() {}

func (c *calc) MethodOptions() map[string][]Option {
	return map[string][]Option{
		"Add":     {WithParamNames("a", "b")},
		"Skip":    {Exclude()},
		"Renamed": {WithName("other_name")},
	}
}

func slicesReverse(xs []string) {
	for i, j := 0, len(xs)-1; i < j; i, j = i+1, j-1 {
		xs[i], xs[j] = xs[j], xs[i]
	}
}

// calcAPI is calc as a Go caller sees it.
type calcAPI struct {
	Add           func(ctx context.Context, a, b int) (int, error)
	Echo          func(ctx context.Context, r rtRecord) (rtRecord, error)
	Reverse       func(ctx context.Context, xs ...string) ([]string, error)
	Bytes         func(b []byte) ([]byte, error)
	Lookup        func(m map[string]int) (int, int, error)
	GetHTTPStatus func() (int, error)
	Renamed       func() (string, error) `wamp:"other_name"`
	Count         func(ctx context.Context, n int, progress func(int)) (int, error)
	Fail          func(ctx context.Context, uri string) error
	Wait          func(ctx context.Context) error
	Note          string `wamp:"-"`
	//lint:ignore U1000 an unexported field: BindAll must ignore it
	local func()
}

// The round trip: a type's methods served with RegisterMethods, called
// through BindAll, on every transport.
func TestMethodsRoundTrip(t *testing.T) {
	rec := rtRecord{
		Name: "r", When: time.Date(2026, 11, 26, 1, 2, 3, 456789000, time.UTC),
		Data: []byte{0, 1, 254, 255}, Tags: map[string]int{"a": 1, "b": -2},
		Scores: []float64{1.5, -2, 1e300}, Big: math.MaxUint64,
		Next: &rtRecord{Name: "inner", When: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Tags: map[string]int{}},
		Meta: map[string]string{"k": "v"},
	}
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
			svc := &calc{canceled: make(chan error, 1)}
			require.NoError(t, RegisterMethods(callee, "test.calc.", svc))
			var api calcAPI
			api.Note = "kept"
			require.NoError(t, BindAll(caller, "test.calc.", &api))
			require.Equal(t, "kept", api.Note)
			ctx := t.Context()

			sum, err := api.Add(ctx, 2, 3)
			require.NoError(t, err)
			require.Equal(t, 5, sum)

			got, err := api.Echo(ctx, rec)
			require.NoError(t, err)
			require.Equal(t, rec, got, "struct, time, bytes, map, slice, uint64 above 2^63, pointer")

			xs, err := api.Reverse(ctx, "a", "b", "c")
			require.NoError(t, err)
			require.Equal(t, []string{"c", "b", "a"}, xs)

			b, err := api.Bytes([]byte{1, 2})
			require.NoError(t, err)
			require.Equal(t, []byte{1, 2, 0xff}, b)

			n, k, err := api.Lookup(map[string]int{"k": 7, "x": 1})
			require.NoError(t, err)
			require.Equal(t, [2]int{2, 7}, [2]int{n, k})

			status, err := api.GetHTTPStatus()
			require.NoError(t, err)
			require.Equal(t, 418, status)

			s, err := api.Renamed()
			require.NoError(t, err)
			require.Equal(t, "renamed", s)

			var rawAdd func(ctx context.Context, a, b int) (Result, error)
			require.NoError(t, Bind(caller, "test.calc.add", &rawAdd))
			raw, err := rawAdd(ctx, 1, 1)
			require.NoError(t, err)
			require.Len(t, raw.Args, 1)
			require.EqualValues(t, 2, asInt(t, raw.Args[0]))

			var progress []int
			n, err = api.Count(ctx, 4, func(i int) { progress = append(progress, i) })
			require.NoError(t, err)
			require.Equal(t, 4, n)
			require.Equal(t, []int{0, 1, 2, 3}, progress)
			n, err = api.Count(ctx, 2, nil) // a nil progress func: asked, ignored
			require.NoError(t, err)
			require.Equal(t, 2, n)

			err = api.Fail(ctx, "com.example.error.custom")
			var werr *Error
			require.ErrorAs(t, err, &werr)
			require.Equal(t, wamp.URI("com.example.error.custom"), werr.URI)
			require.Len(t, werr.Args, 2)
			require.Equal(t, "bad", werr.Args[0])
			require.EqualValues(t, 2, asInt(t, werr.Args[1]))
			require.Equal(t, wamp.Dict{"field": "n"}, werr.Kwargs)
			require.EqualError(t, err, "wampfn: call test.calc.fail: com.example.error.custom: bad")

			// Cancellation reaches the callee's context.
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- api.Wait(wctx) }()
			time.Sleep(20 * time.Millisecond) // let the call reach the callee; the outcome is the same if it has not
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			select {
			case err := <-svc.canceled:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("the callee's context was not cancelled")
			}

			// A deadline sets the CALL timeout: whichever fires first, the
			// error wraps context.DeadlineExceeded.
			dctx, dcancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer dcancel()
			err = api.Wait(dctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			select {
			case <-svc.canceled:
			case <-time.After(10 * time.Second):
				t.Fatal("the callee's context was not cancelled after the deadline")
			}
		})
	}
}

// What a bound func does with results, progress and arguments it cannot
// take: an error naming them.
func TestBindStrict(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			stopped := make(chan error, 1)
			require.NoError(t, Register(callee, "test.strict.value", func(v any) any { return v }))
			require.NoError(t, Register(callee, "test.strict.stream", func(ctx context.Context, sink ProgressSink[any]) error {
				for _, v := range []any{1, "two", 3} {
					if err := sink.Send(v); err != nil {
						stopped <- err
						return err
					}
					time.Sleep(5 * time.Millisecond)
				}
				stopped <- nil
				return nil
			}))
			require.NoError(t, Register(callee, "test.strict.two", func() (int, int) { return 1, 2 }))
			require.NoError(t, Register(callee, "test.strict.points", func(ctx context.Context, sink ProgressSink[any]) error {
				err := errors.Join(sink.Send(point{X: 1, Y: 2}), sink.Send(wamp.Dict{"x": 3, "label": "l"}), sink.Send(wamp.Dict{"x": "bad"}))
				// Still running when the caller cancels: a CANCEL for a
				// call that has just completed makes nexus's Client.Call
				// wait for its ResponseTimeout (see docs/nexus.md).
				<-ctx.Done()
				return err
			}))

			var asInt8 func(ctx context.Context, v any) (int8, error)
			require.NoError(t, Bind(caller, "test.strict.value", &asInt8))
			n, err := asInt8(t.Context(), 100)
			require.NoError(t, err)
			require.Equal(t, int8(100), n)
			_, err = asInt8(t.Context(), 300)
			require.ErrorContains(t, err, "wampfn: call test.strict.value: result 0: cannot use ")
			require.Regexp(t, `result 0: cannot use u?int(64)? 300 as int8: out of range$`, err.Error())
			_, err = asInt8(t.Context(), 1.5)
			require.EqualError(t, err, "wampfn: call test.strict.value: result 0: cannot use float64 1.5 as int8")
			n, err = asInt8(t.Context(), 3.0)
			require.NoError(t, err, "an integral float fits an int")
			require.Equal(t, int8(3), n)
			_, err = asInt8(t.Context(), math.NaN())
			require.EqualError(t, err, "wampfn: call test.strict.value: argument 0: cannot send float64 NaN: WAMP values have no NaN or infinities (JSON cannot carry them)")

			var asPoint func(v any) (point, error)
			require.NoError(t, Bind(caller, "test.strict.value", &asPoint))
			_, err = asPoint(wamp.Dict{"x": 1, "y": "two"})
			require.Regexp(t, `^wampfn: call test.strict.value: result 0 at y: cannot use string "two" as int$`, err.Error())

			var one func() (int, error)
			require.NoError(t, Bind(caller, "test.strict.two", &one))
			_, err = one()
			require.EqualError(t, err, "wampfn: call test.strict.two: want 1 results, got 2")

			// A P other than the common ones goes through reflection.
			var points func(progress func(point)) error
			require.NoError(t, Bind(caller, "test.strict.points", &points))
			var gotPoints []point
			err = points(func(p point) { gotPoints = append(gotPoints, p) })
			require.EqualError(t, err, `wampfn: call test.strict.points: progressive result at x: cannot use string "bad" as int`)
			require.Equal(t, []point{{X: 1, Y: 2}, {X: 3, Label: "l"}}, gotPoints)

			// A progressive result that does not decode fails the call and
			// cancels it.
			var stream func(ctx context.Context, progress func(int)) error
			require.NoError(t, Bind(caller, "test.strict.stream", &stream))
			var got []int
			err = stream(t.Context(), func(i int) { got = append(got, i) })
			require.EqualError(t, err, `wampfn: call test.strict.stream: progressive result: cannot use string "two" as int`)
			require.Equal(t, []int{1}, got)
			select {
			case err := <-stopped:
				require.ErrorIs(t, err, context.Canceled, "the callee's stream was cancelled")
			case <-time.After(10 * time.Second):
				t.Fatal("the callee's stream did not end")
			}
		})
	}
}

func TestBindRejects(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	c := tr.Connect(t, wampfntest.InProcess)
	tests := []struct {
		name string
		ptr  any
		want string // after "wampfn: unsupported function signature: bind test.bad: "
	}{
		{"nil", nil, "want a non-nil pointer to a func, got <nil>"},
		{"not a pointer", func() error { return nil }, "want a non-nil pointer to a func, got func() error"},
		{"pointer to non-func", new(int), "want a non-nil pointer to a func, got *int"},
		{"nil pointer", (*func() error)(nil), "want a non-nil pointer to a func, got *func() error"},
		{"no error", new(func() int), "func() int: the last result must be error, which reports a failed call"},
		{"no results", new(func()), "func(): the last result must be error"},
		{"error not last", new(func() (error, error)), "result 0 (error): error must be the last result"},
		{"context not first", new(func(int, context.Context) error), "parameter 1 (context.Context): the context must be the first parameter"},
		{"two progress funcs", new(func(func(int), func(string)) error), "parameter 1 (func(string)): a bound func takes at most one progress func"},
		{"bad func parameter", new(func(func() int) error), "parameter 0 (func() int): a func parameter must be a func(P), which receives each progressive result"},
		{"chan argument", new(func(chan int) error), "parameter 0 (chan int) cannot be sent as a WAMP value: chan int cannot be sent as a WAMP value"},
		{"chan result", new(func() (chan int, error)), "result 0 (chan int) cannot be decoded from a WAMP value: chan int cannot be decoded from a WAMP value"},
		{"Stringer progress", new(func(func(fmt.Stringer)) error), "parameter 0 (func(fmt.Stringer)): progressive results cannot be decoded as fmt.Stringer"},
		{"Result not alone", new(func() (Result, int, error)), "result 0 (wampfn.Result): a Result must be the only result besides the error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Bind(c, "test.bad", tt.ptr)
			require.ErrorIs(t, err, ErrSignature)
			require.ErrorContains(t, err, "wampfn: unsupported function signature: bind test.bad: "+tt.want)
		})
	}

	t.Run("BindAll", func(t *testing.T) {
		var notStruct int
		require.ErrorContains(t, BindAll(c, "p.", &notStruct), "want a non-nil pointer to a struct, got *int")
		var withInt struct {
			F func() error
			N int
		}
		require.EqualError(t, BindAll(c, "p.", &withInt),
			"wampfn: unsupported function signature: bind all p.: field N of struct { F func() error; N int } is a int, not a func: tag it `wamp:\"-\"` or unexport it")
		require.Nil(t, withInt.F, "nothing is bound when one field fails")
		var dup struct {
			GetX func() error
			Get  func() error `wamp:"get_x"`
		}
		require.ErrorContains(t, BindAll(c, "p.", &dup), "fields GetX and Get of struct")
		require.ErrorContains(t, BindAll(c, "p.", &dup), "both map to p.get_x")
		var bad struct {
			Ok  func() error
			Bad func() int
		}
		err := BindAll(c, "p.", &bad)
		require.ErrorContains(t, err, "bind p.bad (field Bad of struct")
		require.Nil(t, bad.Ok)
	})
}

func TestRegisterMethodsRejects(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	c := tr.Connect(t, wampfntest.InProcess)
	other := tr.Connect(t, wampfntest.InProcess)

	require.EqualError(t, RegisterMethods(c, "p.", nil), "wampfn: register methods: recv is nil")
	err := RegisterMethods(c, "p.", struct{}{})
	require.EqualError(t, err, "wampfn: register methods of struct {}: no exported method to register")

	// A method that cannot be served names the method; nothing is
	// registered.
	err = RegisterMethods(c, "test.bad.", &badMethods{})
	require.ErrorIs(t, err, ErrSignature)
	require.ErrorContains(t, err, "register test.bad.take_chan (method TakeChan of *wampfn.badMethods): parameter 0 (chan int) cannot take a WAMP argument")
	_, ok := c.RegistrationID("test.bad.fine")
	require.False(t, ok)

	// Options that name no method, or two methods with one URI.
	require.ErrorContains(t, RegisterMethods(c, "p.", typoOptions{}), `MethodOptions names "Ad", which is not a method of wampfn.typoOptions`)
	require.EqualError(t, RegisterMethods(c, "p.", clash{}), "wampfn: register methods of wampfn.clash: methods GetX and Other both map to p.get_x")

	// Exclude and WithName are for methods only.
	require.EqualError(t, Register(c, "p.x", func() {}, Exclude()), "wampfn: register p.x: Exclude and WithName apply to the methods of RegisterMethods only")
	_, err = Handler(c, func() {}, WithName("x"))
	require.EqualError(t, err, "wampfn: handler: Exclude and WithName apply to the methods of RegisterMethods only")

	// The router refuses one registration: the ones made are taken back.
	require.NoError(t, Register(other, "test.held.b", func() {}))
	err = RegisterMethods(c, "test.held.", held{})
	require.ErrorContains(t, err, "wampfn: register test.held.b (method B of wampfn.held): ")
	require.ErrorContains(t, err, "wamp.error.procedure_already_exists")
	for _, p := range []string{"test.held.a", "test.held.c"} {
		_, ok := c.RegistrationID(p)
		require.False(t, ok, "%s is not left registered", p)
	}
}

type badMethods struct{}

func (badMethods) Fine()             {}
func (badMethods) TakeChan(chan int) {}

type typoOptions struct{}

func (typoOptions) Add(a, b int) int                   { return a + b }
func (typoOptions) MethodOptions() map[string][]Option { return map[string][]Option{"Ad": {}} }

type clash struct{}

func (clash) GetX()  {}
func (clash) Other() {}
func (clash) MethodOptions() map[string][]Option {
	return map[string][]Option{"Other": {WithName("get_x")}}
}

type held struct{}

func (held) A() {}
func (held) B() {}
func (held) C() {}

// A Service registers a value's methods on every connection.
func TestServiceRegisterMethods(t *testing.T) {
	noLeaks(t)
	r1 := wampfntest.NewRouter(t)
	s := NewService(wsDial(r1.URL()), WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithErrorHandler(func(error) {}))
	require.NoError(t, s.RegisterMethods("test.svc.", &calc{canceled: make(chan error, 1)}))
	require.ErrorContains(t, s.RegisterMethods("test.svc.", &calc{}), "the service already has this procedure")
	runService(t, s)

	c1 := r1.Connect(t, wampfntest.JSON)
	res := callUntil(t, c1, "test.svc.add", wamp.List{1, 2}, 10*time.Second)
	require.EqualValues(t, 3, asInt(t, res.Arguments[0]))

	r1.Close()
	r2 := wampfntest.NewRouter(t, wampfntest.WithAddress(r1.Addr()))
	c2 := r2.Connect(t, wampfntest.JSON)
	res = callUntil(t, c2, "test.svc.get_http_status", nil, 10*time.Second)
	require.EqualValues(t, 418, asInt(t, res.Arguments[0]))
	var api calcAPI
	require.NoError(t, BindAll(c2, "test.svc.", &api))
	sum, err := api.Add(t.Context(), 20, 22)
	require.NoError(t, err)
	require.Equal(t, 42, sum)
	require.False(t, errors.Is(err, ErrSignature))
}

func TestCallOptions(t *testing.T) {
	for _, transport := range []wampfntest.Transport{wampfntest.InProcess, wampfntest.JSON} {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, Register(callee, "test.callopts.block", func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}))
			require.NoError(t, Register(callee, "test.callopts.who", func(d Details) uint64 { return uint64(d.Caller) }))

			// The router times the call out: the error wraps both the
			// router's wamp.error.timeout and context.DeadlineExceeded.
			var block func() error
			require.NoError(t, Bind(caller, "test.callopts.block", &block, WithCallTimeout(100*time.Millisecond)))
			err := block()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			var werr *Error
			require.ErrorAs(t, err, &werr)
			require.Equal(t, wamp.ErrTimeout, werr.URI)

			var who func() (uint64, error)
			require.NoError(t, Bind(caller, "test.callopts.who", &who, WithDiscloseMe()))
			id, err := who()
			require.NoError(t, err)
			require.Equal(t, uint64(caller.ID()), id, "disclose_me: the callee sees the caller's session")
			require.NoError(t, Bind(caller, "test.callopts.who", &who))
			id, err = who()
			require.NoError(t, err)
			require.Zero(t, id, "without disclose_me the caller stays anonymous")
		})
	}
}
