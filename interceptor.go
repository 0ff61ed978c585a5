package wampfn

// Serving a call (stage 3): the interceptor chain around every call, for
// logging, metrics, traces, authorization, or control over the errors that
// leave the process. It is built once per procedure, with its plan; its
// innermost stage is the call itself (procedure.serve).

import (
	"context"
	"errors"
	"fmt"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// Invocation is one call as interceptors see it, before its arguments are
// decoded.
type Invocation struct {
	Procedure string    // the URI called (the full URI for a prefix or wildcard registration)
	Details   Details   // who called, and how
	Args      wamp.List // as the caller sent them
	Kwargs    wamp.Dict
	Progress  bool // the caller asked for progressive results
}

// InvokeFunc serves one call. The innermost InvokeFunc takes a
// concurrency slot (see WithConcurrency), decodes inv's Args and Kwargs
// into the function's parameters, calls the function and returns its
// results as a Result of plain WAMP values, or an error: the function's
// own; an *ArgumentError when the arguments do not fit; an error wrapping
// ErrPanic when the function or the decoding panicked; or, when the
// call's context ended first, an error wrapping the context's error.
// Progressive results go out through the function's ProgressSink while it
// runs.
type InvokeFunc func(ctx context.Context, inv *Invocation) (Result, error)

// An Interceptor wraps the InvokeFunc of the procedures it is given to
// (see WithInterceptors): it returns a function that does its work around
// a call of next, or instead of it. It may call next with a changed
// Invocation, or with a ctx derived from its own (which carries the call:
// another ctx ends the call with an error), return without calling next
// (the function then never runs), or replace next's Result or error. What
// the outermost interceptor returns goes on the wire: a Result's values
// are converted as a function's results are, an error is mapped by
// ErrorURI. A panic in an interceptor is recovered like one in the
// function: the interceptors outside it see an error wrapping ErrPanic,
// and the caller gets wamp.error.runtime_error.
//
// An Interceptor is called once for each procedure it is given to, when
// the procedure is analysed (by Register, RegisterMethods, Handler or
// Service.Register): the function it returns serves every call of that
// procedure, on every connection of a Service, concurrently.
type Interceptor func(next InvokeFunc) InvokeFunc

// chain builds p's interceptor chain around the innermost stage, the
// first interceptor outermost, calling each interceptor once; every
// interceptor's function recovers its own panics. It returns an error for
// an interceptor that panics when given its next or returns a nil one.
func (p *procedure) chain() (InvokeFunc, error) {
	name := p.displayName()
	run := p.innermost
	for i := len(p.interceptors) - 1; i >= 0; i-- {
		next, err := wrap(p.interceptors[i], run)
		if err != nil {
			return nil, fmt.Errorf("interceptor %d: %w", i, err)
		}
		if next == nil {
			return nil, fmt.Errorf("interceptor %d returned a nil InvokeFunc", i)
		}
		run = recovering(fmt.Sprintf("interceptor %d of %s", i, name), next)
	}
	return run, nil
}

// innermost is the innermost stage of the chain: the call itself, on the
// client and the input stream of the call that ctx carries.
func (p *procedure) innermost(ctx context.Context, inv *Invocation) (Result, error) {
	cc, ok := ctx.Value(chainCallKey{}).(*chainCall)
	if !ok {
		return Result{}, errors.New("wampfn: an interceptor called its next InvokeFunc with a context not derived from its own")
	}
	args, kwargs, err := p.serve(ctx, cc.c, callInput{args: inv.Args, kwargs: inv.Kwargs, details: &inv.Details, progress: inv.Progress, input: cc.input})
	return Result{Args: args, Kwargs: kwargs}, err
}

// A chainCall is one call through the interceptor chain: the context
// that the chain's functions pass on, carrying what the chain, built once
// per procedure, does not hold (the call's client and input stream), and
// the Invocation they see; one allocation for both.
type chainCall struct {
	context.Context // the invocation's
	c               *client.Client
	input           *inputCall
	inv             Invocation
}

type chainCallKey struct{}

func (cc *chainCall) Value(key any) any {
	if key == (chainCallKey{}) {
		return cc
	}
	return cc.Context.Value(key)
}

// clientOf returns the client of the call that ctx carries, or nil.
func clientOf(ctx context.Context) *client.Client {
	if cc, ok := ctx.Value(chainCallKey{}).(*chainCall); ok {
		return cc.c
	}
	return nil
}

// wrap calls ic with next, returning a panic as an error.
func wrap(ic Interceptor, next InvokeFunc) (f InvokeFunc, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked when given its next InvokeFunc: %v", r)
		}
	}()
	return ic(next), nil
}

// recovering returns f with its panics recovered, logged to the call's
// client's logger, and returned as an error wrapping ErrPanic.
func recovering(where string, f InvokeFunc) InvokeFunc {
	return func(ctx context.Context, inv *Invocation) (res Result, err error) {
		defer func() {
			if r := recover(); r != nil {
				res, err = Result{}, recovered(clientOf(ctx), where, r)
			}
		}()
		return f(ctx, inv)
	}
}
