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
	name         string // "" for Handler
	fn           reflect.Value
	kinds        []paramKind // one per parameter
	args         []argParam  // the WAMP argument parameters, in order
	byName       map[string]int
	sink         sinkType // the zero ProgressSink[T], when the function takes one
	sinkEncode   func(any) (wamp.List, wamp.Dict, error)
	results      []*encoder // one per result before the error
	resultIsArgs bool       // the single result is a Result
	hasErr       bool
	variadic     bool // fn's last parameter is ...T
	// argsType is a struct with one field per argument parameter, so that
	// one allocation holds an invocation's argument values.
	argsType     reflect.Type
	registerOpts wamp.Dict
	input        inputType     // the zero InputStream[T], when the function takes one
	inputDec     *decoder      // of T
	inputBuffer  int           // WithInputBuffer
	inputIdle    time.Duration // WithInputIdleTimeout
	iter         iterKind      // the result is an iterator
	iterEncode   func(any) (wamp.List, wamp.Dict, error)
	iterLimit    int    // WithIteratorLimit
	method       string // "method LongOp of *main.Svc" for RegisterMethods; "" else
	interceptors []Interceptor
	run          InvokeFunc // the interceptor chain; nil without interceptors
	limit        *limiter   // WithConcurrency's; nil without it
}

