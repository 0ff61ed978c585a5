package wampfn

// Serving a call (stage 5, while the function runs): input streams, a call
// whose caller sends its input in chunks (progressive call invocations,
// WAMP Advanced Profile), read by the function as an InputStream while
// the chunks arrive.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// DefaultInputBuffer is how many values of an input stream may wait unread
// (see WithInputBuffer).
const DefaultInputBuffer = 256

// InputOverflowURI is the error URI of a call whose input stream
// overflowed its buffer: the function read slower than the caller sent
// (see WithInputBuffer).
const InputOverflowURI = wamp.URI("wampfn.error.input_overflow")

// DefaultInputIdleTimeout is how long an input stream waits for the
// caller's next chunk (see WithInputIdleTimeout).
const DefaultInputIdleTimeout = time.Minute

var (
	// ErrInputOverflow is what InputStream.Recv returns once the call's
	// input overflowed its buffer; the caller gets an ERROR with
	// InputOverflowURI.
	ErrInputOverflow = errors.New("wampfn: input stream overflowed its buffer: the function reads slower than the caller sends")

	// ErrInputIdle is what InputStream.Recv returns when the caller sent
	// no chunk for the idle timeout (see WithInputIdleTimeout): the caller
	// left, cancelled with mode skip, or the router dropped the call, none
	// of which the nexus v3.3.0 router tells the callee.
	ErrInputIdle = errors.New("wampfn: input stream idle: no chunk from the caller within the idle timeout")
)

// An InputStream is the input of a call that the caller sends in chunks.
// A function receives one by declaring a parameter of type InputStream[T].
//
// Every chunk of the call carries zero or one value, its positional
// arguments [v] or []: the first CALL, each CALL with progress: true, and
// the final one. Each value is decoded strictly as T, as an argument is;
// one that does not decode ends the call with wamp.error.invalid_argument
// naming the chunk ("input chunk 3: cannot use string "x" as int"). A
// plain call, in one CALL, is a stream of its zero or one value. The
// function's other argument parameters are taken by name from the first
// chunk's keyword arguments (see WithParamNames).
//
// The function starts on the first chunk and runs while the others
// arrive. It may return before the stream ends; its result is the call's
// result, and goes out with the caller's final chunk (after an answer,
// the nexus router would take the caller's next chunk for a new call);
// the chunks in between are dropped.
//
// Recv may be called from several goroutines, but each value goes to one
// of them; values are received in the order the caller sent them.
type InputStream[T any] struct {
	in *inputCall
}

// Recv returns the next value of the stream. It blocks until the caller
// sends one, and returns io.EOF after the caller's final chunk, the
// context's error once the call is cancelled (INTERRUPT, a forwarded
// timeout, a Service's shutdown, the loss of the router), ErrInputOverflow
// after an overflow, and the *ArgumentError for a value that did not
// decode. The zero InputStream is empty: Recv returns io.EOF.
func (s InputStream[T]) Recv() (T, error) {
	var zero T
	if s.in == nil {
		return zero, io.EOF
	}
	v, err := s.in.recv()
	if err != nil {
		return zero, err
	}
	return *v.(*T), nil
}

