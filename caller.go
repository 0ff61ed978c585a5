package wampfn

// Calling: typed callers, a Go func, built once with reflect.MakeFunc, that
// calls a procedure. Arguments go out through the encoders that send a
// callee's results, and results come back through the decoders that take a
// callee's arguments, so a value makes the round trip Go -> WAMP -> Go
// unchanged (but for what the wire cannot carry: a time's monotonic
// reading and location name, for example).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// Bind sets the func that fnPtr points to to one that calls procedure on
// c, built once, here:
//
//	var longop func(ctx context.Context, n int, progress func(int)) (int, error)
//	err := wampfn.Bind(c, "com.myapp.longop", &longop)
//	n, err := longop(ctx, 3, func(i int) { fmt.Println("progress", i) })
//
// Parameters: an optional leading context.Context; then the arguments,
// each sent as wampfn sends a result of its type (a struct as a dict keyed
// as encoding/json keys it, []byte as binary), a trailing variadic
// parameter spreading its values; and at most one parameter of type
// func(P), anywhere, which receives each progressive result decoded
// strictly as P on the client's goroutine (its presence asks for
// progressive results; it must not block for long, since the client
// delivers nothing else meanwhile).
//
// The context's cancellation cancels the call (a CANCEL in the client's
// cancel mode, which nexus sets per client: c.SetCallCancelMode; kill lets
// the callee answer, killnowait, nexus's default, does not wait), and its
// deadline sets CALL.Options.timeout.
//
// Results: error last; before it, zero or more values decoded strictly
// from the RESULT's positional arguments, exactly as many as there are
// values, with the decoders that take a callee's arguments (an integral
// float fits an int, 1.5 does not, an overflow does not); or a Result
// alone, which gives the Args and Kwargs as they arrived.
//
// Errors the bound func returns:
//   - an ERROR from the callee or the router: an error for which
//     errors.As(err, &e) with e an *Error gives its URI, Args and Kwargs;
//   - the call cancelled by its context: an error wrapping
//     context.Canceled; its deadline passed: one wrapping
//     context.DeadlineExceeded, whichever fires first, the context or the
//     router's wamp.error.timeout (which the error wraps too);
//   - a result, or a progressive result, that does not decode: an error
//     naming it, like "result 0: cannot use string "x" as int" (after a
//     progressive result that does not decode, the call is cancelled);
//   - an argument that cannot be sent (a NaN): an error naming it; nothing
//     is sent.
//
// Bind returns an error wrapping ErrSignature, naming the procedure, the
// position and the type, for a fnPtr that is not a non-nil pointer to a
// func, a func without a trailing error, a context.Context that is not
// first, a func parameter that is not func(P), two of them, or a
// parameter or result type that wampfn cannot send or decode.
func Bind(c *client.Client, procedure string, fnPtr any, opts ...CallOption) error {
	var cfg callConfig
	for _, o := range opts {
		o.applyCall(&cfg)
	}
	target, err := funcTarget(procedure, fnPtr)
	if err != nil {
		return err
	}
	b, err := newBinding(c, procedure, target.Type(), &cfg, "")
	if err != nil {
		return err
	}
	target.Set(b.makeFunc())
	return nil
}

// BindAll binds, as Bind does, every exported field of func type of the
// struct that structPtr points to: to prefix + the field's name in snake
// case (LongOp: long_op, as RegisterMethods names methods), or prefix +
// name for a field tagged `wamp:"name"`. A field tagged `wamp:"-"` is left
// alone, unexported fields are ignored, and any other exported field is
// an error. It binds all of them or none: an error (a field that cannot be
// bound, two fields with one URI) leaves every field as it was.
func BindAll(c *client.Client, prefix string, structPtr any, opts ...CallOption) error {
	var cfg callConfig
	for _, o := range opts {
		o.applyCall(&cfg)
	}
	v := reflect.ValueOf(structPtr)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: bind all %s: want a non-nil pointer to a struct, got %T", ErrSignature, prefix, structPtr)
	}
	v = v.Elem()
	t := v.Type()
	type field struct {
		index int
		b     *binding
	}
	var fields []field
	uris := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, tagged := f.Tag.Lookup("wamp")
		if tag == "-" {
			continue
		}
		if f.Type.Kind() != reflect.Func {
			return fmt.Errorf("%w: bind all %s: field %s of %s is a %s, not a func: tag it `wamp:\"-\"` or unexport it", ErrSignature, prefix, f.Name, t, f.Type)
		}
		name := snakeCase(f.Name)
		if tagged {
			if tag == "" {
				return fmt.Errorf("%w: bind all %s: field %s of %s has an empty wamp tag", ErrSignature, prefix, f.Name, t)
			}
			name = tag
		}
		uri := prefix + name
		if other, dup := uris[uri]; dup {
			return fmt.Errorf("%w: bind all %s: fields %s and %s of %s both map to %s", ErrSignature, prefix, other, f.Name, t, uri)
		}
		uris[uri] = f.Name
		b, err := newBinding(c, uri, f.Type, &cfg, fmt.Sprintf("field %s of %s", f.Name, t))
		if err != nil {
			return err
		}
		fields = append(fields, field{index: i, b: b})
	}
	for _, f := range fields {
		v.Field(f.index).Set(f.b.makeFunc())
	}
	return nil
}

