package wampfn

// Calling: streaming typed callers, a bound func that sends its input as a
// stream (an iter.Seq[T] parameter: progressive call invocations), or
// returns its results as one (an iter.Seq2[T, error] result: progressive
// results).

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// streamError is an error of the bound func's own making while it sent
// its input stream (an element that cannot be sent): it is the call's
// outcome, not the CANCEL that it made nexus send.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }

// callStream makes the call with client.CallProgressive, one chunk per
// element of seq ([v], progress: true), then a final empty chunk
// (progress: false). It works around three things nexus v3.3.0 does (see
// chunkSource): it panics on a chunk after the first that leaves progress
// unset, so every chunk sets it; its goroutine that sends the chunks
// after the first keeps asking once the call has ended, and sends
// whatever it gets on the client's channel, which panics once the client
// has closed; and that goroutine and the one that sends the CANCEL do not
// wait for each other, so a chunk could follow the CANCEL, and the
// router would take it for the first chunk of a new call.
func (b *binding) callStream(ctx context.Context, opts wamp.Dict, seq reflect.Value, onProgress client.ProgressHandler) (*wamp.Result, error) {
	src := &chunkSource{
		b: b, opts: opts, stop: func() {}, ctx: ctx,
		lastAsked: make(chan struct{}),
		callOver:  make(chan struct{}),
	}
	if !seq.IsNil() {
		src.next, src.stop = iter.Pull(seq.Seq())
	}
	// nexus sends the CANCEL when callCtx ends, which src makes it do
	// only when no chunk is on its way (see cancelled).
	callCtx, cancelCall := context.WithCancel(context.WithoutCancel(ctx))
	src.cancelCall = cancelCall
	stopWatch := context.AfterFunc(ctx, src.cancelled)
	res, err := b.c.CallProgressive(callCtx, b.procedure, src.send, onProgress)
	stopWatch()
	cancelCall()
	if own := src.callReturned(); own != nil {
		return nil, &streamError{own}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = ctx.Err() // the caller's, a deadline's too
	}
	return res, err
}

// A chunkSource gives nexus's CallProgressive the chunks of one call, from
// the bound func's iter.Seq[T]. nexus asks for the first chunk on the
// goroutine that called CallProgressive and sends it before it waits for
// the answer; it asks for the others on a goroutine of its own (the chunk
// goroutine), which sends each chunk when send returns it, then asks for
// the next one, until a chunk is final or send returns an error.
type chunkSource struct {
	b          *binding
	opts       wamp.Dict // the first chunk's CALL options
	next       func() (reflect.Value, bool)
	stop       func()
	ctx        context.Context    // the caller's
	cancelCall context.CancelFunc // makes nexus send the CANCEL

	mu        sync.Mutex
	chunks    int  // chunks asked for
	onTheWay  bool // a chunk after the first is returned and nexus has not asked again: it may not be sent yet
	producing bool // the chunk goroutine is in pull, without mu
	over      bool // CallProgressive has returned
	ended     bool // nexus asks for no more chunks
	ownErr    error
	lastAsked chan struct{} // closed when ended becomes true
	callOver  chan struct{} // closed when CallProgressive has returned
}

// end records that nexus asks for no more chunks. s.mu is held.
func (s *chunkSource) end() {
	if !s.ended {
		s.ended = true
		close(s.lastAsked)
	}
}

// cancelled runs when the caller's context ends. nexus sends the CANCEL
// at once, unless a chunk is on its way: then send has the CANCEL sent
// when nexus asks for the next chunk, which it does after it sent that
// one, so that the router gets the chunk first.
func (s *chunkSource) cancelled() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.onTheWay {
		s.cancelCall()
	}
}

// send is the chunk source nexus calls for each chunk.
func (s *chunkSource) send(context.Context) (wamp.Dict, wamp.List, wamp.Dict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks++
	if s.chunks == 1 {
		if err := s.ctx.Err(); err != nil {
			s.end()
			return nil, nil, nil, err // CallProgressive returns it, sending nothing
		}
		return s.chunk(s.pull())
	}
	s.onTheWay = false // nexus asks again: the chunk before is sent
	if !s.stopped() {
		s.producing = true
		s.mu.Unlock()
		v, ok := s.pull()
		s.mu.Lock()
		s.producing = false
		if !s.stopped() {
			return s.chunk(v, ok)
		}
		if s.over {
			s.stop() // callReturned left it to this goroutine
		}
	}
	s.exit()
	panic("unreachable")
}

