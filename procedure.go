package wampfn

// Serving, at Register (stage 1): the plan of a procedure, made once: what
// each parameter is, how arguments decode and results encode, the
// interceptor chain. The call path walks it and does no signature
// analysis.

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gammazero/nexus/v3/wamp"
)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
	detailsType = reflect.TypeFor[Details]()
	resultType  = reflect.TypeFor[Result]()
)

// paramKind says what wampfn passes for one parameter.
type paramKind uint8

const (
	paramArg     paramKind = iota // a WAMP argument
	paramContext                  // the invocation's context.Context
	paramDetails                  // Details
	paramSink                     // ProgressSink[T]
	paramInput                    // InputStream[T]
)

// argParam is the plan for one parameter that takes a WAMP argument.
type argParam struct {
	in       int // the parameter's index in the function
	typ      reflect.Type
	name     string
	dec      *decoder
	optional bool // may be absent: a pointer with only pointers after it
	variadic bool // the trailing ...T: takes the remaining arguments
}

// procedure is the plan for serving one function, made once by
// newProcedure. The call path walks it and does no signature analysis.
type procedure struct {
	name     string // "" for Handler
	method   string // "method LongOp of *main.Svc" for RegisterMethods; "" else
	fn       reflect.Value
	variadic bool // fn's last parameter is ...T

	// The parameters.
	kinds  []paramKind // one per parameter
	args   []argParam  // the WAMP argument parameters, in order
	byName map[string]int
	// argsType is a struct with one field per argument parameter, so that
	// one allocation holds an invocation's argument values.
	argsType reflect.Type
	sink     sinkPlan
	input    inputPlan

	// The results.
	results      []*encoder // one per result before the error
	resultIsArgs bool       // the single result is a Result
	hasErr       bool
	iter         iterPlan

	// The options.
	doc          procDoc // for the OpenRPC document
	registerOpts wamp.Dict
	interceptors []Interceptor
	run          InvokeFunc // the interceptor chain; nil without interceptors
	limit        *limiter   // WithConcurrency's; nil without it
}

// A sinkPlan is the plan of a ProgressSink[T] parameter.
type sinkPlan struct {
	zero   sinkType                                // the zero ProgressSink[T]; nil when the function takes none
	encode func(any) (wamp.List, wamp.Dict, error) // one T into a progressive result
}

// An inputPlan is the plan of an InputStream[T] parameter.
type inputPlan struct {
	zero   inputType     // the zero InputStream[T]; nil when the function takes none
	dec    *decoder      // of T
	buffer int           // WithInputBuffer
	idle   time.Duration // WithInputIdleTimeout
}

// An iterPlan is the plan of an iterator result.
type iterPlan struct {
	kind   iterKind                                // iterNone when the result is no iterator
	encode func(any) (wamp.List, wamp.Dict, error) // one element into a progressive result
	limit  int                                     // WithIteratorLimit
}

// newProcedure analyses fn for serving as procedure: its parameters, its
// results, then the options.
func newProcedure(name string, fn any, opts []Option) (*procedure, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	p := &procedure{name: name, method: cfg.method, doc: cfg.doc, registerOpts: cfg.registerOpts, interceptors: cfg.interceptors}
	if cfg.method == "" && (cfg.exclude || cfg.name != "") {
		return nil, p.invalid("Exclude and WithName apply to the methods of RegisterMethods only")
	}
	t, err := p.planFunc(fn)
	if err == nil {
		err = p.planParams(t, cfg.paramNames)
	}
	if err == nil {
		err = p.planResults(t)
	}
	if err == nil {
		err = p.planOptions(&cfg)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// unsupported returns the error for a signature p cannot serve.
func (p *procedure) unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSignature, p.what(), fmt.Sprintf(format, args...))
}

// invalid returns the error for an option p cannot take.
func (p *procedure) invalid(format string, args ...any) error {
	return fmt.Errorf("wampfn: %s: %w", p.what(), fmt.Errorf(format, args...))
}

// planFunc checks that fn is a func and returns its type.
func (p *procedure) planFunc(fn any) (reflect.Type, error) {
	if fn == nil {
		return nil, p.unsupported("fn is nil, want a func")
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return nil, p.unsupported("fn is a %s, want a func", t)
	}
	if v.IsNil() {
		return nil, p.unsupported("fn is a nil %s", t)
	}
	p.fn, p.variadic = v, t.IsVariadic()
	return t, nil
}

// planParams plans the parameters of t: what each one is, the argument
// values' block, which arguments are optional, and their names.
func (p *procedure) planParams(t reflect.Type, names []string) error {
	p.kinds = make([]paramKind, t.NumIn())
	for i := range t.NumIn() {
		if err := p.planParam(i, t.In(i), t.IsVariadic() && i == t.NumIn()-1); err != nil {
			return err
		}
	}
	if len(p.args) > 0 {
		fields := make([]reflect.StructField, len(p.args))
		for j, a := range p.args {
			fields[j] = reflect.StructField{Name: "A" + strconv.Itoa(j), Type: a.typ}
		}
		p.argsType = reflect.StructOf(fields)
	}
	// A pointer parameter is optional when every argument parameter after
	// it is a pointer too (or the variadic one).
	for j := len(p.args) - 1; j >= 0; j-- {
		a := &p.args[j]
		if a.variadic {
			continue
		}
		if a.typ.Kind() != reflect.Pointer {
			break
		}
		a.optional = true
	}
	if names != nil {
		return p.planNames(names)
	}
	return nil
}

