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

var errStreamOver = errors.New("wampfn: the call is over")

// callStream makes the call with client.CallProgressive, one chunk per
// element of seq ([v], progress: true), then a final empty chunk
// (progress: false). nexus v3.3.0 panics on a chunk after the first that
// leaves progress unset, and keeps asking for chunks after the call has
// ended: every chunk sets it, and once the call is over the chunk source
// answers with an error (nexus then sends a CANCEL that the router
// ignores) and stops the iterator.
func (b *binding) callStream(ctx context.Context, opts wamp.Dict, seq reflect.Value, onProgress client.ProgressHandler) (*wamp.Result, error) {
	src := &chunkSource{
		b: b, opts: opts, stop: func() {},
		lastAsked: make(chan struct{}),
		callOver:  make(chan struct{}),
	}
	if !seq.IsNil() {
		src.next, src.stop = iter.Pull(seq.Seq())
	}
	res, err := b.c.CallProgressive(ctx, b.procedure, src.send, onProgress)
	if own := src.callReturned(); own != nil {
		return nil, &streamError{own}
	}
	return res, err
}

// A chunkSource gives nexus's CallProgressive the chunks of one call, from
// the bound func's iter.Seq[T].
type chunkSource struct {
	b    *binding
	opts wamp.Dict // the first chunk's CALL options
	next func() (reflect.Value, bool)
	stop func()

	mu        sync.Mutex
	over      bool          // the stream or the call is over: no more chunks
	chunks    int           // chunks asked for
	ownErr    error         // an element that could not be sent
	ended     bool          // the source gave its last chunk or an error: nexus asks no more
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

// send is the chunk source nexus calls for each chunk.
func (s *chunkSource) send(ctx context.Context) (wamp.Dict, wamp.List, wamp.Dict, error) {
	if !s.b.c.Connected() {
		// nexus v3.3.0 sends whatever this returns (a chunk, or a
		// CANCEL for an error) on the session's channel, which a
		// closed client has closed: the send panics, in nexus's
		// goroutine, and takes the process down. Return nothing,
		// ever: that goroutine of nexus's is left behind instead.
		select {}
	}
	s.mu.Lock()
	first := s.chunks == 0
	if !first && !s.over && ctx.Err() != nil {
		// Cancelled: CallProgressive sends the CANCEL and waits for its
		// answer. An error from here would make nexus send a second
		// CANCEL now, whose answer, with the same request ID, can arrive
		// while nexus's client still waits on the first and block its
		// receive loop for good. Give it once the call has returned.
		s.mu.Unlock()
		<-s.callOver
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	s.chunks++
	if s.over {
		s.end()
		return nil, nil, nil, errStreamOver
	}
	if err := ctx.Err(); err != nil {
		s.end()
		return nil, nil, nil, err
	}
	chunkOpts := wamp.Dict{}
	if first {
		chunkOpts = s.opts
	}
	return s.nextChunk(chunkOpts)
}

// nextChunk returns the chunk of the stream's next element, with
// chunkOpts, or the final empty chunk. s.mu is held.
func (s *chunkSource) nextChunk(chunkOpts wamp.Dict) (wamp.Dict, wamp.List, wamp.Dict, error) {
	var v reflect.Value
	ok := false
	if s.next != nil {
		v, ok = s.next()
	}
	if !ok {
		s.over = true
		s.end()
		chunkOpts[wamp.OptProgress] = false
		return chunkOpts, nil, nil, nil
	}
	x, err := s.b.inputEnc.fn(v, 0)
	if err != nil {
		s.over = true
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
	s.stop()
	own := s.ownErr
	asked := s.chunks > 0 && !s.ended
	s.mu.Unlock()
	if asked {
		// The call ended before the stream did (cancelled, or answered):
		// nexus's chunk goroutine asks once more, gets errStreamOver and
		// sends a CANCEL. Let it, before returning: a client closed
		// meanwhile would make that send panic (see send).
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