// stopped reports whether the chunk goroutine is to send no more chunks:
// the caller's context ended (checked here, not only in cancelled, which
// runs on a goroutine of its own: a chunk sent meanwhile would be one the
// caller no longer wants), the call is over or the client closed. s.mu is
// held.
func (s *chunkSource) stopped() bool {
	return s.ctx.Err() != nil || s.over || !s.b.c.Connected()
}

// exit ends the chunk goroutine once the call is cancelled, over, or its
// client closed: anything send returned would be sent on a channel that
// is closed, or may be by the time nexus sends, and a chunk after the
// CANCEL would start a new call. For a cancelled call it has nexus send
// the CANCEL. It ends the goroutine when CallProgressive has returned,
// unless the client closed (nexus then returns ErrNotConn). s.mu is held;
// Goexit runs send's deferred unlock.
func (s *chunkSource) exit() {
	if s.ctx.Err() != nil {
		s.cancelCall() // no chunk is on its way: nexus sends the CANCEL now
	}
	if !s.over && s.b.c.Connected() {
		s.mu.Unlock()
		<-s.callOver
		s.mu.Lock()
	}
	s.end()
	runtime.Goexit()
}

// pull returns the stream's next element; ok is false at its end.
func (s *chunkSource) pull() (v reflect.Value, ok bool) {
	if s.next == nil {
		return v, false
	}
	return s.next()
}

// chunk returns the chunk of element v, or the final empty chunk if ok is
// false, with s.opts for the first chunk and fresh options for the
// others. An element that does not encode ends the call: nexus sends a
// CANCEL (kill, no wait) for the error. s.mu is held.
func (s *chunkSource) chunk(v reflect.Value, ok bool) (wamp.Dict, wamp.List, wamp.Dict, error) {
	chunkOpts := wamp.Dict{}
	if s.chunks == 1 {
		chunkOpts = s.opts
	}
	if !ok {
		s.end()
		chunkOpts[wamp.OptProgress] = false
		return chunkOpts, nil, nil, nil
	}
	// After the first, a chunk or, for an error, nexus's CANCEL is on its
	// way: the caller's context must not have a CANCEL sent before it.
	s.onTheWay = s.chunks > 1
	x, err := s.b.inputEnc.fn(v, 0)
	if err != nil {
		s.end()
		s.ownErr = encodeFailure(fmt.Sprintf("wampfn: call %s: input element %d", s.b.procedure, s.chunks-1), err)
		return nil, nil, nil, s.ownErr
	}
	chunkOpts[wamp.OptProgress] = true
	return chunkOpts, wamp.List{x}, nil, nil
}

// callReturned ends the stream once CallProgressive has returned, and
// returns the error of an element that could not be sent, if any.
func (s *chunkSource) callReturned() error {
	close(s.callOver)
	s.mu.Lock()
	s.over = true
	if !s.producing {
		s.stop() // else the chunk goroutine stops it, once out of pull
	}
	own := s.ownErr
	asked := s.chunks > 0 && !s.ended
	s.mu.Unlock()
	if asked {
		// The call ended before the stream did (cancelled, or answered):
		// nexus's chunk goroutine asks once more and ends there (see
		// exit). Wait for that, so that no goroutine of the call's
		// outlives it, unless the stream's iterator holds it.
		t := time.NewTimer(time.Second)
		select {
		case <-s.lastAsked:
		case <-t.C:
		}
		t.Stop()
	}
	return own
}

// outputSeq returns the iter.Seq2[T, error] that a bound func returns:
// ranging over it makes the call, asking for progressive results, and
// yields each of them decoded as T; then the elements of a final result
// that is one list (a callee that did not stream), or nothing for an
// empty final result. An ERROR, or a result that does not decode, is
// yielded as the last element's error. Breaking out of the loop cancels
// the call.
func (b *binding) outputSeq(ctx context.Context, opts wamp.Dict, args wamp.List, in []reflect.Value) reflect.Value {
	seqType := b.typ.Out(0)
	return reflect.MakeFunc(seqType, func(yv []reflect.Value) []reflect.Value {
		b.runOutput(ctx, opts, args, in, yv[0])
		return nil
	})
}

