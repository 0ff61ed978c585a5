// Command longop serves Autobahn's progressive call results example,
// com.myapp.longop, written with wampfn.
//
// With no flags it starts an embedded nexus router, registers longop,
// calls longop(3) as a caller that wants progress, prints
//
//	Progress: 0
//	Progress: 1
//	Progress: 2
//	Final: 3
//
// and exits. With -router it serves an external router (nexusd,
// Crossbar.io) until interrupted; with -listen the embedded router also
// accepts WebSocket clients at ws://ADDR/ws. Each call is logged to stderr
// (wampfn.Logging, log/slog's text format) unless -quiet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn"
)

const (
	procedure = "com.myapp.longop"
	// discovery returns the OpenRPC document of longop (see
	// docs/discovery.md): wampfn describe --discovery com.myapp.describe.
	discovery = "com.myapp.describe"
)

// longop sends 0..n-1, one per interval, when the caller wants progress,
// else waits n intervals; then it returns n. It stops at once when the
// call is cancelled. A negative n ends the call with
// wamp.error.invalid_argument.
func longop(interval time.Duration) func(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
	return func(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
		if n < 0 {
			// An *ArgumentError ends the call with wamp.error.invalid_argument
			// and "argument 0 (n): ..."; a *wampfn.Error must not use a
			// "wamp." URI.
			return 0, &wampfn.ArgumentError{Index: 0, Name: "n", Msg: fmt.Sprintf("must not be negative, got %d", n)}
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := range n {
			if sink.Wanted() {
				if err := sink.Send(i); err != nil {
					return 0, err
				}
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-t.C:
			}
		}
		return n, nil
	}
}

// register registers fn as longop on c, and its OpenRPC document as
// discovery.
func register(c *client.Client, fn any, opts []wampfn.Option) error {
	d := wampfn.NewDescription(wampfn.Info{Title: "longop", Version: "1.0.0"})
	if err := d.Register(procedure, fn, opts...); err != nil {
		return err
	}
	if err := wampfn.Register(c, procedure, fn, opts...); err != nil {
		return err
	}
	return wampfn.Register(c, discovery, d.Document)
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its environment passed in, for tests. It returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("longop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interval := fs.Duration("interval", time.Second, "time between progressive results")
	routerURL := fs.String("router", "", "serve on an external router at this URL (ws://, wss://, tcp://, unix://) until interrupted")
	realm := fs.String("realm", "realm1", "WAMP realm")
	serializer := fs.String("serializer", "json", "serializer for -router: json, msgpack or cbor")
	listen := fs.String("listen", "", "serve on the embedded router, which accepts WebSocket clients at ws://ADDR/ws, until interrupted")
	n := fs.Int("n", 3, "the argument of the demonstration call")
	verbose := fs.Bool("v", false, "log what the embedded router does")
	quiet := fs.Bool("quiet", false, "do not log each call to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "longop: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if *interval <= 0 {
		return fail(2, "-interval must be positive, got %s", *interval)
	}
	if _, err := wampfn.ParseSerializer(*serializer); err != nil {
		return fail(2, "-serializer must be json, msgpack or cbor, got %q", *serializer)
	}
	if *routerURL != "" && *listen != "" {
		return fail(2, "-router and -listen exclude each other")
	}
	logger := log.New(stderr, "", log.LstdFlags)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	fn := longop(*interval)
	opts := []wampfn.Option{wampfn.WithParamNames("n"),
		wampfn.WithSummary("Counts to n, one progressive result a second."),
		wampfn.WithParamDescriptions("how many progressive results")}
	if !*quiet {
		// One line per call on stderr: procedure, duration, outcome.
		opts = append(opts, wampfn.WithInterceptors(wampfn.Logging(slog.New(slog.NewTextHandler(stderr, nil)))))
	}
	if *routerURL != "" {
		c, err := wampfn.Dial(*routerURL, wampfn.DialConfig{Realm: *realm, Serializer: *serializer, Logger: logger})(ctx)
		if err != nil {
			return fail(1, "%v", err)
		}
		defer c.Close()
		if err := register(c, fn, opts); err != nil {
			return fail(1, "%v", err)
		}
		fmt.Fprintf(stdout, "registered %s on %s realm %s\n", procedure, *routerURL, *realm)
		select {
		case <-ctx.Done():
		case <-c.Done():
			return fail(1, "lost the router at %s", *routerURL)
		}
		return 0
	}

	r, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{{URI: wamp.URI(*realm), AnonymousAuth: true}},
	}, routerLogger(*verbose, logger))
	if err != nil {
		return fail(1, "cannot start the embedded router: %v", err)
	}
	defer r.Close()
	callee, err := client.ConnectLocal(r, client.Config{Realm: *realm, Logger: logger})
	if err != nil {
		return fail(1, "cannot connect to the embedded router: %v", err)
	}
	defer callee.Close()
	if err := register(callee, fn, opts); err != nil {
		return fail(1, "%v", err)
	}

	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fail(1, "cannot listen on %s: %v", *listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/ws", router.NewWebsocketServer(r))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(stdout, "registered %s; WAMP WebSocket clients can call it at ws://%s/ws realm %s\n", procedure, ln.Addr(), *realm)
		<-ctx.Done()
		return 0
	}

	caller, err := client.ConnectLocal(r, client.Config{Realm: *realm, Logger: logger})
	if err != nil {
		return fail(1, "cannot connect to the embedded router: %v", err)
	}
	defer caller.Close()
	res, err := caller.Call(ctx, procedure, nil, wamp.List{*n}, nil, func(p *wamp.Result) {
		fmt.Fprintf(stdout, "Progress: %v\n", p.Arguments[0])
	})
	if err != nil {
		var rpcErr client.RPCError
		if errors.As(err, &rpcErr) {
			return fail(1, "call failed: %s %v", rpcErr.Err.Error, rpcErr.Err.Arguments)
		}
		return fail(1, "call failed: %v", err)
	}
	fmt.Fprintf(stdout, "Final: %v\n", res.Arguments[0])
	return 0
}

// routerLogger is the embedded router's logger: quiet unless verbose.
func routerLogger(verbose bool, l *log.Logger) *log.Logger {
	if verbose {
		return l
	}
	return log.New(io.Discard, "", 0)
}
