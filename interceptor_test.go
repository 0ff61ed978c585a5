package wampfn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Interceptors run against a real router, in-process and over a WebSocket
// (JSON). What an interceptor sees is recorded and asserted on the test
// goroutine: interceptors run on nexus's goroutines.

var interceptorTransports = []wampfntest.Transport{wampfntest.InProcess, wampfntest.JSON}

// recorder collects what interceptors see, from any goroutine.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, fmt.Sprintf(format, args...))
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// tracing returns an interceptor that records its name before and after
// next, with the outcome next returned.
func (r *recorder) tracing(name string) Interceptor {
	return func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			r.add("%s before %s args=%v progress=%v", name, inv.Procedure, inv.Args, inv.Progress)
			res, err := next(ctx, inv)
			r.add("%s after outcome=%s panic=%v canceled=%v", name, outcomeOf(err), errors.Is(err, ErrPanic), errors.Is(err, context.Canceled))
			return res, err
		}
	}
}

func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return string(ErrorURI(err))
}

func TestInterceptorOrderAndOutcomes(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			rec := &recorder{}
			fn := func(n int, sink ProgressSink[int]) (int, error) {
				rec.add("fn %d", n)
				switch n {
				case -1:
					panic("boom")
				case -2:
					return 0, errors.New("disk on fire")
				}
				if err := sink.Send(n); err != nil {
					return 0, err
				}
				return n * 2, nil
			}
			// Repeating the option appends: a is outermost, then b, then c.
			require.NoError(t, Register(callee, "test.ic.order", fn,
				WithInterceptors(rec.tracing("a"), rec.tracing("b")), WithInterceptors(rec.tracing("c"))))

			var progress []wamp.List
			res, err := caller.Call(t.Context(), "test.ic.order", nil, wamp.List{3}, nil, func(r *wamp.Result) {
				progress = append(progress, r.Arguments)
			})
			require.NoError(t, err)
			require.EqualValues(t, 6, asInt(t, res.Arguments[0]))
			require.Len(t, progress, 1, "progressive results flow through the sink while next runs")
			require.Equal(t, []string{
				"a before test.ic.order args=[3] progress=true",
				"b before test.ic.order args=[3] progress=true",
				"c before test.ic.order args=[3] progress=true",
				"fn 3",
				"c after outcome=ok panic=false canceled=false",
				"b after outcome=ok panic=false canceled=false",
				"a after outcome=ok panic=false canceled=false",
			}, rec.all())

			// Each outcome reaches every interceptor, then the caller.
			for _, tc := range []struct {
				name    string
				args    wamp.List
				outcome string
				wantURI wamp.URI
				wantMsg string
				ranFn   bool
			}{
				{"function error", wamp.List{-2}, "outcome=wamp.error.runtime_error panic=false", ErrRuntimeError, "disk on fire", true},
				{"panic in the function", wamp.List{-1}, "outcome=wamp.error.runtime_error panic=true", ErrRuntimeError, "test.ic.order failed: the callee recovered from a panic and logged it", true},
				{"argument error", wamp.List{"x"}, "outcome=wamp.error.invalid_argument panic=false", wamp.ErrInvalidArgument, `argument 0: cannot use string "x" as int`, false},
			} {
				rec.reset()
				_, err := caller.Call(t.Context(), "test.ic.order", nil, tc.args, nil, nil)
				werr := callErr(t, err)
				require.Equal(t, tc.wantURI, werr.Error, tc.name)
				require.Equal(t, wamp.List{tc.wantMsg}, werr.Arguments, tc.name)
				seen := rec.all()
				require.Equal(t, tc.ranFn, slices.ContainsFunc(seen, func(s string) bool { return strings.HasPrefix(s, "fn ") }), tc.name)
				for _, name := range []string{"a", "b", "c"} {
					require.Contains(t, seen, name+" after "+tc.outcome+" canceled=false", tc.name)
				}
				require.Contains(t, seen, "a before test.ic.order args="+fmt.Sprint(tc.args)+" progress=false", tc.name)
			}
		})
	}
}

