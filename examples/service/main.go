// Command service serves the methods of one Go type, a small lending
// library, as WAMP procedures with a wampfn.Service, and calls them from
// Go through wampfn.BindAll.
//
// It starts an embedded nexus router, serves *Library's methods as
// com.example.library.add, .get, .list, .lend and .stats, and their
// OpenRPC document at com.example.library.describe, calls each of them
// from a second session, prints what each call returned, shuts the
// Service down gracefully and exits. With -v each call is logged to
// stderr (wampfn.Logging, log/slog's text format).
//
// With -router URL it makes no calls: it serves the Library, and its
// document, on the router at URL (nexusd, Crossbar.io, or a test's) until
// SIGINT or SIGTERM, reconnecting when the router goes away, and then
// shuts down gracefully. It prints a line once the procedures are
// registered, on each connection. Callers in other languages can then use
// the typed client that `wampfn gen ts` or `wampfn gen py` writes from
// the document.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn"
)

const (
	defaultRealm = "realm1"
	prefix       = "com.example.library."
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its environment passed in, for tests. It returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a bad flag is reported below, in one line
	verbose := fs.Bool("v", false, "log each call to stderr")
	routerURL := fs.String("router", "", "serve the Library on the router at this `URL` (ws://, wss://, tcp://, unix://) until interrupted, instead of the demonstration")
	realm := fs.String("realm", defaultRealm, "the WAMP realm")
	serializer := fs.String("serializer", "json", "serializer for -router: json, msgpack or cbor")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: service [-v] [-router URL [-realm REALM] [-serializer json|msgpack|cbor]]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "service: %v\n", err)
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "service: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if _, err := wampfn.ParseSerializer(*serializer); err != nil {
		return fail(2, "-serializer must be json, msgpack or cbor, got %q", *serializer)
	}

	// The callee's options. The Service dials (here, a local session; with
	// -router, wampfn.Dial), registers the procedures, reconnects when the
	// router goes away, and shuts down gracefully when its ctx ends.
	ready := make(chan struct{})
	markReady := sync.OnceFunc(func() { close(ready) })
	opts := []wampfn.ServiceOption{
		wampfn.WithErrorHandler(func(err error) { fmt.Fprintf(stderr, "service: %v\n", err) }),
		// The OpenRPC document of the procedures, with JSON Schemas of
		// their arguments and results, for callers in any language.
		wampfn.WithDiscovery(prefix + "describe"),
		wampfn.WithInfo(wampfn.Info{Title: "library", Version: "1.0.0"}),
	}
	if *verbose {
		logger := slog.New(slog.NewTextHandler(stderr, nil))
		opts = append(opts, wampfn.WithProcedureOptions(wampfn.WithInterceptors(wampfn.Logging(logger))))
	}
	quiet := log.New(io.Discard, "", 0)

	if *routerURL != "" {
		// Called once every procedure is registered, on each connection.
		opts = append(opts, wampfn.WithOnConnect(func(context.Context, *client.Client) {
			fmt.Fprintf(stdout, "serving %s* on %s realm %s\n", prefix, *routerURL, *realm)
		}))
		dial := wampfn.Dial(*routerURL, wampfn.DialConfig{Realm: *realm, Serializer: *serializer, Logger: quiet})
		return serve(ctx, wampfn.NewService(dial, opts...), stdout, fail)
	}

	r, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{{URI: wamp.URI(*realm), AnonymousAuth: true}},
	}, quiet)
	if err != nil {
		return fail(1, "cannot start the embedded router: %v", err)
	}
	defer r.Close()
	cfg := client.Config{Realm: *realm, Logger: quiet}
	// Called once every procedure is registered, on each connection.
	opts = append(opts, wampfn.WithOnConnect(func(context.Context, *client.Client) { markReady() }))
	svc := wampfn.NewService(func(context.Context) (*client.Client, error) {
		return client.ConnectLocal(r, cfg)
	}, opts...)
	if err := svc.RegisterMethods(prefix, &Library{}); err != nil {
		return fail(1, "%v", err)
	}
	svcCtx, stopService := context.WithCancel(ctx) // a real server: signal.NotifyContext
	defer stopService()
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Run(svcCtx) }()

	// The caller: another session, as another process would have.
	select {
	case <-ready:
		err = callLibrary(ctx, r, cfg, stdout)
	case <-ctx.Done():
		err = ctx.Err()
	}

	// Graceful shutdown: Run unregisters every procedure, lets calls in
	// flight finish, closes the callee's session and returns.
	stopService()
	if runErr := <-stopped; runErr != nil {
		return fail(1, "%v", runErr)
	}
	if err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintln(stdout, "service stopped")
	return 0
}