// funcTarget returns the func that fnPtr points to, settable.
func funcTarget(procedure string, fnPtr any) (reflect.Value, error) {
	v := reflect.ValueOf(fnPtr)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Func {
		return reflect.Value{}, fmt.Errorf("%w: bind %s: want a non-nil pointer to a func, got %T", ErrSignature, procedure, fnPtr)
	}
	return v.Elem(), nil
}

// callArg is the plan for one argument parameter of a bound func.
type callArg struct {
	in       int
	enc      *encoder
	variadic bool
}

// binding is the plan of a bound func, made once by newBinding.
type binding struct {
	c            *client.Client
	procedure    string
	where        string // "field GetItem of main.Shop" for BindAll; "" for Bind
	typ          reflect.Type
	hasCtx       bool
	args         []callArg
	progress     int // the index of the func(P) parameter, or -1
	progressDec  *decoder
	progressRaw  bool       // P is Result
	results      []*decoder // one per value before the error
	resultIsArgs bool
	input        int       // the index of the iter.Seq[T] parameter, or -1
	inputEnc     *encoder  // of T
	output       *decoder  // of T, when the bound func returns an iter.Seq2[T, error]
	options      wamp.Dict // CALL.Options but for timeout, copied per call
	timeout      time.Duration
}

// newBinding analyses t, the type of a func that calls procedure on c,
// where says which field of BindAll's struct it is: its parameters, then
// its results.
func newBinding(c *client.Client, procedure string, t reflect.Type, cfg *callConfig, where string) (*binding, error) {
	b := &binding{c: c, procedure: procedure, where: where, typ: t, progress: -1, input: -1, timeout: cfg.timeout}
	if c == nil {
		return nil, fmt.Errorf("wampfn: %s: nil client", b.what())
	}
	b.options = maps.Clone(cfg.options)
	if cfg.discloseMe {
		if b.options == nil {
			b.options = wamp.Dict{}
		}
		b.options[wamp.OptDiscloseMe] = true
	}
	for i := range t.NumIn() {
		if err := b.planParam(i, t.In(i), t.IsVariadic() && i == t.NumIn()-1); err != nil {
			return nil, err
		}
	}
	if b.input >= 0 && len(b.args) > 0 {
		return nil, b.unsupported("parameter %d (%s): a bound func with an input stream takes no other arguments: the stream's values are the positional arguments of its chunks", b.args[0].in, t.In(b.args[0].in))
	}
	if err := b.planResults(t); err != nil {
		return nil, err
	}
	return b, nil
}

// what names the binding in errors: "bind URI", with the field for
// BindAll.
func (b *binding) what() string {
	if b.where != "" {
		return "bind " + b.procedure + " (" + b.where + ")"
	}
	return "bind " + b.procedure
}

// unsupported returns the error for a signature b cannot bind.
func (b *binding) unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSignature, b.what(), fmt.Sprintf(format, args...))
}