func TestInterceptorShortCircuitAndReplace(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			rec := &recorder{}
			fn := func(n int) (int, error) {
				rec.add("fn %d", n)
				if n == 0 {
					return 0, errors.New("zero")
				}
				return n, nil
			}
			ic := func(next InvokeFunc) InvokeFunc {
				return func(ctx context.Context, inv *Invocation) (Result, error) {
					switch fmt.Sprint(inv.Args) {
					case "[7]":
						// Short-circuit with Go values: converted as results are.
						return Result{Args: wamp.List{point{X: 7}}, Kwargs: wamp.Dict{"cached": true}}, nil
					case "[8]":
						// Change the arguments next sees.
						inv.Args = wamp.List{80}
					}
					res, err := next(ctx, inv)
					if err != nil {
						return Result{}, &Error{URI: "com.example.error.zero", Args: wamp.List{"replaced: " + err.Error()}}
					}
					res.Args = append(res.Args, "extra")
					return res, nil
				}
			}
			require.NoError(t, Register(callee, "test.ic.replace", fn, WithInterceptors(ic)))

			res, err := caller.Call(t.Context(), "test.ic.replace", nil, wamp.List{7}, nil, nil)
			require.NoError(t, err)
			d, ok := wamp.AsDict(res.Arguments[0])
			require.True(t, ok, "a struct from an interceptor goes out as a dict, got %T", res.Arguments[0])
			require.EqualValues(t, 7, asInt(t, d["x"]))
			require.Equal(t, true, res.ArgumentsKw["cached"])
			require.Empty(t, rec.all(), "the function never ran")

			res, err = caller.Call(t.Context(), "test.ic.replace", nil, wamp.List{8}, nil, nil)
			require.NoError(t, err)
			require.Len(t, res.Arguments, 2)
			require.EqualValues(t, 80, asInt(t, res.Arguments[0]))
			require.Equal(t, "extra", res.Arguments[1])
			require.Equal(t, []string{"fn 80"}, rec.all())

			_, err = caller.Call(t.Context(), "test.ic.replace", nil, wamp.List{0}, nil, nil)
			werr := callErr(t, err)
			require.Equal(t, wamp.URI("com.example.error.zero"), werr.Error)
			require.Equal(t, wamp.List{"replaced: zero"}, werr.Arguments)
		})
	}
}

func TestInterceptorPanics(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			var logMu sync.Mutex
			var logged strings.Builder
			callee := tr.Connect(t, wampfntest.InProcess, wampfntest.WithClientConfig(func(cfg *client.Config) {
				cfg.Logger = lockedLogger{&logMu, &logged}
			}))
			caller := tr.Connect(t, transport)
			rec := &recorder{}
			explode := func(next InvokeFunc) InvokeFunc {
				return func(ctx context.Context, inv *Invocation) (Result, error) {
					panic("interceptor exploded")
				}
			}
			ran := make(chan struct{}, 1)
			require.NoError(t, Register(callee, "test.ic.panic", func() int { ran <- struct{}{}; return 1 },
				WithInterceptors(rec.tracing("outer"), explode)))
			_, err := caller.Call(t.Context(), "test.ic.panic", nil, nil, nil, nil)
			werr := callErr(t, err)
			require.Equal(t, ErrRuntimeError, werr.Error)
			require.Equal(t, wamp.List{"test.ic.panic failed: the callee recovered from a panic and logged it"}, werr.Arguments)
			require.Contains(t, rec.all(), "outer after outcome=wamp.error.runtime_error panic=true canceled=false")
			require.Empty(t, ran, "the function never ran")
			logMu.Lock()
			require.Contains(t, logged.String(), "wampfn: panic in interceptor 1 of test.ic.panic: interceptor exploded")
			logMu.Unlock()

			// The callee still serves.
			require.NoError(t, Register(callee, "test.ic.after", func() int { return 2 }, WithInterceptors(rec.tracing("x"))))
			res, err := caller.Call(t.Context(), "test.ic.after", nil, nil, nil, nil)
			require.NoError(t, err)
			require.EqualValues(t, 2, asInt(t, res.Arguments[0]))
		})
	}
	t.Run("at Register", func(t *testing.T) {
		tr := wampfntest.NewRouter(t)
		c := tr.Connect(t, wampfntest.InProcess)
		err := Register(c, "test.ic.bad", func() {}, WithInterceptors(func(InvokeFunc) InvokeFunc { panic("no") }))
		require.EqualError(t, err, "wampfn: register test.ic.bad: interceptor 0: panicked when given its next InvokeFunc: no")
		err = Register(c, "test.ic.bad", func() {}, WithInterceptors(nil))
		require.EqualError(t, err, "wampfn: register test.ic.bad: interceptor 0 is nil")
		err = Register(c, "test.ic.bad", func() {}, WithInterceptors(func(InvokeFunc) InvokeFunc { return nil }))
		require.EqualError(t, err, "wampfn: register test.ic.bad: interceptor 0 returned a nil InvokeFunc")
		_, ok := c.RegistrationID("test.ic.bad")
		require.False(t, ok)
	})
}

