package wampfn

// Serving a call (stage 5, while the function runs): ProgressSink, which
// turns each value sent into a progressive YIELD.

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// A ProgressSink sends progressive call results of type T for one
// invocation. A function receives one by declaring a parameter of type
// ProgressSink[T]; wampfn passes a sink bound to the invocation.
//
// Send is safe to call from several goroutines at once; the values that
// one goroutine sends reach the caller in the order it sent them. Once
// the function has returned, Send sends nothing and returns
// ErrInvocationDone, so no progressive result can follow the final one.
//
// The zero ProgressSink drops every value: Wanted reports false and Send
// returns nil.
type ProgressSink[T any] struct {
	st *sinkState
}

// Send sends v to the caller as one progressive result: a YIELD with
// Options.progress = true and Args [v] (or v's Args and Kwargs when T is
// Result). Values are converted as the function's return values are.
//
// Send blocks while the session's send queue is full; that is the
// backpressure of a slow caller. It returns
//   - nil, sending nothing, when the caller did not ask for progressive
//     results (see Wanted): a caller that did not ask must not get them;
//   - ctx.Err() of the invocation, wrapping context.Canceled or
//     context.DeadlineExceeded, once the call is cancelled (INTERRUPT, the
//     caller left, the timeout passed, or the router connection was lost),
//     so the function can stop;
//   - ErrInvocationDone after the function has returned;
//   - an error, sending nothing, when v cannot be converted to a WAMP
//     value (a NaN or an infinity, a value of a type that cannot be sent
//     behind an interface, a MarshalText that fails or panics: the panic
//     is recovered and logged, on whatever goroutine Send runs).
//
// When T is an interface type, v is sent by its dynamic type, as it would
// be if the function returned it with that type; Send(nil) sends [null].
func (s ProgressSink[T]) Send(v T) error {
	st := s.st
	if st == nil {
		return nil
	}
	if !st.wanted {
		return st.check()
	}
	return st.send(v)
}

// Wanted reports whether the caller asked for progressive results
// (CALL.Options.receive_progress). When it is false, Send drops values;
// a function can use it to skip computing them, as Autobahn's longop does.
func (s ProgressSink[T]) Wanted() bool {
	return s.st != nil && s.st.wanted
}

// NewProgressSink returns a sink that calls send for every value, for
// testing a function without a router. Wanted reports true. Send first
// converts v as a real sink does, and returns the same error for a value
// that cannot be sent (a NaN, say) without calling send; then it calls
// send, on the calling goroutine, and returns what it returns: send runs
// concurrently when Send is called concurrently. Send never returns
// ErrInvocationDone, since such a sink belongs to no invocation. A nil
// send drops every value.
func NewProgressSink[T any](send func(T) error) ProgressSink[T] {
	encode, err := valuesEncoder(reflect.TypeFor[T]())
	if err != nil {
		encode = func(any) (wamp.List, wamp.Dict, error) {
			return nil, nil, &encodeError{Msg: err.Error()}
		}
	}
	return ProgressSink[T]{st: &sinkState{
		ctx:    context.Background(), // never done: no invocation ends
		wanted: true,
		encode: encode,
		post: func(_ *sinkState, v any, _ wamp.List, _ wamp.Dict) error {
			if send == nil {
				return nil
			}
			// v is a T, or nil for a nil interface T: the two-value
			// assertion gives T's zero value for it.
			t, _ := v.(T)
			return send(t)
		},
	}}
}

// newValue returns a sink of s's type bound to st. Signature analysis
// calls it on the zero value of the parameter's type: the only way to
// build a generic type's value when the type is known only at run time.
func (ProgressSink[T]) newValue(st *sinkState) reflect.Value {
	return reflect.ValueOf(ProgressSink[T]{st: st})
}

// elemType returns T.
func (ProgressSink[T]) elemType() reflect.Type { return reflect.TypeFor[T]() }

