package main

// wampfn call: one call, its progressive results and its final result on
// stdout, one JSON value a line; or, with --repeat or --concurrency, a
// load run (load.go).

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
)

// callUsage is call's usage text, shown by call -h: the reference of its
// input and output.
const callUsage = `call [flags] PROCEDURE [ARG...]

Calls PROCEDURE with the positional arguments ARG... and the keyword
arguments of -k, and prints the result on stdout as one line of JSON: the
result's only positional argument when it has no keyword arguments, else
{"args": [...], "kwargs": {...}}. Binary values print in base64. With
--progress, each progressive result first, as it arrives, the same way.

An ARG, or a -k VALUE, is JSON when it is one JSON value, else a string:
  2  -1.5  true  null  '"2"'  '[1, "a"]'  '{"k": 1}'    JSON
  hello  'two words'  ''                              strings
Integers stay integers on every serializer (int64, or uint64 above it).

An ERROR prints on stderr, exit status 1, as
  wampfn: call PROCEDURE: URI args=[...] kwargs={...}
SIGINT or SIGTERM cancels the call (CANCEL, mode kill), prints no more
progressive results, waits up to 2 s for the callee to stop (and for a
stdout that nobody reads), and exits 130.

--repeat N and --concurrency C make a load run: N calls, C at a time, on
one session. It prints no results; on stderr, the first error if any (exit
status 1), then
  N calls in D: X calls/s, p50 P, p99 Q, E errors
and, on a terminal, a progress line while it runs. --progress asks for
progressive results and drops them; --timeout applies to each call.

flags:`

// timeoutGrace is added to --timeout for the local bound on a call's
// wait: the router times the call out at --timeout (the CALL's "timeout"
// option, answered with wamp.error.timeout), the local bound ends it
// against a router that does not.
const timeoutGrace = time.Second

// runCall is wampfn call.
func runCall(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var cf connFlags
	fs := newFlagSet("call", env, &cf)
	var kw kwargsFlag
	fs.Var(&kw, "k", "keyword argument `KEY=VALUE`, VALUE read as an ARG is; repeatable, the last value of a KEY wins")
	progress := fs.Bool("progress", false, "ask for progressive results and print each as it arrives")
	timeout := fs.Duration("timeout", 0, "the CALL's timeout option: the router cancels the call after `D` (0: none)")
	repeat := fs.Int("repeat", 1, "load: make `N` calls and print their statistics, not their results")
	concurrency := fs.Int("concurrency", 1, "load: `C` calls at a time")
	if code, ok := parse(fs, callUsage, args, stdout, stderr); !ok {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "wampfn: call: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() == 0 {
		synopsis, _, _ := strings.Cut(callUsage, "\n")
		return usage("missing PROCEDURE; usage: wampfn %s", synopsis)
	}
	if *repeat < 1 {
		return usage("--repeat %d: want at least 1", *repeat)
	}
	if *concurrency < 1 {
		return usage("--concurrency %d: want at least 1", *concurrency)
	}
	if *timeout < 0 {
		return usage("--timeout %v: want a positive duration, or 0 for none", *timeout)
	}
	load := false // --repeat or --concurrency given: a load run
	fs.Visit(func(f *flag.Flag) { load = load || f.Name == "repeat" || f.Name == "concurrency" })

	procedure := fs.Arg(0)
	callArgs := wamp.List{}
	for i, s := range fs.Args()[1:] {
		v, err := parseArg(s)
		if err != nil {
			return usage("ARG %d: %v", i+1, err)
		}
		callArgs = append(callArgs, v)
	}
	var options wamp.Dict
	if *timeout > 0 {
		// The option is in milliseconds; less than one is one, not none.
		options = wamp.Dict{wamp.OptTimeout: max(int64(*timeout/time.Millisecond), 1)}
	}

	c, code := cf.connect(ctx, stderr)
	if c == nil {
		return code
	}
	defer closeWithin(c, closeWait)
	// On an interrupt, CANCEL in mode kill: the router interrupts the
	// callee and answers once the callee has.
	if err := c.SetCallCancelMode(wamp.CancelModeKill); err != nil {
		fmt.Fprintf(stderr, "wampfn: call %s: %v\n", procedure, err)
		return exitFailed
	}

	spec := loadSpec{c: c, procedure: procedure, options: options, args: callArgs, kwargs: kw.kwargs,
		progress: *progress, timeout: *timeout}
	if load {
		return runLoad(ctx, spec, *repeat, min(*concurrency, *repeat), stderr)
	}
	return callOnce(ctx, spec, stdout, stderr)
}