// Interceptors see a cancellation as the context's error; the caller
// gets wamp.error.canceled.
func TestInterceptorSeesCancellation(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
			rec := &recorder{}
			started := make(chan struct{}, 1)
			require.NoError(t, Register(callee, "test.ic.cancel", func(ctx context.Context) error {
				started <- struct{}{}
				<-ctx.Done()
				return nil // returns success, but the call was cancelled
			}, WithInterceptors(rec.tracing("ic"))))
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := caller.Call(ctx, "test.ic.cancel", nil, nil, nil, nil)
				done <- err
			}()
			<-started
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			require.Eventually(t, func() bool {
				return slices.Contains(rec.all(), "ic after outcome=wamp.error.canceled panic=false canceled=true")
			}, 5*time.Second, 5*time.Millisecond, "%v", rec.all())
		})
	}
}

// Invocation carries the called URI of a prefix registration and the
// caller's details.
func TestInvocationFields(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	caller := tr.Connect(t, wampfntest.JSON)
	got := make(chan Invocation, 1)
	record := func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			got <- *inv
			return next(ctx, inv)
		}
	}
	require.NoError(t, Register(callee, "test.ic.prefix.", func(a string) string { return a },
		WithInterceptors(record),
		WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchPrefix, wamp.OptDiscloseCaller: true})))
	_, err := caller.Call(t.Context(), "test.ic.prefix.sub", nil, wamp.List{"x"}, wamp.Dict{}, nil)
	require.NoError(t, err)
	inv := <-got
	require.Equal(t, "test.ic.prefix.sub", inv.Procedure)
	require.Equal(t, "test.ic.prefix.sub", inv.Details.Procedure)
	require.Equal(t, caller.ID(), inv.Details.Caller)
	require.Equal(t, "anonymous", inv.Details.CallerAuthRole)
	require.Equal(t, wamp.List{"x"}, inv.Args)
	require.False(t, inv.Progress)
}

func TestRequireRoles(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			disclose := WithRegisterOptions(wamp.Dict{wamp.OptDiscloseCaller: true})
			// The caller's role: "trusted" in-process, "anonymous" over
			// the network (nexus's anonymous authentication).
			require.NoError(t, Register(callee, "test.roles.whoami", func(d Details) string { return d.CallerAuthRole }, disclose))
			res, err := caller.Call(t.Context(), "test.roles.whoami", nil, nil, nil, nil)
			require.NoError(t, err)
			role, _ := res.Arguments[0].(string)
			require.NotEmpty(t, role)

			rec := &recorder{}
			fn := func() string { rec.add("fn"); return "secret" }
			require.NoError(t, Register(callee, "test.roles.allowed", fn, disclose, WithInterceptors(RequireRoles("admin", role))))
			require.NoError(t, Register(callee, "test.roles.refused", fn, disclose, WithInterceptors(RequireRoles("admin"))))
			require.NoError(t, Register(callee, "test.roles.none", fn, disclose, WithInterceptors(RequireRoles())))
			require.NoError(t, Register(callee, "test.roles.undisclosed", fn, WithInterceptors(RequireRoles("anonymous"))))

			res, err = caller.Call(t.Context(), "test.roles.allowed", nil, nil, nil, nil)
			require.NoError(t, err)
			require.Equal(t, wamp.List{"secret"}, res.Arguments)
			require.Equal(t, []string{"fn"}, rec.all())

			for proc, want := range map[string]string{
				"test.roles.refused":     fmt.Sprintf("test.roles.refused: not authorized for role %q", role),
				"test.roles.none":        fmt.Sprintf("test.roles.none: not authorized for role %q", role),
				"test.roles.undisclosed": "test.roles.undisclosed: not authorized: the caller's role is not disclosed to the callee",
			} {
				_, err := caller.Call(t.Context(), proc, nil, nil, nil, nil)
				werr := callErr(t, err)
				require.Equal(t, wamp.ErrNotAuthorized, werr.Error, proc)
				require.Equal(t, wamp.List{want}, werr.Arguments, proc)
			}
			require.Equal(t, []string{"fn"}, rec.all(), "the function ran for the allowed call only")
		})
	}
}

