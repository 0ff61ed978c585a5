package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn"
)

// Bounds on the waits of every command.
const (
	// cancelWait bounds the wait for a call's answer once the call is
	// interrupted or its bound has passed: nexus sends CANCEL, and the
	// router answers once the callee has (mode kill) or at once.
	cancelWait = 2 * time.Second
	// closeWait bounds the wait for the client to leave the realm.
	closeWait = 5 * time.Second
)

// connFlags are the connection flags of every subcommand.
type connFlags struct {
	url, realm, serializer string
	authID, authRole       string
	ticket, secret, key    string
}

// connEnv names the environment variable of each connection flag.
var connEnv = map[string]string{
	"url": "WAMPFN_URL", "realm": "WAMPFN_REALM", "serializer": "WAMPFN_SERIALIZER",
	"authid": "WAMPFN_AUTHID", "authrole": "WAMPFN_AUTHROLE",
	"ticket": "WAMPFN_TICKET", "secret": "WAMPFN_SECRET", "private-key": "WAMPFN_PRIVATE_KEY",
}

// newFlagSet returns the flag set of subcommand name, with the connection
// flags, their defaults taken from env. Its errors go to stderr, in one
// line (see parse).
func newFlagSet(name string, env func(string) string, cf *connFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("wampfn "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := func(flagName, fallback string) string {
		if v := env(connEnv[flagName]); v != "" {
			return v
		}
		return fallback
	}
	fs.StringVar(&cf.url, "url", def("url", "ws://localhost:8080/ws"), "router `URL`: ws://, wss://, tcp://, tcps://, unix:// ($WAMPFN_URL)")
	fs.StringVar(&cf.realm, "realm", def("realm", "realm1"), "`realm` to join ($WAMPFN_REALM)")
	fs.StringVar(&cf.serializer, "serializer", def("serializer", "json"), "json, msgpack or cbor ($WAMPFN_SERIALIZER)")
	fs.StringVar(&cf.authID, "authid", def("authid", ""), "authid to join as ($WAMPFN_AUTHID)")
	fs.StringVar(&cf.authRole, "authrole", def("authrole", ""), "authrole to ask for ($WAMPFN_AUTHROLE)")
	fs.StringVar(&cf.ticket, "ticket", def("ticket", ""), "ticket authentication ($WAMPFN_TICKET)")
	fs.StringVar(&cf.secret, "secret", def("secret", ""), "WAMP-CRA secret ($WAMPFN_SECRET)")
	fs.StringVar(&cf.key, "private-key", def("private-key", ""), "cryptosign: the ed25519 seed, 64 hex digits ($WAMPFN_PRIVATE_KEY)")
	return fs
}

// parse parses args with fs. On -h it prints the usage to stdout and
// returns exitOK, false; on an error one line to stderr and exitUsage,
// false.
func parse(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer) (int, bool) {
	err := fs.Parse(args)
	switch {
	case err == flag.ErrHelp:
		fmt.Fprintln(stdout, "usage: wampfn "+usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "wampfn: %v\n", err)
		return exitUsage, false
	}
	return 0, true
}

// dialConfig checks cf and returns the wampfn.DialConfig it says; an
// error is a usage error.
func (cf *connFlags) dialConfig() (wampfn.DialConfig, error) {
	cfg := wampfn.DialConfig{
		Realm: cf.realm, Serializer: cf.serializer, AuthID: cf.authID, AuthRole: cf.authRole,
		Ticket: cf.ticket, Secret: cf.secret,
	}
	if _, err := wampfn.ParseSerializer(cf.serializer); err != nil {
		return cfg, fmt.Errorf("--serializer %q: want json, msgpack or cbor", cf.serializer)
	}
	n := 0
	for _, s := range []string{cf.ticket, cf.secret, cf.key} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return cfg, fmt.Errorf("give one of --ticket, --secret and --private-key")
	}
	if cf.key != "" {
		key, err := wampfn.ParsePrivateKey(cf.key)
		if err != nil {
			return cfg, fmt.Errorf("--private-key: %s", strings.TrimPrefix(err.Error(), "wampfn: cryptosign private key: "))
		}
		cfg.PrivateKey = key
	}
	return cfg, nil
}