// isProgressSink reports whether t is a ProgressSink[T]: a struct that
// embeds one has its methods too, but is not one.
func isProgressSink(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == sinkPkgPath && strings.HasPrefix(t.Name(), "ProgressSink[")
}

var sinkPkgPath = reflect.TypeFor[sinkState]().PkgPath()

// sinkType is implemented by every ProgressSink[T], and by the types that
// embed one.
type sinkType interface {
	newValue(*sinkState) reflect.Value
	elemType() reflect.Type
}

var sinkTypeType = reflect.TypeFor[sinkType]()

// sinkState is one invocation's progress channel.
type sinkState struct {
	c      *client.Client
	ctx    context.Context // the invocation's: SendProgress finds the call through it
	wanted bool
	encode func(v any) (wamp.List, wamp.Dict, error)
	// post delivers a value that encode converted: postProgress, or
	// NewProgressSink's function.
	post func(st *sinkState, v any, args wamp.List, kwargs wamp.Dict) error

	// done is set, under mu held for writing, when the function has
	// returned. Sends hold mu for reading, so the final YIELD waits for
	// the sends in flight and no send starts after it.
	mu   sync.RWMutex
	done atomic.Bool
}

// check returns what Send returns for a value it drops.
func (st *sinkState) check() error {
	if st.done.Load() {
		return ErrInvocationDone
	}
	select {
	case <-st.ctx.Done():
		return st.ctx.Err()
	default:
		return nil
	}
}

// newSinkState returns the progress channel of an invocation on c.
func newSinkState(ctx context.Context, c *client.Client, wanted bool, encode func(any) (wamp.List, wamp.Dict, error)) *sinkState {
	return &sinkState{c: c, ctx: ctx, wanted: wanted, encode: encode, post: postProgress}
}

func (st *sinkState) send(v any) error {
	if err := st.check(); err != nil {
		return err
	}
	args, kwargs, err := st.convert(v)
	if err != nil {
		return err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.done.Load() {
		return ErrInvocationDone
	}
	return st.post(st, v, args, kwargs)
}

// postProgress sends args and kwargs to the caller as a progressive
// result of st's invocation.
func postProgress(st *sinkState, _ any, args wamp.List, kwargs wamp.Dict) error {
	if err := sendProgress(st.ctx, st.c, args, kwargs); err != nil {
		if ctxErr := st.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("wampfn: send progress: %w", err)
	}
	return nil
}

// sendProgress is c.SendProgress, but a send that the client's closing
// ends with a panic is an error: nexus checks that the call is on, then
// sends on the session's channel, which Client.Close may close in between.
func sendProgress(ctx context.Context, c *client.Client, args wamp.List, kwargs wamp.Dict) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if !isSendOnClosed(r) {
				panic(r)
			}
			err = client.ErrNotConn
		}
	}()
	return c.SendProgress(ctx, args, kwargs)
}

// convert converts v for sending. Send may run on any goroutine the
// function started, where a panic in a method of v's type (MarshalText,
// Error) would end the process: it is recovered and logged, and Send
// returns an error.
func (st *sinkState) convert(v any) (args wamp.List, kwargs wamp.Dict, err error) {
	defer func() {
		if r := recover(); r != nil {
			if st.c == nil { // NewProgressSink's: nothing goes on a wire
				err = fmt.Errorf("wampfn: progress value: converting a %T panicked: %v", v, r)
				return
			}
			st.c.Logger().Printf("wampfn: panic while converting a progress value of type %T: %v\n%s", v, r, debug.Stack())
			err = fmt.Errorf("wampfn: progress value: converting a %T panicked (the callee logged it)", v)
		}
	}()
	args, kwargs, err = st.encode(v)
	if err != nil {
		return nil, nil, encodeFailure("wampfn: progress value", err)
	}
	return args, kwargs, nil
}

// finish marks the invocation answered, waiting for sends in flight.
func (st *sinkState) finish() {
	st.mu.Lock()
	st.done.Store(true)
	st.mu.Unlock()
}