// slogRecorder is a slog.Handler that keeps every record.
type slogRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *slogRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *slogRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *slogRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *slogRecorder) WithGroup(string) slog.Handler      { return h }

// take returns the records so far, as level and attributes, and forgets
// them.
func (h *slogRecorder) take() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.records {
		m := map[string]string{"level": r.Level.String(), "msg": r.Message}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	h.records = nil
	return out
}

func TestLogging(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			h := &slogRecorder{}
			fn := func(n int) (int, error) {
				switch n {
				case 1:
					return 0, &Error{URI: "com.example.error.nope", Args: wamp.List{"nope"}}
				case 2:
					return 0, errors.New("database password is hunter2")
				case 3:
					panic("boom")
				case 4:
					return 0, &Error{URI: ErrRuntimeError, Args: wamp.List{"the function's own"}}
				}
				return n, nil
			}
			require.NoError(t, Register(callee, "test.log", fn, WithInterceptors(Logging(slog.New(h)))))
			require.NoError(t, Register(callee, "test.log.hidden", fn, WithInterceptors(Logging(slog.New(h)), HideInternalErrors())))

			for _, tc := range []struct {
				proc    string
				arg     any
				level   string
				outcome string
				errText string // the record's error attribute; "" for none
				wireMsg string // Args[0] of the ERROR; "" for a result
			}{
				{"test.log", 0, "INFO", "ok", "", ""},
				{"test.log", "x", "WARN", "wamp.error.invalid_argument", `argument 0: cannot use string "x" as int`, `argument 0: cannot use string "x" as int`},
				{"test.log", 1, "WARN", "com.example.error.nope", "com.example.error.nope: nope", "nope"},
				{"test.log", 2, "ERROR", "wamp.error.runtime_error", "database password is hunter2", "database password is hunter2"},
				{"test.log", 3, "ERROR", "wamp.error.runtime_error", "wampfn: panic in test.log: boom", "test.log failed: the callee recovered from a panic and logged it"},
				{"test.log.hidden", 2, "ERROR", "wamp.error.runtime_error", "wamp.error.runtime_error: test.log.hidden failed: internal error", "test.log.hidden failed: internal error"},
				{"test.log.hidden", 1, "WARN", "com.example.error.nope", "com.example.error.nope: nope", "nope"},
				{"test.log.hidden", "x", "WARN", "wamp.error.invalid_argument", `argument 0: cannot use string "x" as int`, `argument 0: cannot use string "x" as int`},
				{"test.log.hidden", 4, "ERROR", "wamp.error.runtime_error", "wamp.error.runtime_error: the function's own", "the function's own"},
				{"test.log.hidden", 3, "ERROR", "wamp.error.runtime_error", "wamp.error.runtime_error: test.log.hidden failed: internal error", "test.log.hidden failed: internal error"},
			} {
				_, err := caller.Call(t.Context(), tc.proc, nil, wamp.List{tc.arg}, nil, nil)
				if tc.wireMsg == "" {
					require.NoError(t, err)
				} else {
					werr := callErr(t, err)
					require.Equal(t, wamp.URI(tc.outcome), werr.Error)
					require.Equal(t, wamp.List{tc.wireMsg}, werr.Arguments, "%s(%v)", tc.proc, tc.arg)
				}
				records := h.take()
				require.Len(t, records, 1, "one record per call")
				r := records[0]
				require.Equal(t, "wamp call", r["msg"])
				require.Equal(t, tc.level, r["level"], "%s(%v)", tc.proc, tc.arg)
				require.Equal(t, tc.proc, r["procedure"])
				require.Equal(t, tc.outcome, r["outcome"])
				require.NotEmpty(t, r["duration"])
				require.Equal(t, tc.errText, r["error"])
				if tc.arg == 3 {
					require.Contains(t, r["stack"], "goroutine ", "a panic's stack goes to the log")
				}
				if tc.proc == "test.log.hidden" && tc.arg == 2 {
					require.Equal(t, "database password is hunter2", r["cause"], "the log keeps what the wire does not get")
				}
			}
		})
	}
}