// planParam plans parameter i of type pt, the variadic one when
// variadic: the context, an input stream, the progress func, or an
// argument.
func (b *binding) planParam(i int, pt reflect.Type, variadic bool) error {
	elem, kind, isSeq := seqType(pt)
	switch {
	case pt == contextType:
		if i != 0 {
			return b.unsupported("parameter %d (context.Context): the context must be the first parameter", i)
		}
		b.hasCtx = true
	case isSeq:
		if kind != iterSeq {
			return b.unsupported("parameter %d (%s): an input stream parameter must be an iter.Seq[T]", i, pt)
		}
		if b.input >= 0 {
			return b.unsupported("parameter %d (%s): a bound func takes at most one input stream", i, pt)
		}
		enc, err := encoderFor(elem)
		if err != nil {
			return b.unsupported("parameter %d (%s): its elements cannot be sent as WAMP values: %v", i, pt, err)
		}
		b.input, b.inputEnc = i, enc
	case pt.Kind() == reflect.Func && !variadic:
		return b.planProgress(i, pt)
	default:
		et := pt
		if variadic {
			et = pt.Elem()
		}
		enc, err := encoderFor(et)
		if err != nil {
			return b.unsupported("parameter %d (%s) cannot be sent as a WAMP value: %v", i, pt, err)
		}
		b.args = append(b.args, callArg{in: i, enc: enc, variadic: variadic})
	}
	return nil
}

// planProgress plans parameter i, of type pt, a func(P) that receives
// each progressive result.
func (b *binding) planProgress(i int, pt reflect.Type) error {
	if pt.NumIn() != 1 || pt.NumOut() != 0 || pt.IsVariadic() {
		return b.unsupported("parameter %d (%s): a func parameter must be a func(P), which receives each progressive result", i, pt)
	}
	if b.progress >= 0 {
		return b.unsupported("parameter %d (%s): a bound func takes at most one progress func", i, pt)
	}
	b.progress = i
	if pt.In(0) == resultType {
		b.progressRaw = true
		return nil
	}
	dec, err := decoderFor(pt.In(0))
	if err != nil {
		return b.unsupported("parameter %d (%s): progressive results cannot be decoded as %s: %v", i, pt, pt.In(0), err)
	}
	b.progressDec = dec
	return nil
}

// planResults plans the results of t: an iter.Seq2[T, error] alone, or
// values (or a Result) and an error.
func (b *binding) planResults(t reflect.Type) error {
	n := t.NumOut()
	if n == 1 {
		if elem, kind, ok := seqType(t.Out(0)); ok {
			if kind != iterSeq2 {
				return b.unsupported("result 0 (%s): a bound func returns an iter.Seq2[T, error], or values and an error", t.Out(0))
			}
			if b.progress >= 0 {
				return b.unsupported("parameter %d (%s): a bound func that returns an iterator gets its progressive results from it, not from a func", b.progress, t.In(b.progress))
			}
			dec, err := decoderFor(elem)
			if err != nil {
				return b.unsupported("result 0 (%s): its elements cannot be decoded from WAMP values: %v", t.Out(0), err)
			}
			b.output = dec
			return nil
		}
	}
	if n == 0 || t.Out(n-1) != errorType {
		return b.unsupported("%s: the last result must be error, which reports a failed call", t)
	}
	for i := range n - 1 {
		rt := t.Out(i)
		switch {
		case rt == errorType:
			return b.unsupported("result %d (error): error must be the last result", i)
		case rt == resultType && n != 2:
			return b.unsupported("result %d (wampfn.Result): a Result must be the only result besides the error", i)
		case rt == resultType:
			b.resultIsArgs = true
		default:
			dec, err := decoderFor(rt)
			if err != nil {
				return b.unsupported("result %d (%s) cannot be decoded from a WAMP value: %v", i, rt, err)
			}
			b.results = append(b.results, dec)
		}
	}
	return nil
}

// makeFunc builds the bound func.
func (b *binding) makeFunc() reflect.Value {
	return reflect.MakeFunc(b.typ, b.boundFunc)
}

// boundFunc is the body of the bound func.
func (b *binding) boundFunc(in []reflect.Value) []reflect.Value {
	ctx := context.Background()
	if b.hasCtx {
		if c, ok := in[0].Interface().(context.Context); ok && c != nil {
			ctx = c
		}
	}
	args, err := b.encodeArgs(in)
	if err != nil {
		return b.fail(err)
	}
	opts, err := b.callOptions(ctx)
	if err != nil {
		return b.fail(err)
	}
	if b.output != nil {
		return []reflect.Value{b.outputSeq(ctx, opts, args, in)}
	}
	if b.progress >= 0 || b.input >= 0 {
		return b.callProgressive(ctx, opts, args, in)
	}
	res, err := b.c.Call(ctx, b.procedure, opts, args, nil, nil)
	if err != nil {
		return b.fail(b.callError(ctx, err))
	}
	return b.decodeResults(res)
}