// newProcedure analyses fn for serving as procedure.
func newProcedure(name string, fn any, opts []Option) (*procedure, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	p := &procedure{name: name, registerOpts: cfg.registerOpts, method: cfg.method, interceptors: cfg.interceptors}
	what := p.what()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrSignature, what, fmt.Sprintf(format, args...))
	}
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("wampfn: %s: %w", what, fmt.Errorf(format, args...))
	}
	if cfg.method == "" && (cfg.exclude || cfg.name != "") {
		return nil, invalid("Exclude and WithName apply to the methods of RegisterMethods only")
	}
	if fn == nil {
		return nil, fail("fn is nil, want a func")
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return nil, fail("fn is a %s, want a func", t)
	}
	if v.IsNil() {
		return nil, fail("fn is a nil %s", t)
	}
	p.fn = v

	p.kinds = make([]paramKind, t.NumIn())
	for i := range t.NumIn() {
		pt := t.In(i)
		switch {
		case pt == contextType:
			p.kinds[i] = paramContext
		case pt == detailsType:
			p.kinds[i] = paramDetails
		case isProgressSink(pt):
			if p.sink != nil {
				return nil, fail("parameter %d (%s): a function takes at most one ProgressSink", i, pt)
			}
			p.kinds[i] = paramSink
			p.sink = reflect.Zero(pt).Interface().(sinkType)
			enc, err := valuesEncoder(p.sink.elemType())
			if err != nil {
				return nil, fail("parameter %d (%s): progress values: %v", i, pt, err)
			}
			p.sinkEncode = enc
		case isInputStream(pt):
			if p.input != nil {
				return nil, fail("parameter %d (%s): a function takes at most one InputStream", i, pt)
			}
			p.kinds[i] = paramInput
			p.input = reflect.Zero(pt).Interface().(inputType)
			dec, err := decoderFor(p.input.inputElem())
			if err != nil {
				return nil, fail("parameter %d (%s): input values: %v", i, pt, err)
			}
			p.inputDec = dec
		case pt.Kind() == reflect.Pointer && isInputStream(pt.Elem()):
			return nil, fail("parameter %d (%s): take the InputStream by value, not by pointer", i, pt)
		case pt.Implements(inputTypeType) || pt.Kind() == reflect.Pointer && pt.Elem().Implements(inputTypeType):
			return nil, fail("parameter %d (%s) embeds an InputStream: take the wampfn.InputStream itself as the parameter", i, pt)
		case pt.Kind() == reflect.Pointer && isProgressSink(pt.Elem()):
			return nil, fail("parameter %d (%s): take the ProgressSink by value, not by pointer", i, pt)
		case pt.Implements(sinkTypeType) || pt.Kind() == reflect.Pointer && pt.Elem().Implements(sinkTypeType):
			return nil, fail("parameter %d (%s) embeds a ProgressSink: take the wampfn.ProgressSink itself as the parameter", i, pt)
		case pt.Implements(contextType) && pt.Kind() == reflect.Interface:
			return nil, fail("parameter %d (%s): declare the context as context.Context", i, pt)
		default:
			p.kinds[i] = paramArg
			variadic := t.IsVariadic() && i == t.NumIn()-1
			dt := pt
			if variadic {
				dt = pt.Elem()
			}
			dec, err := decoderFor(dt)
			if err != nil {
				return nil, fail("parameter %d (%s) cannot take a WAMP argument: %v", i, pt, err)
			}
			p.args = append(p.args, argParam{in: i, typ: pt, dec: dec, variadic: variadic})
		}
	}
	p.variadic = t.IsVariadic()
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
		if t.In(a.in).Kind() != reflect.Pointer {
			break
		}
		a.optional = true
	}
	if cfg.paramNames != nil {
		if len(cfg.paramNames) != len(p.args) {
			return nil, fail("WithParamNames has %d names (%s) for %d argument parameters", len(cfg.paramNames), strings.Join(cfg.paramNames, ", "), len(p.args))
		}
		p.byName = make(map[string]int, len(p.args))
		for j, n := range cfg.paramNames {
			if n == "" {
				return nil, fail("WithParamNames: name %d is empty", j)
			}
			if _, dup := p.byName[n]; dup {
				return nil, fail("WithParamNames: name %q given twice", n)
			}
			p.byName[n] = j
			p.args[j].name = n
		}
	}

	nout := t.NumOut()
	values := nout // the results before the error
	if nout > 0 && t.Out(nout-1) == errorType {
		values--
	}
	for i := range nout {
		ot := t.Out(i)
		if ot == errorType {
			if i != nout-1 {
				return nil, fail("result %d (error): error must be the last result", i)
			}
			p.hasErr = true
			continue
		}
		if ot.Implements(errorType) {
			if i == nout-1 {
				return nil, fail("result %d (%s) is an error type: declare the function's last result as error, so that a non-nil error ends the call with an ERROR", i, ot)
			}
			return nil, fail("result %d (%s) is an error type: only the last result may be an error, declared as error", i, ot)
		}
		if ot == resultType && values > 1 {
			return nil, fail("result %d (wampfn.Result): a Result must be the only result besides the error", i)
		}
		if elem, kind, ok := seqType(ot); ok {
			if values > 1 {
				return nil, fail("result %d (%s): an iterator must be the only result besides the error", i, ot)
			}
			if kind == iterInvalid {
				return nil, fail("result %d (%s): an iter.Seq2 result must be an iter.Seq2[T, error]", i, ot)
			}
			if elem == resultType {
				return nil, fail("result %d (%s): an iterator's elements are values; send Results on a ProgressSink[wampfn.Result]", i, ot)
			}
			enc, err := valuesEncoder(elem)
			if err != nil {
				return nil, fail("result %d (%s): its elements cannot be sent as WAMP values: %v", i, ot, err)
			}
			p.iter, p.iterEncode = kind, enc
			continue
		}
		enc, err := encoderFor(ot)
		if err != nil {
			return nil, fail("result %d (%s) cannot be sent as a WAMP value: %v", i, ot, err)
		}
		p.results = append(p.results, enc)
	}
	p.resultIsArgs = len(p.results) == 1 && t.Out(0) == resultType

	if p.input != nil {
		// Positional arguments carry the stream: the others go by name.
		for _, a := range p.args {
			if a.name == "" {
				return nil, fail("parameter %d (%s): a function with an InputStream takes its other arguments by name only: give WithParamNames", a.in, a.typ)
			}
		}
	}
	p.inputBuffer = DefaultInputBuffer
	if cfg.inputBufferSet {
		if cfg.inputBuffer < 1 {
			return nil, invalid("WithInputBuffer(%d): want at least 1", cfg.inputBuffer)
		}
		p.inputBuffer = cfg.inputBuffer
	}
	p.inputIdle = DefaultInputIdleTimeout
	if cfg.inputIdleSet {
		if cfg.inputIdle < 0 {
			return nil, invalid("WithInputIdleTimeout(%v): want 0 (none) or more", cfg.inputIdle)
		}
		p.inputIdle = cfg.inputIdle
	}
	p.iterLimit = DefaultIteratorLimit
	if cfg.iterLimitSet {
		if cfg.iterLimit < 1 {
			return nil, invalid("WithIteratorLimit(%d): want at least 1", cfg.iterLimit)
		}
		p.iterLimit = cfg.iterLimit
	}

	if cfg.concurrencySet {
		if cfg.concurrency < 1 {
			return nil, invalid("WithConcurrency(%d): want at least 1", cfg.concurrency)
		}
		p.limit = newLimiter(cfg.concurrency)
	}
	for i, ic := range p.interceptors {
		if ic == nil {
			return nil, invalid("interceptor %d is nil", i)
		}
	}
	if len(p.interceptors) > 0 {
		var err error
		if p.run, err = p.chain(); err != nil {
			return nil, invalid("%w", err)
		}
	}
	return p, nil
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
