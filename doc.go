// Package wampfn registers plain Go functions as WAMP procedures on a
// nexus client (github.com/gammazero/nexus/v3), with typed progressive
// call results.
//
//	func longop(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error)
//	err := wampfn.Register(c, "com.myapp.longop", longop, wampfn.WithParamNames("n"))
//
// Register analyses the function's signature once, by reflection, and
// rejects a function it cannot serve. Each invocation's arguments are then
// decoded into the parameters' types, every value sent on the
// ProgressSink becomes a progressive YIELD, and the return values become
// the final YIELD or an ERROR.
//
// # Signatures
//
// A function that wampfn can serve looks like
//
//	func(ctx context.Context, a A, b B, sink wampfn.ProgressSink[P], d wampfn.Details, rest ...V) (R1, R2, error)
//
// Parameters are recognised by type wherever they appear:
//   - context.Context: the invocation's context, cancelled when the caller
//     cancels (INTERRUPT), leaves, or its timeout passes, and when the
//     session to the router is lost;
//   - Details: who called, and how;
//   - ProgressSink[P]: at most one; see ProgressSink;
//   - InputStream[T]: at most one; the call's input, sent by the caller in
//     chunks (progressive call invocations); see InputStream. The other
//     argument parameters are then taken by name only (WithParamNames).
//
// Every other parameter takes one WAMP positional argument, in order; a
// trailing variadic parameter takes the remaining ones. Trailing pointer
// parameters are optional: nil when the caller leaves them out. With
// WithParamNames, a caller may also pass parameters by name in the call's
// keyword arguments.
//
// The results may be nothing, error, R, (R, error), or several values
// before the error, each one positional result. A Result as R sets the
// final Args and Kwargs exactly. An iter.Seq[T] or iter.Seq2[T, error]
// result (optionally with an error) is a stream: to a caller that asked
// for progressive results each element is one, and the final result is
// empty; another caller gets one list of every element (at most
// DefaultIteratorLimit, see WithIteratorLimit). Iteration stops when the
// call is cancelled; a Seq2 element's error ends the call, after the
// elements already sent. The error result must be declared as
// error: a result of a concrete error type (*MyErr) is refused, since a
// nil *MyErr returned as an error is not nil.
//
// Channels, funcs, complex numbers and maps whose keys are not strings
// cannot be parameters or results; nor can interfaces with methods, except
// that progress values and values inside a result (a field, an element)
// may be of an interface type whose every value is an encoding.TextMarshaler
// or an error (sent as its message). A result itself of an error type
// other than error is refused. A struct that embeds a ProgressSink is not
// one. Register returns an error wrapping ErrSignature that names the
// procedure, the parameter or result and its type.
//
// # Arguments
//
// Arguments are converted strictly from the values every serializer
// delivers (int64, uint64, float64, string, bytes, lists and dicts) into
// bool, every int, uint and float type, string, []byte, slices, arrays,
// maps with string keys, structs (from dicts, keyed as encoding/json keys
// them, matching names exactly or else ignoring case, ignoring unknown
// keys), pointers, any, time.Time (RFC 3339) and types implementing
// encoding.TextUnmarshaler (from a string only, as encoding/json does). An
// integral float (3.0, as JavaScript sends) fits an int; 1.5 does not; an
// integer that overflows its type does not; a float parameter takes an
// integer that it holds exactly (up to 2^53 for float64), or that is the
// shortest decimal of a float (1234567890123456800, as JavaScript writes
// 1.2345678901234568e18), and no other (not 2^53+1); a string is not a
// number. Bytes arrive as bytes on msgpack and CBOR and,
// on JSON, as the WAMP convention's "\x00"+base64 string (a plain base64
// string is accepted too). A value that does not fit ends the call with
// wamp.error.invalid_argument and a message naming the argument:
//
//	argument 0 (n): cannot use string "three" as int
//
// Lists, dicts and pointers may nest at most MaxDepth levels. A
// parameter of type any receives the value as the transport delivered it.
//
// # Results and errors
//
// Results are sent as plain WAMP values, so an in-process caller sees what
// a network caller sees: a struct becomes a dict keyed as encoding/json
// keys it (json tags, "-", omitempty, omitzero, ",string", embedded
// structs with encoding/json's rules for conflicting names), a []byte
// becomes serialize.BinaryData, a type implementing encoding.TextMarshaler
// (time.Time among them) becomes a string, a value of a type implementing
// error becomes its message, and integers stay integers. A value held by
// an interface (any, error, a ProgressSink[any]'s values, Result's Args
// and Kwargs) is sent by its dynamic type, as it would be if returned with
// that type; nil is null. A NaN or an infinity cannot be sent, since JSON
// cannot carry it: in a result it ends the call with
// wamp.error.runtime_error naming where it is, and Send refuses it.
//
// A returned error ends the call with an ERROR:
//
//	*Error (errors.As)           its URI, Args and Kwargs
//	*ArgumentError (errors.As)   wamp.error.invalid_argument, [message]
//	context.Canceled             wamp.error.canceled, [message]
//	context.DeadlineExceeded     wamp.error.timeout, [message]
//	any other error              wamp.error.runtime_error, [err.Error()]
//
// A panic in the function is recovered: the caller gets
// wamp.error.runtime_error, the panic and its stack go to the client's
// logger (never on the wire), and the callee keeps serving.
//
// When the call is cancelled, nexus itself answers the caller (with
// wamp.error.canceled) and discards whatever the function returns later.
//
// # Services
//
// Register binds a function to one nexus client, which does not reconnect.
// A Service owns the connection instead: it registers every procedure,
// reconnects with backoff and registers them again when the router goes
// away, and shuts down gracefully. Scaling past one process is the
// router's job: run several callees with a shared registration, such as
// WithRegisterOptions(wamp.Dict{"invoke": "roundrobin"}).
package wampfn