// callOptions returns the CALL's options for a call with ctx: the bound
// options, and the timeout, the sooner of WithCallTimeout's and ctx's
// deadline; an error wrapping context.DeadlineExceeded when that has
// passed.
func (b *binding) callOptions(ctx context.Context) (wamp.Dict, error) {
	timeout := b.timeout
	if deadline, ok := ctx.Deadline(); ok {
		d := time.Until(deadline)
		if d <= 0 {
			return nil, b.callError(ctx, context.DeadlineExceeded)
		}
		if timeout <= 0 || d < timeout {
			timeout = d
		}
	}
	// nexus writes receive_progress into the options: a copy per call
	// when they have anything to carry, else none.
	var opts wamp.Dict
	if len(b.options) > 0 || timeout > 0 || b.progress >= 0 || b.input >= 0 || b.output != nil {
		opts = make(wamp.Dict, len(b.options)+2)
		maps.Copy(opts, b.options)
	}
	if timeout > 0 {
		// Rounded up: a timeout of 0 would mean none.
		opts[wamp.OptTimeout] = int64((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	return opts, nil
}

// callProgressive makes a call that asks for progressive results, or
// sends its input as a stream, and returns the bound func's results. A
// progressive result that does not decode cancels the call and is its
// outcome.
func (b *binding) callProgressive(ctx context.Context, opts wamp.Dict, args wamp.List, in []reflect.Value) []reflect.Value {
	var onProgress client.ProgressHandler
	var progressErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if b.progress >= 0 {
		deliver := b.progressFunc(in[b.progress])
		onProgress = func(r *wamp.Result) {
			if progressErr != nil || deliver == nil {
				return
			}
			if err := deliver(r); err != nil {
				progressErr = fmt.Errorf("wampfn: call %s: %w", b.procedure, err)
				cancel()
			}
		}
	}
	var res *wamp.Result
	var err error
	if b.input >= 0 {
		res, err = b.callStream(ctx, opts, in[b.input], onProgress)
	} else {
		res, err = b.c.Call(ctx, b.procedure, opts, args, nil, onProgress)
	}
	if progressErr != nil {
		// The call has returned: the handler is done with progressErr.
		return b.fail(progressErr)
	}
	if err != nil {
		var se *streamError
		if errors.As(err, &se) {
			return b.fail(se.err)
		}
		return b.fail(b.callError(ctx, err))
	}
	return b.decodeResults(res)
}

// encodeArgs converts the argument parameters' values into the CALL's
// positional arguments.
func (b *binding) encodeArgs(in []reflect.Value) (wamp.List, error) {
	args := make(wamp.List, 0, len(b.args))
	for j, a := range b.args {
		v := in[a.in]
		if !a.variadic {
			x, err := a.enc.fn(v, 0)
			if err != nil {
				return nil, encodeFailure(fmt.Sprintf("wampfn: call %s: argument %d", b.procedure, j), err)
			}
			args = append(args, x)
			continue
		}
		for k := range v.Len() {
			x, err := a.enc.fn(v.Index(k), 0)
			if err != nil {
				return nil, encodeFailure(fmt.Sprintf("wampfn: call %s: argument %d", b.procedure, j+k), err)
			}
			args = append(args, x)
		}
	}
	return args, nil
}

// progressFunc returns the function that decodes a progressive result
// and hands it to f, the bound func's func(P) argument; nil when f is nil.
// One value holds P for all of a call's progressive results (f gets a
// copy each time). For the common P it calls f directly; for the others,
// through reflection.
func (b *binding) progressFunc(f reflect.Value) func(*wamp.Result) error {
	if f.IsNil() {
		return nil
	}
	if !b.progressRaw {
		fi := f.Interface()
		for _, direct := range []func(any, *binding) func(*wamp.Result) error{
			directProgress[int], directProgress[int64], directProgress[uint64], directProgress[float64],
			directProgress[string], directProgress[bool], directProgress[any],
		} {
			if deliver := direct(fi, b); deliver != nil {
				return deliver
			}
		}
	}
	argv := []reflect.Value{reflect.New(f.Type().In(0)).Elem()}
	return func(r *wamp.Result) error {
		if err := b.decodeProgress(r, argv[0]); err != nil {
			return err
		}
		f.Call(argv)
		return nil
	}
}

// directProgress returns progressFunc's function for f when f is a
// func(P), calling it without reflection; else nil.
func directProgress[P any](f any, b *binding) func(*wamp.Result) error {
	fn, ok := f.(func(P))
	if !ok {
		return nil
	}
	holder := reflect.New(reflect.TypeFor[P]()).Elem()
	p := holder.Addr().Interface().(*P)
	return func(r *wamp.Result) error {
		if err := b.decodeProgress(r, holder); err != nil {
			return err
		}
		fn(*p)
		return nil
	}
}

// decodeProgress decodes one progressive result into v, a P.
func (b *binding) decodeProgress(r *wamp.Result, v reflect.Value) error {
	if b.progressRaw {
		v.Set(reflect.ValueOf(Result{Args: r.Arguments, Kwargs: r.ArgumentsKw}))
		return nil
	}
	if len(r.Arguments) != 1 {
		return fmt.Errorf("progressive result: want one value, got %d", len(r.Arguments))
	}
	v.SetZero()
	if err := b.progressDec.fn(r.Arguments[0], v, 0); err != nil {
		return asResultError(err, "progressive result")
	}
	return nil
}

// decodeResults returns the bound func's results for res.
func (b *binding) decodeResults(res *wamp.Result) []reflect.Value {
	n := b.typ.NumOut()
	out := make([]reflect.Value, n)
	out[n-1] = reflect.Zero(errorType)
	if b.resultIsArgs {
		out[0] = reflect.ValueOf(Result{Args: res.Arguments, Kwargs: res.ArgumentsKw})
		return out
	}
	if len(res.Arguments) != len(b.results) {
		return b.fail(fmt.Errorf("wampfn: call %s: want %d results, got %d", b.procedure, len(b.results), len(res.Arguments)))
	}
	for i, dec := range b.results {
		v := reflect.New(dec.typ).Elem()
		if err := dec.fn(res.Arguments[i], v, 0); err != nil {
			return b.fail(fmt.Errorf("wampfn: call %s: %w", b.procedure, asResultError(err, "result "+strconv.Itoa(i))))
		}
		out[i] = v
	}
	return out
}

// fail returns the bound func's results for err: zero values and err.
func (b *binding) fail(err error) []reflect.Value {
	n := b.typ.NumOut()
	out := make([]reflect.Value, n)
	for i := range n - 1 {
		out[i] = reflect.Zero(b.typ.Out(i))
	}
	e := reflect.New(errorType).Elem()
	e.Set(reflect.ValueOf(err))
	out[n-1] = e
	return out
}

// callError maps an error of client.Call: an ERROR becomes an *Error; a
// cancellation or a timeout wraps the context's error.
func (b *binding) callError(ctx context.Context, err error) error {
	var rpcErr client.RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Err == nil {
		return fmt.Errorf("wampfn: call %s: %w", b.procedure, err)
	}
	werr := &Error{URI: rpcErr.Err.Error, Args: rpcErr.Err.Arguments, Kwargs: rpcErr.Err.ArgumentsKw}
	ce := &callError{procedure: b.procedure, err: werr}
	switch {
	case werr.URI == wamp.ErrTimeout:
		ce.cause = context.DeadlineExceeded
	case werr.URI == wamp.ErrCanceled && ctx.Err() != nil:
		ce.cause = ctx.Err()
	}
	return ce
}

// callError is the error a bound func returns for an ERROR from the
// callee or the router: errors.As gives its *Error; for
// wamp.error.timeout it also wraps context.DeadlineExceeded, and for
// wamp.error.canceled after the call's context ended, that context's
// error.
type callError struct {
	procedure string
	err       *Error
	cause     error
}

func (e *callError) Error() string {
	return "wampfn: call " + e.procedure + ": " + e.err.Error()
}

func (e *callError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.err}
	}
	return []error{e.err, e.cause}
}

// resultError is a result that does not decode: an *ArgumentError's text
// with what ("result 0") for "argument 0".
type resultError struct {
	what string
	ae   *ArgumentError
}

func (e *resultError) Error() string {
	var b strings.Builder
	b.WriteString(e.what)
	if e.ae.Path != "" {
		b.WriteString(" at " + e.ae.Path)
	}
	b.WriteString(": " + e.ae.Msg)
	return b.String()
}

func (e *resultError) Unwrap() error { return e.ae.Err }

func asResultError(err error, what string) error {
	var ae *ArgumentError
	if errors.As(err, &ae) {
		return &resultError{what: what, ae: ae}
	}
	return fmt.Errorf("%s: %w", what, err)
}