// planParam plans parameter i of type pt, the variadic one when
// variadic.
func (p *procedure) planParam(i int, pt reflect.Type, variadic bool) error {
	switch {
	case pt == contextType:
		p.kinds[i] = paramContext
	case pt == detailsType:
		p.kinds[i] = paramDetails
	case isProgressSink(pt):
		if p.sink.zero != nil {
			return p.unsupported("parameter %d (%s): a function takes at most one ProgressSink", i, pt)
		}
		p.kinds[i] = paramSink
		p.sink.zero = reflect.Zero(pt).Interface().(sinkType)
		enc, err := valuesEncoder(p.sink.zero.elemType())
		if err != nil {
			return p.unsupported("parameter %d (%s): progress values: %v", i, pt, err)
		}
		p.sink.encode = enc
	case isInputStream(pt):
		if p.input.zero != nil {
			return p.unsupported("parameter %d (%s): a function takes at most one InputStream", i, pt)
		}
		p.kinds[i] = paramInput
		p.input.zero = reflect.Zero(pt).Interface().(inputType)
		dec, err := decoderFor(p.input.zero.inputElem())
		if err != nil {
			return p.unsupported("parameter %d (%s): input values: %v", i, pt, err)
		}
		p.input.dec = dec
	case pt.Kind() == reflect.Pointer && isInputStream(pt.Elem()):
		return p.unsupported("parameter %d (%s): take the InputStream by value, not by pointer", i, pt)
	case pt.Implements(inputTypeType) || pt.Kind() == reflect.Pointer && pt.Elem().Implements(inputTypeType):
		return p.unsupported("parameter %d (%s) embeds an InputStream: take the wampfn.InputStream itself as the parameter", i, pt)
	case pt.Kind() == reflect.Pointer && isProgressSink(pt.Elem()):
		return p.unsupported("parameter %d (%s): take the ProgressSink by value, not by pointer", i, pt)
	case pt.Implements(sinkTypeType) || pt.Kind() == reflect.Pointer && pt.Elem().Implements(sinkTypeType):
		return p.unsupported("parameter %d (%s) embeds a ProgressSink: take the wampfn.ProgressSink itself as the parameter", i, pt)
	case pt.Implements(contextType) && pt.Kind() == reflect.Interface:
		return p.unsupported("parameter %d (%s): declare the context as context.Context", i, pt)
	default:
		p.kinds[i] = paramArg
		dt := pt
		if variadic {
			dt = pt.Elem()
		}
		dec, err := decoderFor(dt)
		if err != nil {
			return p.unsupported("parameter %d (%s) cannot take a WAMP argument: %v", i, pt, err)
		}
		p.args = append(p.args, argParam{in: i, typ: pt, dec: dec, variadic: variadic})
	}
	return nil
}

// planNames names the argument parameters (WithParamNames).
func (p *procedure) planNames(names []string) error {
	if len(names) != len(p.args) {
		return p.unsupported("WithParamNames has %d names (%s) for %d argument parameters", len(names), strings.Join(names, ", "), len(p.args))
	}
	p.byName = make(map[string]int, len(p.args))
	for j, n := range names {
		if n == "" {
			return p.unsupported("WithParamNames: name %d is empty", j)
		}
		if _, dup := p.byName[n]; dup {
			return p.unsupported("WithParamNames: name %q given twice", n)
		}
		p.byName[n] = j
		p.args[j].name = n
	}
	return nil
}

// planResults plans the results of t: an error last, and before it
// values, a Result, or an iterator.
func (p *procedure) planResults(t reflect.Type) error {
	nout := t.NumOut()
	values := nout // the results before the error
	if nout > 0 && t.Out(nout-1) == errorType {
		values--
	}
	for i := range nout {
		ot := t.Out(i)
		switch {
		case ot == errorType && i != nout-1:
			return p.unsupported("result %d (error): error must be the last result", i)
		case ot == errorType:
			p.hasErr = true
		case ot.Implements(errorType) && i == nout-1:
			return p.unsupported("result %d (%s) is an error type: declare the function's last result as error, so that a non-nil error ends the call with an ERROR", i, ot)
		case ot.Implements(errorType):
			return p.unsupported("result %d (%s) is an error type: only the last result may be an error, declared as error", i, ot)
		case ot == resultType && values > 1:
			return p.unsupported("result %d (wampfn.Result): a Result must be the only result besides the error", i)
		default:
			if err := p.planResult(i, ot, values); err != nil {
				return err
			}
		}
	}
	p.resultIsArgs = len(p.results) == 1 && t.Out(0) == resultType
	return nil
}