// serve serves the Library on svc until SIGINT or SIGTERM (or until ctx is
// done), then shuts it down gracefully.
func serve(ctx context.Context, svc *wampfn.Service, stdout io.Writer, fail func(int, string, ...any) int) int {
	if err := svc.RegisterMethods(prefix, &Library{}); err != nil {
		return fail(1, "%v", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Run returns once ctx is done and the Service has shut down; while
	// the router is unreachable it reports each failure (the error
	// handler) and tries again.
	if err := svc.Run(ctx); err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintln(stdout, "service stopped")
	return 0
}

// libraryClient is the caller's view of the library. BindAll binds each
// func field to the procedure prefix + the field's name in snake case, or
// prefix + the name in its wamp tag. A func(T) parameter receives the
// progressive results.
type libraryClient struct {
	Add    func(ctx context.Context, b Book) (ID, error)
	Get    func(ctx context.Context, id ID) (Book, error)
	List   func(ctx context.Context, filter string, progress func(Book)) (int, error)
	Borrow func(ctx context.Context, id ID, borrower string) error `wamp:"lend"`
	Stats  func(ctx context.Context) (Stats, error)
}

// callLibrary calls each procedure of the library from a session of its
// own on r and prints what each call returned to w.
func callLibrary(ctx context.Context, r router.Router, cfg client.Config, w io.Writer) error {
	c, err := client.ConnectLocal(r, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	var lib libraryClient
	if err := wampfn.BindAll(c, prefix, &lib); err != nil {
		return err
	}

	for _, b := range []Book{
		{Title: "The Go Programming Language", Author: "Donovan & Kernighan", Year: 2015},
		{Title: "The C Programming Language", Author: "Kernighan & Ritchie", Year: 1978},
		{Title: "Structure and Interpretation of Computer Programs", Author: "Abelson & Sussman", Year: 1985},
	} {
		id, err := lib.Add(ctx, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "add: %d %v\n", id, b)
	}

	b, err := lib.Get(ctx, 2)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "get 2: %v\n", b)

	// An application error arrives as a *wampfn.Error with its URI.
	var werr *wampfn.Error
	if _, err := lib.Get(ctx, 42); errors.As(err, &werr) && werr.URI == errNotFound {
		fmt.Fprintf(w, "get 42: %s %v\n", werr.URI, werr.Args)
	} else {
		return fmt.Errorf("get 42: want %s, got %v", errNotFound, err)
	}

	// The progress func runs for each book as it arrives, before List
	// returns.
	n, err := lib.List(ctx, "language", func(b Book) { fmt.Fprintf(w, "list: %v\n", b) })
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "list: %d matching \"language\"\n", n)

	if err := lib.Borrow(ctx, 1, "ada"); err != nil {
		return err
	}
	fmt.Fprintln(w, "lend 1 to ada: ok")

	// A caller in another language may pass Lend's arguments by name,
	// thanks to the WithParamNames in Library.MethodOptions.
	if _, err := c.Call(ctx, prefix+"lend", nil, nil, wamp.Dict{"id": 3, "borrower": "grace"}, nil); err != nil {
		return err
	}
	fmt.Fprintln(w, "lend id=3 borrower=grace: ok")

	s, err := lib.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stats: %d books, %d on loan\n", s.Books, s.OnLoan)

	// What the Service serves, and how to call it, from its discovery
	// procedure: an OpenRPC document, as a dict.
	res, err := c.Call(ctx, prefix+"describe", nil, nil, nil, nil)
	if err != nil {
		return err
	}
	doc, _ := wamp.AsDict(res.Arguments[0])
	methods, _ := wamp.AsList(doc["methods"])
	for _, m := range methods {
		m, _ := wamp.AsDict(m)
		fmt.Fprintf(w, "describe: %s: %s\n", m["name"], m["summary"])
	}
	return nil
}
