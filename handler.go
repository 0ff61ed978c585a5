package wampfn

// Serving a call (stage 2): the nexus invocation handler and the pipeline
// it runs, from an INVOCATION to its final YIELD or ERROR.

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// handler returns the nexus invocation handler that serves p through c.
// calls, when not nil, tracks each call for a Service's graceful
// shutdown.
func (p *procedure) handler(c *client.Client, calls *callTracker) client.InvocationHandler {
	if p.input.zero != nil {
		ss := &streams{}
		return func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
			return p.invokeStream(ctx, c, inv, calls, ss)
		}
	}
	var refused refusals
	return func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
		growStack(0)
		if prog, _ := inv.Details[wamp.OptProgress].(bool); prog || refused.pending.Load() > 0 && refused.has(inv.Request) {
			return p.refuseStream(ctx, inv, prog, &refused)
		}
		if calls != nil {
			call, callCtx := calls.start(ctx)
			defer calls.returned(ctx, call)
			ctx = callCtx
		}
		return p.invoke(ctx, c, inv)
	}
}

// refusals are the progressive call invocations that a procedure without
// an InputStream is refusing, by INVOCATION request ID.
type refusals struct {
	pending atomic.Int32 // len(ids), read without the lock on every call
	mu      sync.Mutex
	ids     map[wamp.ID]bool
}

func (r *refusals) has(req wamp.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[req]
}

// refuseStream answers a progressive call invocation of p, which takes no
// InputStream, with wamp.error.feature_not_supported, the spec's answer of
// a callee that cannot take one: with the caller's final chunk, as an
// InputStream's call answers (after an answer, the nexus router takes the
// caller's next chunk for a new call; see invokeStream). The chunks before
// it are dropped.
func (p *procedure) refuseStream(ctx context.Context, inv *wamp.Invocation, progress bool, r *refusals) client.InvokeResult {
	req := inv.Request
	r.mu.Lock()
	defer r.mu.Unlock()
	if progress {
		if !r.ids[req] {
			if r.ids == nil {
				r.ids = map[wamp.ID]bool{}
			}
			r.ids[req] = true
			r.pending.Add(1)
			// nexus ends the call's context once it is over (answered,
			// interrupted, or the session gone): forget it then.
			context.AfterFunc(ctx, func() {
				r.mu.Lock()
				defer r.mu.Unlock()
				if r.ids[req] {
					delete(r.ids, req)
					r.pending.Add(-1)
				}
			})
		}
		return client.InvokeResult{Err: wamp.InternalProgressiveOmitResult}
	}
	return client.InvokeResult{Err: wamp.ErrFeatureNotSupported, Args: wamp.List{
		p.displayName() + " takes no input stream: send its arguments in one call (progressive call invocations need an InputStream parameter)",
	}}
}

// stackReserve is the stack growStack makes room for: invoke, with
// reflect.Value.Call, needs more than 4 KiB; 4 KiB more takes the stack
// from 2 KiB to 8 KiB in one step.
const stackReserve = 4 << 10

// growStack grows the goroutine's stack, once and while it is shallow,
// so that it has stackReserve bytes free. nexus runs every invocation on
// a new goroutine whose stack starts at 2 KiB; left to itself, the stack
// grows inside reflect.Value.Call, once or twice, where many more frames
// are to be copied and adjusted (in a CPU profile of a small in-process
// call, runtime.copystack took 13% of all CPU time that way, 4-6% here).
//
//go:noinline
func growStack(i int) byte {
	var buf [stackReserve]byte
	return buf[i]
}

// invoke serves one invocation of a procedure without an input stream
// (handler refuses a progressive call invocation before).
func (p *procedure) invoke(ctx context.Context, c *client.Client, inv *wamp.Invocation) client.InvokeResult {
	wanted, _ := inv.Details[wamp.OptReceiveProgress].(bool)
	return p.respond(ctx, c, inv, callInput{args: inv.Arguments, kwargs: inv.ArgumentsKw, inv: inv, progress: wanted})
}

// respond runs a call and returns its answer. Without interceptors (p.run
// is nil) it calls the innermost stage directly; with them, it builds the
// Invocation they see, and the context that carries the call to the
// innermost stage, and runs the chain. Either way the outcome is mapped
// to the wire by errorResult, the one mapping.
func (p *procedure) respond(ctx context.Context, c *client.Client, inv *wamp.Invocation, in callInput) client.InvokeResult {
	var args wamp.List
	var kwargs wamp.Dict
	var err error
	if p.run == nil {
		args, kwargs, err = p.serve(ctx, c, in)
	} else {
		cc := &chainCall{Context: ctx, c: c, input: in.input}
		cc.inv = Invocation{Details: p.details(inv), Args: inv.Arguments, Kwargs: inv.ArgumentsKw, Progress: in.progress}
		cc.inv.Procedure = cc.inv.Details.Procedure
		var res Result
		if res, err = p.run(cc, &cc.inv); err == nil {
			// An interceptor may have replaced the result with Go values.
			if args, kwargs, err = res.encode(); err != nil {
				err = encodeFailure("result", err)
			}
		}
	}
	// Once the call is cancelled, nexus answers it with
	// wamp.error.canceled, but when the function returns at the same time
	// it may send the function's answer instead: answer as nexus does, so
	// that what the function returns after cancellation never reaches the
	// caller.
	if ctx.Err() != nil {
		return client.InvokeResult{Err: wamp.ErrCanceled}
	}
	if err != nil {
		return errorResult(err, p.displayName())
	}
	return client.InvokeResult{Args: args, Kwargs: kwargs}
}