// kwargsFlag is the repeatable -k KEY=VALUE flag. A key given again
// takes the last value.
type kwargsFlag struct {
	kwargs wamp.Dict
}

func (f *kwargsFlag) String() string { return "" }

func (f *kwargsFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return errors.New("want KEY=VALUE")
	}
	if key == "" {
		return errors.New("empty KEY in KEY=VALUE")
	}
	v, err := parseArg(value)
	if err != nil {
		return err
	}
	if f.kwargs == nil {
		f.kwargs = wamp.Dict{}
	}
	f.kwargs[key] = v
	return nil
}

// parseArg reads an ARG (or a -k VALUE): JSON if s is one JSON value,
// else the string s. JSON numbers that are integers are int64, or uint64
// above math.MaxInt64, so that every serializer sends them as integers;
// other numbers are float64. A number out of float64's range is an error.
func parseArg(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s, nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return s, nil // more than one JSON value
	}
	return fromJSON(v)
}

// fromJSON replaces the json.Numbers in v, as parseArg says.
func fromJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		s := string(v)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("number %s is out of range", s)
		}
		return f, nil
	case []any:
		for i, e := range v {
			var err error
			if v[i], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, e := range v {
			var err error
			if v[k], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// callOnce makes spec's call, printing its progressive results (when
// asked for) and its final result to stdout, and returns the exit status.
//
// A stdout that blocks (a pipe that its reader stopped reading) does not
// keep an interrupt from ending wampfn: once ctx ends, a progressive
// result's write is abandoned and later progressive results are dropped,
// so that nexus, whose Call waits for the progress handler, sends CANCEL
// at once; the final result's write gets cancelWait, as the call does.
func callOnce(ctx context.Context, spec loadSpec, stdout, stderr io.Writer) int {
	out := newResultWriter(stdout)
	defer out.close() // no progressive result is printed once callOnce returns
	defer out.closeAfter(ctx, cancelWait)()
	var onProgress client.ProgressHandler
	if spec.progress {
		onProgress = func(r *wamp.Result) {
			if ctx.Err() == nil {
				out.print(ctx.Done(), r.Arguments, r.ArgumentsKw)
			}
		}
	}
	var timeout time.Duration // the local bound: none without --timeout
	if spec.timeout > 0 {
		timeout = spec.timeout + timeoutGrace
	}
	res, err := boundedCall(ctx, spec.c, timeout, spec.procedure, spec.options, spec.args, spec.kwargs, onProgress)
	if err != nil {
		return callFailed(ctx, stderr, "call "+spec.procedure, timeout, err)
	}
	// The final result, even if it crossed an interrupt.
	if !out.print(nil, res.Arguments, res.ArgumentsKw) {
		if err := out.err(); err != nil {
			fmt.Fprintf(stderr, "wampfn: call %s: %v\n", spec.procedure, err)
			return exitFailed
		}
		// Abandoned: stdout blocked past an interrupt.
		fmt.Fprintf(stderr, "wampfn: call %s: interrupted\n", spec.procedure)
		return exitInterrupted
	}
	return exitOK
}

// A resultWriter prints results to w, one JSON value a line, until it is
// closed or fails: it keeps the first error, a value that JSON cannot
// represent (a NaN) or a failed write, and prints nothing after it.
//
// A print waits for its write, but not past the writer's closing, nor
// past its stop channel: it abandons the write then, on the goroutine
// that makes it, and a later print waits for that write before its own,
// as long as it would wait for its own. Closing never waits.
type resultWriter struct {
	w         io.Writer
	closed    chan struct{} // closed by close
	closeOnce sync.Once
	mu        sync.Mutex // held by print, one result at a time
	firstErr  error      // guarded by mu
	abandoned chan error // guarded by mu: the outcome of an abandoned write, nil if none
}

func newResultWriter(w io.Writer) *resultWriter {
	return &resultWriter{w: w, closed: make(chan struct{})}
}

// print prints one result: its only positional argument if it has no
// keyword arguments, else {"args": [...], "kwargs": {...}}. It returns
// once the line is written, or the writer is closed, or stop (nil:
// never) is, and reports whether the line was written.
func (rw *resultWriter) print(stop <-chan struct{}, args wamp.List, kwargs wamp.Dict) bool {
	var v any
	if len(args) == 1 && len(kwargs) == 0 {
		v = printable(args[0])
	} else {
		v = struct {
			Args   any `json:"args"`
			Kwargs any `json:"kwargs"`
		}{printable(listOrEmpty(args)), printable(dictOrEmpty(kwargs))}
	}
	line, encErr := toJSON(v)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.abandoned != nil {
		select {
		case err := <-rw.abandoned: // done after all
			rw.abandoned = nil
			rw.firstErr = cmp.Or(rw.firstErr, err)
		case <-rw.closed:
			return false
		case <-stop:
			return false
		}
	}
	switch {
	case rw.firstErr != nil || rw.isClosed():
		return false
	case encErr != nil:
		rw.firstErr = fmt.Errorf("cannot print a result as JSON: %w", encErr)
		return false
	}
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(rw.w, line+"\n")
		written <- err
	}()
	select {
	case err := <-written:
		rw.firstErr = err
		return err == nil
	case <-rw.closed:
	case <-stop:
	}
	select {
	case err := <-written: // written after all
		rw.firstErr = err
		return err == nil
	default:
		rw.abandoned = written
		return false
	}
}

// err returns the first error.
func (rw *resultWriter) err() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.firstErr
}