// runOutput is one range over the iterator that outputSeq returns, whose
// loop body is yieldFn: it makes the call, yields each progressive result,
// then the outcome.
func (b *binding) runOutput(ctx context.Context, opts wamp.Dict, args wamp.List, in []reflect.Value, yieldFn reflect.Value) {
	o := &outputRun{b: b, yieldFn: yieldFn}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also when the loop stops early: the call is cancelled
	call := b.startOutputCall(ctx, opts, args, in)
	if !o.progressive(call.results) {
		return
	}
	<-call.done
	if call.err != nil {
		var se *streamError
		if errors.As(call.err, &se) {
			o.yield(reflect.Value{}, se.err)
			return
		}
		o.yield(reflect.Value{}, b.callError(ctx, call.err))
		return
	}
	o.final(call.res)
}

// An outputCall is the call that an output iterator's range makes, on a
// goroutine of its own.
type outputCall struct {
	results chan *wamp.Result // the progressive results; closed when the call has returned
	done    chan struct{}     // closed when the call has returned
	res     *wamp.Result      // written before done is closed
	err     error             // written before done is closed
}

// startOutputCall starts the call of an output iterator.
func (b *binding) startOutputCall(ctx context.Context, opts wamp.Dict, args wamp.List, in []reflect.Value) *outputCall {
	call := &outputCall{results: make(chan *wamp.Result, 16), done: make(chan struct{})}
	go func() {
		defer close(call.done)
		defer close(call.results) // the progress handler is not called after the call returns
		onProgress := func(r *wamp.Result) {
			select {
			case call.results <- r:
			case <-ctx.Done():
			}
		}
		if b.input >= 0 {
			call.res, call.err = b.callStream(ctx, opts, in[b.input], onProgress)
		} else {
			call.res, call.err = b.c.Call(ctx, b.procedure, opts, args, nil, onProgress)
		}
	}()
	return call
}

// An outputRun yields an output iterator's elements to its range loop.
type outputRun struct {
	b       *binding
	yieldFn reflect.Value // the loop body: func(T, error) bool
}

// yield calls the loop body with v (T's zero value when invalid) and err,
// and reports whether the loop goes on.
func (o *outputRun) yield(v reflect.Value, err error) bool {
	if !v.IsValid() {
		v = reflect.Zero(o.b.output.typ)
	}
	e := reflect.New(errorType).Elem()
	if err != nil {
		e.Set(reflect.ValueOf(err))
	}
	return o.yieldFn.Call([]reflect.Value{v, e})[0].Bool()
}

// decode decodes src, what ("progressive result 3") as T.
func (o *outputRun) decode(src any, what string) (reflect.Value, error) {
	v := reflect.New(o.b.output.typ).Elem()
	if err := o.b.output.fn(src, v, 0); err != nil {
		return reflect.Value{}, fmt.Errorf("wampfn: call %s: %w", o.b.procedure, asResultError(err, what))
	}
	return v, nil
}

// progressive yields each progressive result, and reports whether the
// loop goes on: false when it stopped, or after the error of a result
// that does not decode.
func (o *outputRun) progressive(results <-chan *wamp.Result) bool {
	n := 0
	for r := range results {
		what := "progressive result " + strconv.Itoa(n)
		n++
		if len(r.Arguments) != 1 {
			o.yield(reflect.Value{}, fmt.Errorf("wampfn: call %s: %s: want one value, got %d", o.b.procedure, what, len(r.Arguments)))
			return false
		}
		v, err := o.decode(r.Arguments[0], what)
		if err != nil {
			o.yield(reflect.Value{}, err)
			return false
		}
		if !o.yield(v, nil) {
			return false
		}
	}
	return true
}

// final yields what the final result carries: nothing when it is empty,
// the elements of one list (a callee that did not stream), or else an
// error.
func (o *outputRun) final(res *wamp.Result) {
	switch {
	case len(res.Arguments) == 0:
		return
	case len(res.Arguments) == 1:
		if l, ok := listOf(res.Arguments[0]); ok {
			for i, x := range l {
				v, err := o.decode(x, "result 0 element "+strconv.Itoa(i))
				if err != nil {
					o.yield(reflect.Value{}, err)
					return
				}
				if !o.yield(v, nil) {
					return
				}
			}
			return
		}
	}
	o.yield(reflect.Value{}, fmt.Errorf("wampfn: call %s: final result: want nothing, or one list of the elements, got %d values (%s)",
		o.b.procedure, len(res.Arguments), describe(res.Arguments[0])))
}
