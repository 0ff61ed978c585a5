package wampfn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"slices"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

// longop is the procedure of Autobahn's progressive results example.
func longop(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
	for i := range n {
		if err := sink.Send(i); err != nil {
			return 0, err // the call was cancelled
		}
	}
	return n, nil
}

// connect starts an embedded router and joins it twice, as callee and
// caller.
func connect() (callee, caller *client.Client, closeAll func()) {
	quiet := log.New(io.Discard, "", 0)
	r, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{{URI: "realm1", AnonymousAuth: true}},
	}, quiet)
	if err != nil {
		log.Fatal(err)
	}
	cfg := client.Config{Realm: "realm1", Logger: quiet}
	if callee, err = client.ConnectLocal(r, cfg); err != nil {
		log.Fatal(err)
	}
	if caller, err = client.ConnectLocal(r, cfg); err != nil {
		log.Fatal(err)
	}
	return callee, caller, func() { caller.Close(); callee.Close(); r.Close() }
}

func ExampleRegister() {
	callee, caller, closeAll := connect()
	defer closeAll()

	if err := wampfn.Register(callee, "com.myapp.longop", longop, wampfn.WithParamNames("n")); err != nil {
		log.Fatal(err)
	}

	res, err := caller.Call(context.Background(), "com.myapp.longop", nil, wamp.List{3}, nil,
		func(progress *wamp.Result) { fmt.Println("Progress:", progress.Arguments[0]) })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Final:", res.Arguments[0])

	// A caller that does not ask for progress gets the final result only.
	res, err = caller.Call(context.Background(), "com.myapp.longop", nil, nil, wamp.Dict{"n": 2}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Final:", res.Arguments[0])

	// Arguments that do not fit end the call with invalid_argument.
	_, err = caller.Call(context.Background(), "com.myapp.longop", nil, wamp.List{"three"}, nil, nil)
	var rpcErr client.RPCError
	if errors.As(err, &rpcErr) {
		fmt.Println(rpcErr.Err.Error, rpcErr.Err.Arguments[0])
	}
	// Output:
	// Progress: 0
	// Progress: 1
	// Progress: 2
	// Final: 3
	// Final: 2
	// wamp.error.invalid_argument argument 0 (n): cannot use string "three" as int
}

func ExampleRegister_errors() {
	callee, caller, closeAll := connect()
	defer closeAll()

	type user struct {
		Name  string `json:"name"`
		Admin bool   `json:"admin,omitempty"`
	}
	lookup := func(id uint64) (user, error) {
		if id != 1 {
			return user{}, &wampfn.Error{URI: "com.myapp.error.no_such_user", Args: wamp.List{id}}
		}
		return user{Name: "ada"}, nil
	}
	if err := wampfn.Register(callee, "com.myapp.user", lookup); err != nil {
		log.Fatal(err)
	}

	res, _ := caller.Call(context.Background(), "com.myapp.user", nil, wamp.List{1}, nil, nil)
	fmt.Println(res.Arguments[0])
	_, err := caller.Call(context.Background(), "com.myapp.user", nil, wamp.List{2}, nil, nil)
	var rpcErr client.RPCError
	if errors.As(err, &rpcErr) {
		fmt.Println(rpcErr.Err.Error, rpcErr.Err.Arguments)
	}
	// Output:
	// map[name:ada]
	// com.myapp.error.no_such_user [2]
}

// A function with a ProgressSink can be tested without a router.
func ExampleNewProgressSink() {
	sink := wampfn.NewProgressSink(func(i int) error {
		fmt.Println("progress", i)
		return nil
	})
	n, err := longop(context.Background(), 2, sink)
	fmt.Println(n, err)
	// Output:
	// progress 0
	// progress 1
	// 2 <nil>
}

// A function sends progressive results on its ProgressSink; Wanted lets it
// skip the work of progress that nobody asked for,
// as Autobahn's longop does.
func ExampleProgressSink() {
	callee, caller, closeAll := connect()
	defer closeAll()

	report := func(sink wampfn.ProgressSink[string]) string {
		if sink.Wanted() {
			sink.Send("halfway")
		}
		return "done"
	}
	if err := wampfn.Register(callee, "com.myapp.report", report); err != nil {
		log.Fatal(err)
	}
	for _, onProgress := range []client.ProgressHandler{nil, func(r *wamp.Result) { fmt.Println("progress:", r.Arguments[0]) }} {
		res, err := caller.Call(context.Background(), "com.myapp.report", nil, nil, nil, onProgress)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("final:", res.Arguments[0])
	}
	// Output:
	// final: done
	// progress: halfway
	// final: done
}

// Interceptors around a procedure: a log line per call (here without the
// time, the duration and the caller's session ID, which change from run to
// run), a role check, and a cap on concurrent calls.
func ExampleWithInterceptors() {
	callee, caller, closeAll := connect()
	defer closeAll()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "caller" {
				return slog.Attr{}
			}
			return a
		},
	}))
	double := func(n int) int { return 2 * n }
	err := wampfn.Register(callee, "com.myapp.double", double,
		wampfn.WithInterceptors(wampfn.Logging(logger), wampfn.RequireRoles("trusted")),
		wampfn.WithRegisterOptions(wamp.Dict{"disclose_caller": true}), // for RequireRoles
		wampfn.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	res, err := caller.Call(ctx, "com.myapp.double", nil, wamp.List{21}, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("result:", res.Arguments[0])
	_, err = caller.Call(ctx, "com.myapp.double", nil, wamp.List{"x"}, nil, nil)
	var rpcErr client.RPCError
	if errors.As(err, &rpcErr) {
		fmt.Println("error:", rpcErr.Err.Error, rpcErr.Err.Arguments)
	}
	// Output:
	// level=INFO msg="wamp call" procedure=com.myapp.double outcome=ok
	// result: 42
	// level=WARN msg="wamp call" procedure=com.myapp.double outcome=wamp.error.invalid_argument error="argument 0: cannot use string \"x\" as int"
	// error: wamp.error.invalid_argument [argument 0: cannot use string "x" as int]
}

// TestLongop is the README's quick-start test, as written there.
func TestLongop(t *testing.T) {
	r := wampfntest.NewRouter(t) // realm "realm1", in-process and on a loopback WebSocket
	callee := r.Connect(t, wampfntest.InProcess)
	if err := wampfn.Register(callee, "com.myapp.longop", longop, wampfn.WithParamNames("n")); err != nil {
		t.Fatal(err)
	}
	for _, tr := range wampfntest.Transports { // InProcess, JSON, MsgPack, CBOR
		t.Run(tr.String(), func(t *testing.T) {
			var call func(ctx context.Context, n int, progress func(int)) (int, error)
			if err := wampfn.Bind(r.Connect(t, tr), "com.myapp.longop", &call); err != nil {
				t.Fatal(err)
			}
			var got []int
			n, err := call(t.Context(), 2, func(i int) { got = append(got, i) })
			if err != nil || n != 2 || !slices.Equal(got, []int{0, 1}) {
				t.Fatalf("longop(2) = %d, %v with progress %v; want 2, nil with [0 1]", n, err, got)
			}
		})
	}
}