// planResult plans result i of type ot, one of values results before the
// error: an iterator, or a value.
func (p *procedure) planResult(i int, ot reflect.Type, values int) error {
	elem, kind, ok := seqType(ot)
	if !ok {
		enc, err := encoderFor(ot)
		if err != nil {
			return p.unsupported("result %d (%s) cannot be sent as a WAMP value: %v", i, ot, err)
		}
		p.results = append(p.results, enc)
		return nil
	}
	switch {
	case values > 1:
		return p.unsupported("result %d (%s): an iterator must be the only result besides the error", i, ot)
	case kind == iterInvalid:
		return p.unsupported("result %d (%s): an iter.Seq2 result must be an iter.Seq2[T, error]", i, ot)
	case elem == resultType:
		return p.unsupported("result %d (%s): an iterator's elements are values; send Results on a ProgressSink[wampfn.Result]", i, ot)
	}
	enc, err := valuesEncoder(elem)
	if err != nil {
		return p.unsupported("result %d (%s): its elements cannot be sent as WAMP values: %v", i, ot, err)
	}
	p.iter.kind, p.iter.encode = kind, enc
	return nil
}

// planOptions checks and plans the options of cfg that need the
// parameters and results: the input stream's, the iterator's, the
// concurrency limit and the interceptor chain.
func (p *procedure) planOptions(cfg *config) error {
	if p.input.zero != nil {
		// Positional arguments carry the stream: the others go by name.
		for _, a := range p.args {
			if a.name == "" {
				return p.unsupported("parameter %d (%s): a function with an InputStream takes its other arguments by name only: give WithParamNames", a.in, a.typ)
			}
		}
	}
	if d := cfg.doc.params; d != nil && len(d) != len(p.args) {
		return p.unsupported("WithParamDescriptions has %d descriptions for %d argument parameters", len(d), len(p.args))
	}
	p.input.buffer, p.input.idle, p.iter.limit = DefaultInputBuffer, DefaultInputIdleTimeout, DefaultIteratorLimit
	switch {
	case cfg.inputBufferSet && cfg.inputBuffer < 1:
		return p.invalid("WithInputBuffer(%d): want at least 1", cfg.inputBuffer)
	case cfg.inputBufferSet:
		p.input.buffer = cfg.inputBuffer
	}
	switch {
	case cfg.inputIdleSet && cfg.inputIdle < 0:
		return p.invalid("WithInputIdleTimeout(%v): want 0 (none) or more", cfg.inputIdle)
	case cfg.inputIdleSet:
		p.input.idle = cfg.inputIdle
	}
	switch {
	case cfg.iterLimitSet && cfg.iterLimit < 1:
		return p.invalid("WithIteratorLimit(%d): want at least 1", cfg.iterLimit)
	case cfg.iterLimitSet:
		p.iter.limit = cfg.iterLimit
	}
	switch {
	case cfg.concurrencySet && cfg.concurrency < 1:
		return p.invalid("WithConcurrency(%d): want at least 1", cfg.concurrency)
	case cfg.concurrencySet:
		p.limit = newLimiter(cfg.concurrency)
	}
	for i, ic := range p.interceptors {
		if ic == nil {
			return p.invalid("interceptor %d is nil", i)
		}
	}
	if len(p.interceptors) > 0 {
		var err error
		if p.run, err = p.chain(); err != nil {
			return p.invalid("%w", err)
		}
	}
	return nil
}

// what names the making of p in errors: "register URI", with the method
// for RegisterMethods ("register URI (method LongOp of *main.Svc)"), or
// "handler".
func (p *procedure) what() string {
	if p.name == "" {
		return "handler"
	}
	if p.method != "" {
		return "register " + p.name + " (" + p.method + ")"
	}
	return "register " + p.name
}

// valuesEncoder returns the function that turns one value of type t into
// the Args and Kwargs of a message: [v], or a Result's own. v is a t, or,
// when t is an interface, t's dynamic value (nil for a nil interface), so
// that it is sent by its dynamic type, as a result of that type is.
func valuesEncoder(t reflect.Type) (func(any) (wamp.List, wamp.Dict, error), error) {
	if t == resultType {
		return func(v any) (wamp.List, wamp.Dict, error) { return v.(Result).encode() }, nil
	}
	enc, err := encoderFor(t)
	if err != nil {
		return nil, err
	}
	if isBuiltinScalar(t) || t.Kind() == reflect.Interface {
		// Built-in scalar types go on the wire as they are (but for a
		// NaN or an infinity); an interface's dynamic value goes by its
		// type.
		return func(v any) (wamp.List, wamp.Dict, error) {
			x, err := encodeAny(v, 0)
			if err != nil {
				return nil, nil, err
			}
			return wamp.List{x}, nil, nil
		}, nil
	}
	return func(v any) (wamp.List, wamp.Dict, error) {
		x, err := enc.fn(reflect.ValueOf(v), 0)
		if err != nil {
			return nil, nil, err
		}
		return wamp.List{x}, nil, nil
	}, nil
}

// isBuiltinScalar reports whether t is bool, a built-in integer or float
// type, or string: values that go on the wire as they are.
func isBuiltinScalar(t reflect.Type) bool {
	if t.PkgPath() != "" {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}