func (rw *resultWriter) isClosed() bool {
	select {
	case <-rw.closed:
		return true
	default:
		return false
	}
}

// close makes later prints do nothing, and a print that waits for its
// write return. It does not wait.
func (rw *resultWriter) close() {
	rw.closeOnce.Do(func() { close(rw.closed) })
}

// closeAfter closes rw grace after ctx ends, unless the returned function
// has been called by then; that function returns at once.
func (rw *resultWriter) closeAfter(ctx context.Context, grace time.Duration) (stop func()) {
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-timer.C:
			rw.close()
		case <-stopped:
		}
	}()
	return func() { close(stopped) }
}

func listOrEmpty(l wamp.List) wamp.List {
	if l == nil {
		return wamp.List{}
	}
	return l
}

func dictOrEmpty(d wamp.Dict) wamp.Dict {
	if d == nil {
		return wamp.Dict{}
	}
	return d
}

// printable returns v with its binary values as []byte, which
// encoding/json prints in base64: serialize.BinaryData (in-process), and
// the strings of a NUL followed by base64 by which WAMP's JSON serializer
// carries binary values.
func printable(v any) any {
	switch v := v.(type) {
	case serialize.BinaryData:
		return []byte(v)
	case string:
		if b, ok := strings.CutPrefix(v, "\x00"); ok {
			if raw, err := base64.StdEncoding.DecodeString(b); err == nil {
				return raw
			}
		}
		return v
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = printable(e)
		}
		return l
	case wamp.List:
		return printable([]any(v))
	case map[string]any:
		d := make(map[string]any, len(v))
		for k, e := range v {
			d[k] = printable(e)
		}
		return d
	case wamp.Dict:
		return printable(map[string]any(v))
	}
	return v
}

// toJSON is v in JSON, in one line, with <, > and & as they are.
func toJSON(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