// connect connects as cf says. On failure it prints one line to stderr
// and returns the exit status: exitInterrupted if ctx has ended (SIGINT
// or SIGTERM while connecting).
func (cf *connFlags) connect(ctx context.Context, stderr io.Writer) (*client.Client, int) {
	cfg, err := cf.dialConfig()
	if err != nil {
		fmt.Fprintf(stderr, "wampfn: %v\n", err)
		return nil, exitUsage
	}
	c, err := wampfn.Dial(cf.url, cfg)(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		if ctx.Err() != nil {
			return nil, exitInterrupted
		}
		return nil, exitFailed
	}
	return c, exitOK
}

// closeWithin closes c, waiting at most d: nexus's Close bounds its own
// waits, but a wait that must end gets a bound of its own.
func closeWithin(c *client.Client, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Close()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}

// boundedCall calls procedure on c and waits for its answer until ctx
// ends or, if timeout is not 0, timeout has passed. Then nexus sends
// CANCEL, in c's cancel mode, and waits for the router's answer for up to
// its response timeout (5 s); boundedCall waits cancelWait for it, and
// then returns the error of the context that ended, leaving nexus's Call
// to end on its own. onProgress, if not nil, asks for progressive
// results: nexus calls it on a goroutine of its own, one result after
// the other, and never once Call has returned.
func boundedCall(ctx context.Context, c *client.Client, timeout time.Duration, procedure string,
	options wamp.Dict, args wamp.List, kwargs wamp.Dict, onProgress client.ProgressHandler) (*wamp.Result, error) {
	callCtx, cancel := context.WithCancel(ctx)
	if timeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	type outcome struct {
		res *wamp.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := c.Call(callCtx, procedure, options, args, kwargs, onProgress)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-callCtx.Done():
	}
	timer := time.NewTimer(cancelWait)
	defer timer.Stop()
	select {
	case o := <-done:
		return o.res, o.err
	case <-timer.C:
		return nil, callCtx.Err()
	}
}

// callFailed prints the one line that says why a call failed with err,
// "wampfn: WHAT: ..." (what is "call PROCEDURE", "describe: PROCEDURE"),
// and returns the exit status: exitInterrupted once ctx has ended (SIGINT
// or SIGTERM), else exitFailed. timeout is boundedCall's.
func callFailed(ctx context.Context, stderr io.Writer, what string, timeout time.Duration, err error) int {
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "wampfn: %s: interrupted\n", what)
		return exitInterrupted
	case timeout > 0 && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrReplyTimeout)):
		fmt.Fprintf(stderr, "wampfn: %s: no answer within %v\n", what, timeout)
	default:
		fmt.Fprintf(stderr, "wampfn: %s: %s\n", what, describeCallError(err))
	}
	return exitFailed
}

// describeCallError is the text of a call's error, in one line: for an
// ERROR, its URI, args and kwargs, as JSON, binary values in base64:
//
//	URI args=[...] kwargs={...}
func describeCallError(err error) string {
	var rpcErr client.RPCError
	switch {
	case errors.As(err, &rpcErr) && rpcErr.Err != nil:
	case errors.Is(err, client.ErrNotConn):
		return "the router closed the session"
	default:
		return strings.ReplaceAll(err.Error(), "\n", " ")
	}
	args, err1 := toJSON(printable(listOrEmpty(rpcErr.Err.Arguments)))
	kwargs, err2 := toJSON(printable(dictOrEmpty(rpcErr.Err.ArgumentsKw)))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Sprintf("%s (its arguments cannot be printed as JSON: %s)", rpcErr.Err.Error, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return fmt.Sprintf("%s args=%s kwargs=%s", rpcErr.Err.Error, args, kwargs)
}