// All returns every value of the stream, in order, as Recv returns them:
// the sequence ends after the final chunk (io.EOF is not yielded), or
// after yielding the first other error.
func (s InputStream[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := s.Recv()
			if err == io.EOF {
				return
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// newInput returns an InputStream of s's type reading in. Signature
// analysis calls it on the zero value of the parameter's type, as it
// does newValue of ProgressSink.
func (InputStream[T]) newInput(in *inputCall) reflect.Value {
	return reflect.ValueOf(InputStream[T]{in: in})
}

// inputElem returns T.
func (InputStream[T]) inputElem() reflect.Type { return reflect.TypeFor[T]() }

// inputType is implemented by every InputStream[T], and by the types that
// embed one.
type inputType interface {
	newInput(*inputCall) reflect.Value
	inputElem() reflect.Type
}

var inputTypeType = reflect.TypeFor[inputType]()

// isInputStream reports whether t is an InputStream[T].
func isInputStream(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == sinkPkgPath && strings.HasPrefix(t.Name(), "InputStream[")
}

// inputCall is one call's input stream: the decoded values the function
// has not read yet, in a bounded buffer.
type inputCall struct {
	values   chan any      // *T, each; closed after the final chunk
	failed   chan struct{} // closed when the call failed (overflow, a value that did not decode, idle)
	err      error         // why; written before failed is closed
	failOnce sync.Once
	ctx      context.Context
	dec      *decoder
	chunks   int         // chunks seen, for messages; only the chunk handler touches it
	idle     *time.Timer // fails the stream after idleFor without a chunk; nil without one
	idleFor  time.Duration
}

func (in *inputCall) recv() (any, error) {
	select {
	case <-in.failed:
		return nil, in.err
	default:
	}
	select {
	case v, ok := <-in.values:
		if !ok {
			return nil, io.EOF
		}
		return v, nil
	case <-in.failed:
		return nil, in.err
	case <-in.ctx.Done():
		return nil, in.ctx.Err()
	}
}

// add decodes the value a chunk carries, if any, into the buffer. It
// returns an *ArgumentError for a chunk that does not fit, and
// ErrInputOverflow when the buffer is full.
func (in *inputCall) add(args wamp.List, kwargs wamp.Dict, first bool) error {
	n := in.chunks
	in.chunks++
	what := func() string { return "input chunk " + strconv.Itoa(n) } // only for errors: not per chunk
	switch {
	case len(args) > 1:
		return &ArgumentError{Index: -1, Msg: fmt.Sprintf("%s: want at most one value, got %d", what(), len(args))}
	case len(kwargs) > 0 && !first:
		return &ArgumentError{Index: -1, Msg: what() + ": keyword arguments are taken from the first chunk only"}
	case len(args) == 0:
		return nil
	}
	v := reflect.New(in.dec.typ)
	if err := in.dec.fn(args[0], v.Elem(), 0); err != nil {
		var ae *ArgumentError
		if errors.As(err, &ae) {
			msg := ae.Msg
			if ae.Path != "" {
				msg = "at " + ae.Path + ": " + msg
			}
			return &ArgumentError{Index: -1, Msg: what() + ": " + msg, Err: ae.Err}
		}
		return err
	}
	select {
	case in.values <- v.Interface():
		return nil
	default:
		return ErrInputOverflow
	}
}

// fail ends the stream with err, unless it has already failed.
func (in *inputCall) fail(err error) {
	in.failOnce.Do(func() {
		in.err = err
		close(in.failed)
	})
}

// watchIdle fails the stream after d without a chunk (0: never).
func (in *inputCall) watchIdle(d time.Duration) {
	if d > 0 {
		in.idleFor = d
		in.idle = time.AfterFunc(d, func() { in.fail(ErrInputIdle) })
	}
}

// chunk notes that a chunk arrived; final when it is the last.
func (in *inputCall) chunk(final bool) {
	if in.idle == nil {
		return
	}
	if final {
		in.idle.Stop()
	} else {
		in.idle.Reset(in.idleFor)
	}
}

// inputStreamCall is the state of one call of a procedure with an input
// stream, between its chunks.
type inputStreamCall struct {
	in *inputCall

	// failure is the call's answer once a chunk failed it (a value that
	// does not decode, an overflow); only the chunk handler touches it.
	failure *client.InvokeResult

	answer   client.InvokeResult // written before returned is closed
	returned chan struct{}       // closed when the function has returned
}

// streams are the calls with an input stream in progress on one
// registration, by INVOCATION request ID.
type streams struct {
	mu    sync.Mutex
	calls map[wamp.ID]*inputStreamCall
}

// invokeStream serves one chunk of a call of p, which takes an
// InputStream. nexus calls the handler once per chunk, in order, on one
// goroutine that must not block: the function runs on its own goroutine,
// started on the first chunk; a non-final chunk's value goes into the
// buffer and its handler call returns at once
// (InternalProgressiveOmitResult).
//
// The answer goes out with the caller's final chunk, whenever the function
// returns or the call fails: after an answer, the nexus v3.3.0 router
// takes the caller's next chunk (a CALL with the ended call's request ID)
// as the first chunk of a new call, which would run the function again on
// the rest of the stream, and whose answer, sent with the same request ID,
// can block a nexus caller's client for good. So a function that returns
// early, or a chunk that fails the call, makes the rest of the stream's
// values be dropped until the final chunk takes the answer.
func (p *procedure) invokeStream(ctx context.Context, c *client.Client, inv *wamp.Invocation, calls *callTracker, ss *streams) client.InvokeResult {
	progress, _ := inv.Details[wamp.OptProgress].(bool)
	final := !progress
	ss.mu.Lock()
	sc := ss.calls[inv.Request]
	ss.mu.Unlock()
	if sc == nil {
		if ctx.Err() != nil {
			// The call is over: interrupted, or its session gone. nexus
			// may still hand over a chunk it had queued (its handler
			// goroutine selects at random between the queue and the
			// context), whose call is forgotten by now: it must not
			// start the function again. nexus sends nothing for it.
			return client.InvokeResult{Err: wamp.ErrCanceled}
		}
		sc = p.startStream(ctx, c, inv, final, calls, ss)
	} else if sc.in.chunk(final); sc.failure == nil {
		select {
		case <-sc.returned:
			// The function has returned: the value is dropped.
		default:
			if err := sc.in.add(inv.Arguments, inv.ArgumentsKw, false); err != nil {
				sc.fail(err, p)
			} else if final {
				close(sc.in.values)
			}
		}
	}
	if !final {
		return client.InvokeResult{Err: wamp.InternalProgressiveOmitResult}
	}
	if sc.failure != nil {
		return *sc.failure
	}
	select {
	case <-sc.returned:
		return sc.answer
	case <-ctx.Done():
		// nexus has answered (canceled) or the session is gone.
		return client.InvokeResult{Err: wamp.ErrCanceled}
	}
}

// startStream starts a call on its first chunk, final when it is also the
// last: it takes the chunk's value and starts the function, which binds
// its other arguments from the chunk's keyword arguments. A first chunk
// that fails the call starts no function.
func (p *procedure) startStream(ctx context.Context, c *client.Client, inv *wamp.Invocation, final bool, calls *callTracker, ss *streams) *inputStreamCall {
	sc := &inputStreamCall{returned: make(chan struct{})}
	sc.in = &inputCall{
		values: make(chan any, p.input.buffer),
		failed: make(chan struct{}),
		dec:    p.input.dec,
		ctx:    ctx,
	}
	req := inv.Request
	ss.mu.Lock()
	if ss.calls == nil {
		ss.calls = map[wamp.ID]*inputStreamCall{}
	}
	ss.calls[req] = sc
	ss.mu.Unlock()
	// nexus cancels the call's context once it has answered (or the call
	// is interrupted, or the session ends): forget the call then.
	context.AfterFunc(ctx, func() {
		ss.mu.Lock()
		delete(ss.calls, req)
		ss.mu.Unlock()
	})
	if err := sc.in.add(inv.Arguments, inv.ArgumentsKw, true); err != nil {
		sc.fail(err, p)
		return sc
	}
	if final {
		close(sc.in.values)
	} else {
		sc.in.watchIdle(p.input.idle)
	}
	callCtx := ctx
	var tracked *trackedCall
	if calls != nil {
		tracked, callCtx = calls.start(ctx)
		sc.in.ctx = callCtx
	}
	wanted, _ := inv.Details[wamp.OptReceiveProgress].(bool)
	go func() {
		var res client.InvokeResult
		defer func() {
			sc.answer = res
			close(sc.returned)
			if tracked != nil {
				calls.returned(ctx, tracked)
			}
		}()
		growStack(0)
		res = p.respond(callCtx, c, inv, callInput{kwargs: inv.ArgumentsKw, inv: inv, progress: wanted, input: sc.in})
	}()
	return sc
}

// fail fails the call with err, an *ArgumentError or ErrInputOverflow:
// the function's Recv returns err, and the final chunk takes the ERROR.
func (sc *inputStreamCall) fail(err error, p *procedure) {
	res := errorResult(err, p.displayName())
	if errors.Is(err, ErrInputOverflow) {
		res = client.InvokeResult{Err: InputOverflowURI, Args: wamp.List{fmt.Sprintf(
			"%s: more than %d input values unread: the callee reads slower than the caller sends (WAMP has no flow control for call invocations)",
			p.displayName(), p.input.buffer)}}
	}
	sc.failure = &res
	sc.in.fail(err)
}
