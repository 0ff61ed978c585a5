// Package wampfn registers plain Go functions as WAMP procedures on a nexus
// client ([github.com/gammazero/nexus/v3/client]), with typed progressive
// call results, and calls WAMP procedures through typed Go funcs.
//
//	func longop(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error)
//
//	err := wampfn.Register(c, "com.myapp.longop", longop, wampfn.WithParamNames("n"))
//
// [Register] analyses the function's signature once, by reflection, and
// refuses a function it cannot serve. For every call it then decodes the
// arguments strictly into the parameters' types, sends every value given
// to the [ProgressSink] as a progressive result (a YIELD with progress:
// true), and turns the return values into the final YIELD or an ERROR. The
// call path does no signature analysis.
//
// [Bind] does the reverse for a caller: it sets a func variable to one that
// calls a procedure, with the same conversions. A [Service] owns a callee's
// connection: it reconnects, registers again and shuts down gracefully.
//
// # Signatures
//
// A function that wampfn can serve looks like
//
//	func(ctx context.Context, a A, b B, sink wampfn.ProgressSink[P], d wampfn.Details, rest ...V) (R1, R2, error)
//
// These parameters are recognised by their type, wherever they appear:
//   - [context.Context]: the call's context, cancelled when the caller
//     cancels (INTERRUPT), leaves, or its timeout passes, and when the
//     session to the router is lost;
//   - [Details]: who called, and how;
//   - ProgressSink[P], at most one: the call's progressive results (see
//     Progress);
//   - InputStream[T], at most one: the call's input, sent by the caller in
//     chunks (see Streams).
//
// Every other parameter takes one positional argument, in order; a
// trailing variadic parameter takes the remaining ones. Trailing pointer
// parameters are optional: nil when the caller leaves them out. With
// [WithParamNames], one name per argument parameter, a caller may pass any
// parameter by name in the call's keyword arguments; a name given both
// ways, an unknown name, and any keyword argument to a function without
// names are invalid arguments.
//
// The results may be nothing, error, R, (R, error), or several values
// before the error, one positional result each. A [Result] as R sets the
// final Args and Kwargs exactly. An [iter.Seq] or [iter.Seq2] result is a
// stream (see Streams). The error result must be declared as error: a
// result of a concrete error type (*MyErr) is refused, since a nil *MyErr
// returned as an error is not nil.
//
// Register returns an error wrapping [ErrSignature], naming the procedure,
// the parameter or result and its type, with a hint where one fix is
// likely, for what it cannot serve: a channel, func or complex number as
// a parameter or result; a map whose keys are not strings; an interface
// with methods, except that progress values and values inside a result (a
// field, an element) may be of an interface type whose every value is an
// [encoding.TextMarshaler] or an error; two sinks or two streams, a
// *ProgressSink, or a struct that embeds a ProgressSink; an error that is
// not last; a json ",string" option where [encoding/json] would ignore it;
// the wrong number of names. Whether Register accepts a signature never
// depends on what was registered before it.
//
// # Arguments
//
// Arguments are converted strictly from what each transport delivers
// (in-process: the Go values the caller sent; JSON, msgpack and CBOR:
// int64, uint64, float64, strings, bytes, lists and dicts) into bool, every
// int, uint and float type, string, []byte, slices, arrays, maps with
// string keys, structs, pointers, any (the value as delivered),
// [time.Time] (RFC 3339) and types implementing [encoding.TextUnmarshaler]
// (from a string only, as encoding/json does, so that their own validation
// is never bypassed):
//   - an integer parameter takes an integer in range, or an integral float
//     (3.0, as JavaScript sends); not 1.5, not an overflow (300 as int8, -1
//     as uint), not a string or a bool;
//   - a float parameter takes a float that rounds to a finite value of its
//     type, and an integer that the type holds exactly (up to 2^53 for
//     float64) or that is the shortest decimal of a float
//     (1234567890123456800, as JavaScript writes 1.2345678901234568e18);
//     not 2^53+1, which it would change;
//   - a struct takes a dict keyed as encoding/json keys it (json tags, "-",
//     embedded structs, ",string" fields from strings); an incoming key
//     matches a field's name exactly, or else ignoring case; unknown keys
//     are ignored;
//   - []byte takes bytes (msgpack, CBOR), the WAMP convention's
//     "\x00"+base64 string (JSON), or plain base64;
//   - lists, dicts and pointers nest at most [MaxDepth] levels.
//
// An argument that does not fit ends the call with
// wamp.error.invalid_argument and the text of an [ArgumentError] naming it:
//
//	argument 0 (n): cannot use string "three" as int
//	argument 2 (cfg) at items[3]: cannot use float64 1.5 as int
//	too many arguments: got 3, want at most 2
//
// # Results
//
// Results and progress values go out as plain WAMP values, so an
// in-process caller sees what a network caller sees: integers stay
// integers on every serializer; a named number or string type goes out as
// its underlying value; a struct as a dict keyed as encoding/json keys it
// (omitempty and omitzero honoured); a []byte as binary
// (serialize.BinaryData); an [encoding.TextMarshaler] (time.Time,
// netip.Addr) as its text; a value of a type implementing error as its
// message; a pointer as its element, nil as null. A value held by an
// interface (any, error, a ProgressSink[any]'s values, a Result's Args and
// Kwargs) goes out by its dynamic type, as it would if returned with that
// type. A NaN or an infinity cannot be sent, since JSON cannot carry it:
// in a result it ends the call with wamp.error.runtime_error naming where
// it is, and [ProgressSink.Send] refuses it.
//
// # Errors
//
// A returned error ends the call with an ERROR whose URI is the one
// [ErrorURI] gives, the one mapping that the wire, [Logging] and
// otelwampfn share:
//
//	*Error (errors.As)           its URI, Args and Kwargs
//	*ArgumentError (errors.As)   wamp.error.invalid_argument, [message]
//	context.Canceled             wamp.error.canceled, [message]
//	context.DeadlineExceeded     wamp.error.timeout, [message]
//	any other error              wamp.error.runtime_error, [err.Error()]
//
// A panic in the function is recovered: the caller gets
// wamp.error.runtime_error, the panic and its stack go to the client's
// logger, never on the wire, and the callee keeps serving. When the call
// is cancelled, the caller gets wamp.error.canceled and whatever the
// function returns afterwards is discarded. [HideInternalErrors] keeps the
// text of unexpected errors off the wire.
//
// # Progress
//
// [ProgressSink.Send] sends one progressive result. It is safe to call from
// several goroutines, each goroutine's values arriving in order, and it
// blocks while the session's send queue is full: a slow caller slows the
// function down, and wampfn buffers nothing of its own. When the caller
// did not ask for progressive results, [ProgressSink.Wanted] reports false
// and Send drops the value and returns nil. Once the call is cancelled
// Send returns the context's error; after the function has returned it
// returns [ErrInvocationDone]: no progressive result ever follows the
// final one. [NewProgressSink] makes a sink for testing a function without
// a router.
//
// # Streams
//
// A function that takes an [InputStream] reads the values that a caller
// sends in chunks (progressive call invocations), each decoded strictly as
// T, with [InputStream.Recv] or [InputStream.All]; its other argument
// parameters come by name from the first chunk's keyword arguments (see
// WithParamNames). The unread input is bounded ([WithInputBuffer]), and so
// is the wait for the next chunk ([WithInputIdleTimeout]), since the nexus
// router does not tell a callee when a streaming caller leaves. The answer
// goes out with the caller's final chunk. A function that takes no
// InputStream answers a progressive call invocation with
// wamp.error.feature_not_supported.
//
// A function that returns an [iter.Seq] or an [iter.Seq2] streams its
// elements: to a caller that asked for progressive results each element is
// one, and the final result is empty; another caller gets one list of
// every element (at most [DefaultIteratorLimit], see [WithIteratorLimit]).
// Iteration stops when the call is cancelled; a Seq2 element's error ends
// the call, after the elements already sent.
//
// # Procedure URIs
//
// Register and [Service.Register] refuse a URI that no router accepts,
// before the router is asked, with an error wrapping [ErrInvalidURI]: an
// empty URI, an empty component (as in "a..b"), white space or "#" in a
// component, and the prefix "wamp.", which routers reserve. An empty last
// component is allowed with the REGISTER option "match": "prefix", and
// empty components with "match": "wildcard". These are the loose URI rules
// that nexus's router applies by default; a router with strict URI checking
// also refuses upper case and any character other than a-z, 0-9 and _.
//
// # Methods and services
//
// [RegisterMethods] registers every exported method of a value as prefix +
// the method's name in snake case (GetHTTPStatus: get_http_status), all or
// none. A receiver that implements [MethodOptioner] gives methods options
// of their own: parameter names, another name ([WithName]), or none at all
// ([Exclude]).
//
// Register binds a function to one nexus client, which does not reconnect.
// A [Service], made by [NewService] with a dial function, owns the
// connection instead: [Service.Run] registers every procedure, reconnects
// with backoff ([WithBackoff]) and registers them again when the router
// goes away, retries a registration that the router refuses (see
// [ErrRegistrationRefused]), and when its context ends unregisters every
// procedure, lets calls in flight finish ([WithShutdownTimeout]), cancels
// the rest and closes the client. [Dial] is the dial function for a
// production router: serializer, TLS, and ticket, WAMP-CRA or cryptosign
// authentication ([DialConfig]). Scaling past one process is the
// router's job: several callees register the same procedure with a shared
// registration, such as WithRegisterOptions(wamp.Dict{"invoke":
// "roundrobin"}) (see [WithRegisterOptions]).
//
// # Describing procedures
//
// [WithDiscovery] makes a Service serve, at a procedure of its own, the
// OpenRPC 1.3.2 document of every procedure it serves, with a JSON Schema
// (draft-07) of each argument, result, progressive result
// (x-wamp-progress) and input chunk (x-wamp-input), derived from the Go
// types by the rules the decoders and encoders follow: integers with
// their Go range, structs keyed as encoding/json keys them, named structs
// in components.schemas. [Service.Describe] returns the same document in
// Go; a [Description] makes one for procedures registered without a
// Service. [WithSummary], [WithDescription], [WithParamDescriptions] and
// [WithResultDescription] add what reflection cannot see; [WithInfo] names
// the document. The mapping and its few exceptions are in
// docs/discovery.md.
//
// # Typed callers
//
// [Bind] sets a func variable to one that calls a procedure, built once;
// [BindAll] binds every exported func field of a struct:
//
//	var longop func(ctx context.Context, n int, progress func(int)) (int, error)
//	err := wampfn.Bind(c, "com.myapp.longop", &longop)
//	n, err := longop(ctx, 3, func(i int) { fmt.Println("progress", i) })
//
// The context's cancellation cancels the call and its deadline sets the
// call's timeout; the arguments go out as results do; a func(P) parameter
// receives the progressive results, decoded strictly as P; the results
// are decoded strictly, as a callee's arguments are; an ERROR comes back as
// an error wrapping an [*Error]. An iter.Seq parameter sends its elements
// as an input stream, and an iter.Seq2 result yields the progressive
// results. [WithCallTimeout], [WithDiscloseMe] and [WithCallOptions] set the
// CALL's options.
//
// # Interceptors
//
// An [Interceptor] wraps the [InvokeFunc] that serves the calls of a
// procedure (see [WithInterceptors]; the first given is the outermost). It
// sees the [Invocation] before the arguments are decoded, and every outcome
// as next's return, and may call next or not, and replace the result or
// the error. An Interceptor is called once for each procedure, when
// Register, RegisterMethods, [Handler] or Service.Register analyses it; the
// function it returns serves every call of that procedure, concurrently.
// It must pass next a ctx derived from its own, which carries the call.
// [Logging], [RequireRoles] and [HideInternalErrors] are interceptors;
// [WithConcurrency] bounds how many calls run at once, inside every
// interceptor. The module github.com/wampfn/wampfn/otelwampfn adds
// OpenTelemetry spans and metrics.
//
// # Testing
//
// Package [github.com/wampfn/wampfn/wampfntest] runs a nexus router for a
// test, in-process and on a loopback WebSocket with each serializer, and
// closes every client before the router when the test ends.
//
// # More
//
// The repository's docs directory has the rules in full, the test that
// keeps each promise, and every measured figure with its command:
// docs/signatures.md, docs/services.md, docs/streams.md,
// docs/interceptors.md, docs/errors.md, docs/reliability.md, docs/nexus.md
// (nexus v3.3.0's limits and wampfn's workarounds), docs/performance.md,
// docs/interop.md and docs/testing.md.
package wampfn