func TestErrorURI(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want wamp.URI
	}{
		{nil, ""},
		{errors.New("x"), ErrRuntimeError},
		{fmt.Errorf("wrapped: %w", &Error{URI: "com.example.e"}), "com.example.e"},
		{&Error{}, ErrRuntimeError},
		{&ArgumentError{Index: 0, Msg: "m"}, wamp.ErrInvalidArgument},
		{fmt.Errorf("x: %w", context.Canceled), wamp.ErrCanceled},
		{context.DeadlineExceeded, wamp.ErrTimeout},
		{callCanceledError{context.DeadlineExceeded}, wamp.ErrCanceled},
		{&panicError{where: "p", value: 1}, ErrRuntimeError},
		{&Error{URI: ErrRuntimeError, cause: &ArgumentError{}}, ErrRuntimeError},
	} {
		require.Equal(t, tc.want, ErrorURI(tc.err), "%v", tc.err)
		if tc.err != nil {
			require.Equal(t, tc.want, errorResult(tc.err, "p").Err, "the wire agrees with ErrorURI: %v", tc.err)
		}
	}
	require.ErrorIs(t, &panicError{}, ErrPanic)
}

// twoMethods has two methods for RegisterMethods.
type twoMethods struct{}

func (twoMethods) One() int { return 1 }
func (twoMethods) Two() int { return 2 }

// An Interceptor is called once for each procedure, when the procedure is
// analysed: not once more to check the chain, and not again for another
// connection of a Service, whose calls, progressive results included, go
// out on the connection they came in on.
func TestInterceptorCalledOncePerProcedure(t *testing.T) {
	var built sync.Map // procedure -> *int, the times the interceptor was called for it
	counting := func(procedure string) Interceptor {
		return func(next InvokeFunc) InvokeFunc {
			n, _ := built.LoadOrStore(procedure, new(int))
			*n.(*int)++
			return next
		}
	}
	builds := func(procedure string) int {
		n, ok := built.Load(procedure)
		if !ok {
			return 0
		}
		return *n.(*int)
	}
	// progressCall calls longop(3) on c asking for progress, and returns
	// the progressive results and the result.
	progressCall := func(t *testing.T, c *client.Client, procedure string) ([]int64, int64) {
		var progress wamp.List // appended to on the client's goroutine, read once Call has returned
		res, err := c.Call(t.Context(), procedure, wamp.Dict{wamp.OptReceiveProgress: true}, wamp.List{3}, nil,
			func(r *wamp.Result) { progress = append(progress, r.Arguments...) })
		require.NoError(t, err)
		ints := make([]int64, len(progress))
		for i, p := range progress {
			ints[i] = asInt(t, p)
		}
		return ints, asInt(t, res.Arguments[0])
	}

	t.Run("Register, Handler, RegisterMethods", func(t *testing.T) {
		tr := wampfntest.NewRouter(t)
		callee := tr.Connect(t, wampfntest.InProcess)
		caller := tr.Connect(t, wampfntest.JSON)
		require.NoError(t, Register(callee, "test.ic.once", longop, WithInterceptors(counting("register"))))
		require.Equal(t, 1, builds("register"))
		h, err := Handler(callee, longop, WithInterceptors(counting("handler")))
		require.NoError(t, err)
		require.Equal(t, 1, builds("handler"))
		require.NoError(t, callee.Register("test.ic.once.handler", h, nil))
		require.NoError(t, RegisterMethods(callee, "test.ic.once.", twoMethods{}, WithInterceptors(counting("methods"))))
		require.Equal(t, 2, builds("methods"), "once for each method")
		for range 3 {
			progress, n := progressCall(t, caller, "test.ic.once")
			require.Equal(t, []int64{0, 1, 2}, progress)
			require.EqualValues(t, 3, n)
			progress, n = progressCall(t, caller, "test.ic.once.handler")
			require.Equal(t, []int64{0, 1, 2}, progress)
			require.EqualValues(t, 3, n)
		}
		require.Equal(t, 1, builds("register"), "calls do not call the interceptor")
		require.Equal(t, 1, builds("handler"))
	})

	t.Run("a Service across connections", func(t *testing.T) {
		noLeaks(t)
		r1 := wampfntest.NewRouter(t)
		s := NewService(wsDial(r1.URL()), WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithErrorHandler(func(error) {}))
		require.NoError(t, s.Register("test.ic.svc", longop, WithInterceptors(counting("service"))))
		require.Equal(t, 1, builds("service"), "at Service.Register")
		runService(t, s)
		c1 := r1.Connect(t, wampfntest.JSON)
		callUntil(t, c1, "test.ic.svc", wamp.List{0}, 10*time.Second)
		progress, n := progressCall(t, c1, "test.ic.svc")
		require.Equal(t, []int64{0, 1, 2}, progress)
		require.EqualValues(t, 3, n)

		r1.Close()
		r2 := wampfntest.NewRouter(t, wampfntest.WithAddress(r1.Addr()))
		c2 := r2.Connect(t, wampfntest.JSON)
		callUntil(t, c2, "test.ic.svc", wamp.List{0}, 10*time.Second)
		progress, n = progressCall(t, c2, "test.ic.svc")
		require.Equal(t, []int64{0, 1, 2}, progress, "progress goes out on the new connection")
		require.EqualValues(t, 3, n)
		require.Equal(t, 1, builds("service"), "the chain is the procedure's, for every connection")
	})
}