// callInput is what the innermost stage takes of an invocation: from the
// nexus INVOCATION directly (inv), or from the Invocation the interceptors
// passed on (details).
type callInput struct {
	args     wamp.List
	kwargs   wamp.Dict
	inv      *wamp.Invocation // for Details, when details is nil
	details  *Details
	progress bool       // the caller asked for progressive results
	input    *inputCall // the input stream, for a procedure that takes one
}

// serve is the innermost stage: it takes a concurrency slot, binds the
// arguments, calls the function and encodes its results. It recovers a
// panic in any of these (a parameter type's UnmarshalText runs on what the
// caller sent), logs it with its stack and returns an error wrapping
// ErrPanic. When the call's context is done once the function returns,
// the outcome is the context's error, as a callCanceledError.
func (p *procedure) serve(ctx context.Context, c *client.Client, in callInput) (args wamp.List, kwargs wamp.Dict, err error) {
	var st *sinkState
	defer func() {
		if st != nil {
			st.finish()
		}
		if r := recover(); r != nil {
			args, kwargs, err = nil, nil, recovered(c, p.displayName(), r)
		}
	}()
	if p.limit != nil {
		if err := p.limit.acquire(ctx); err != nil {
			return nil, nil, callCanceledError{err}
		}
		defer p.limit.release()
	}
	// The parameter values live on the stack for most functions.
	var inBuf [8]reflect.Value
	var params []reflect.Value
	if n := len(p.kinds); n <= len(inBuf) {
		params = inBuf[:n]
	} else {
		params = make([]reflect.Value, n)
	}
	if p.input.zero != nil {
		// The positional arguments are the input stream's first value.
		in.args = nil
	}
	if err := p.bindArgs(in.args, in.kwargs, params); err != nil {
		return nil, nil, err
	}
	if p.sink.zero != nil {
		st = newSinkState(ctx, c, in.progress, p.sink.encode)
	}
	p.passParams(ctx, st, in, params)
	var out []reflect.Value
	if p.variadic {
		out = p.fn.CallSlice(params)
	} else {
		out = p.fn.Call(params)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, callCanceledError{err}
	}
	return p.answer(ctx, c, out, in.progress)
}

// passParams sets the parameters that take no WAMP argument: the
// context, the Details, the ProgressSink bound to st, the InputStream.
func (p *procedure) passParams(ctx context.Context, st *sinkState, in callInput, params []reflect.Value) {
	for i, k := range p.kinds {
		switch k {
		case paramContext:
			// A Value of interface type needs the interface in memory:
			// the sink's copy when there is one, else a new one.
			var ctxp *context.Context
			if st != nil {
				ctxp = &st.ctx
			} else {
				ctxp = new(context.Context)
				*ctxp = ctx
			}
			params[i] = reflect.ValueOf(ctxp).Elem()
		case paramDetails:
			if in.details != nil {
				params[i] = reflect.ValueOf(*in.details)
			} else {
				params[i] = reflect.ValueOf(p.details(in.inv))
			}
		case paramSink:
			params[i] = p.sink.zero.newValue(st)
		case paramInput:
			params[i] = p.input.zero.newInput(in.input)
		}
	}
}

// answer turns the function's return values out into the call's answer:
// an iterator's elements, as progressive results when the caller asked
// for progress; else the results or the function's error.
func (p *procedure) answer(ctx context.Context, c *client.Client, out []reflect.Value, progress bool) (wamp.List, wamp.Dict, error) {
	if p.iter.kind == iterNone {
		return p.result(out)
	}
	if p.hasErr {
		if ev := out[1]; !ev.IsNil() {
			return nil, nil, ev.Interface().(error)
		}
	}
	args, err := p.iterate(ctx, c, out[0], progress)
	return args, nil, err
}

// displayName is the procedure's name for messages: its URI, or its
// function's type for a Handler.
func (p *procedure) displayName() string {
	if p.name == "" {
		return p.fn.Type().String()
	}
	return p.name
}

// result turns the function's return values into the final result's
// Args and Kwargs, or the function's error.
func (p *procedure) result(out []reflect.Value) (wamp.List, wamp.Dict, error) {
	if p.hasErr {
		if ev := out[len(out)-1]; !ev.IsNil() {
			return nil, nil, ev.Interface().(error)
		}
	}
	if p.resultIsArgs {
		args, kwargs, err := out[0].Interface().(Result).encode()
		if err != nil {
			return nil, nil, encodeFailure("result", err)
		}
		return args, kwargs, nil
	}
	if len(p.results) == 0 {
		return nil, nil, nil
	}
	args := make(wamp.List, len(p.results))
	for i, enc := range p.results {
		var err error
		if args[i], err = enc.fn(out[i], 0); err != nil {
			return nil, nil, encodeFailure("result "+strconv.Itoa(i), err)
		}
	}
	return args, nil, nil
}