// The ctx an interceptor passes to next carries the call to the
// innermost stage: a ctx derived from its own works, progress included;
// another is an error the caller is told about.
func TestInterceptorContext(t *testing.T) {
	type key struct{}
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	caller := tr.Connect(t, wampfntest.JSON)
	derived := func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			ctx, cancel := context.WithCancel(context.WithValue(ctx, key{}, "v"))
			defer cancel()
			return next(ctx, inv)
		}
	}
	var sawValue sync.Map
	require.NoError(t, Register(callee, "test.ic.ctx.derived", func(ctx context.Context, n int, sink ProgressSink[int]) (int, error) {
		sawValue.Store("v", ctx.Value(key{}))
		return longop(ctx, n, sink)
	}, WithInterceptors(derived)))
	var progress wamp.List
	res, err := caller.Call(t.Context(), "test.ic.ctx.derived", wamp.Dict{wamp.OptReceiveProgress: true}, wamp.List{2}, nil,
		func(r *wamp.Result) { progress = append(progress, r.Arguments...) })
	require.NoError(t, err)
	require.Len(t, progress, 2)
	require.EqualValues(t, 0, asInt(t, progress[0]))
	require.EqualValues(t, 1, asInt(t, progress[1]))
	require.EqualValues(t, 2, asInt(t, res.Arguments[0]))
	v, _ := sawValue.Load("v")
	require.Equal(t, "v", v, "the function gets the interceptor's ctx")

	ran := make(chan struct{}, 1)
	unrelated := func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			return next(context.Background(), inv)
		}
	}
	require.NoError(t, Register(callee, "test.ic.ctx.unrelated", func() { ran <- struct{}{} }, WithInterceptors(unrelated)))
	_, err = caller.Call(t.Context(), "test.ic.ctx.unrelated", nil, nil, nil, nil)
	werr := callErr(t, err)
	require.Equal(t, ErrRuntimeError, werr.Error)
	require.Equal(t, wamp.List{"wampfn: an interceptor called its next InvokeFunc with a context not derived from its own"}, werr.Arguments)
	require.Empty(t, ran, "the function never ran")
}
