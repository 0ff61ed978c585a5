package wampfn

import (
	"context"
	"errors"
	"io"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Streams both ways, against a real router on every transport: input
// streams (progressive call invocations) into InputStream parameters,
// iterator results, and bound funcs that send and receive streams.

// sendChunks makes a progressive call invocation with nexus's own client:
// one chunk per element of chunks (its positional arguments), the first
// with kwargs, the last final.
//
// Like a careful caller, it stops sending once the call is over (the nexus
// v3.3.0 router takes a chunk that arrives after the callee's answer as
// the first chunk of a new call), and it lets nexus's chunk goroutine ask
// for its last chunk before returning (that goroutine then sends a CANCEL,
// which panics if the test has closed the client meanwhile).
func sendChunks(ctx context.Context, c *client.Client, procedure string, kwargs wamp.Dict, chunks []wamp.List, onProgress client.ProgressHandler) (*wamp.Result, error) {
	var mu sync.Mutex
	i, over, ended := 0, false, false
	lastAsked := make(chan struct{})
	end := func() {
		if !ended {
			ended = true
			close(lastAsked)
		}
	}
	res, err := c.CallProgressive(ctx, procedure, func(context.Context) (wamp.Dict, wamp.List, wamp.Dict, error) {
		mu.Lock()
		defer mu.Unlock()
		if over || i >= len(chunks) {
			end()
			return nil, nil, nil, errors.New("no more chunks")
		}
		args := chunks[i]
		var kw wamp.Dict
		if i == 0 {
			kw = kwargs
		}
		i++
		if i == len(chunks) {
			end()
		}
		return wamp.Dict{wamp.OptProgress: i < len(chunks)}, args, kw, nil
	}, onProgress)
	mu.Lock()
	over = true
	asked := i > 0 && !ended
	mu.Unlock()
	if asked {
		select {
		case <-lastAsked:
		case <-time.After(time.Second):
		}
	}
	return res, err
}

func ints(vs ...any) []wamp.List {
	out := make([]wamp.List, len(vs))
	for i, v := range vs {
		if v != nil {
			out[i] = wamp.List{v}
		}
	}
	return out
}

func sumStream(ctx context.Context, in InputStream[int]) (int, error) {
	sum := 0
	for v, err := range in.All() {
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func TestInputStream(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			ctx := t.Context()
			require.NoError(t, Register(callee, "test.stream.sum", sumStream))

			// wampy's README example: 1, 2, 3, 4, then 5 final.
			res, err := sendChunks(ctx, caller, "test.stream.sum", nil, ints(1, 2, 3, 4, 5), nil)
			require.NoError(t, err)
			require.EqualValues(t, 15, asInt(t, res.Arguments[0]))
			// Empty chunks carry no value.
			res, err = sendChunks(ctx, caller, "test.stream.sum", nil, ints(nil, 2, nil, 3, nil), nil)
			require.NoError(t, err)
			require.EqualValues(t, 5, asInt(t, res.Arguments[0]))
			// A plain call is a stream of its zero or one value.
			res, err = caller.Call(ctx, "test.stream.sum", nil, wamp.List{7}, nil, nil)
			require.NoError(t, err)
			require.EqualValues(t, 7, asInt(t, res.Arguments[0]))
			res, err = caller.Call(ctx, "test.stream.sum", nil, nil, nil, nil)
			require.NoError(t, err)
			require.EqualValues(t, 0, asInt(t, res.Arguments[0]))

			// The same through a bound func that takes an iter.Seq.
			var sum func(ctx context.Context, in iter.Seq[int]) (int, error)
			require.NoError(t, Bind(caller, "test.stream.sum", &sum))
			n, err := sum(ctx, slices.Values([]int{10, 20, 30}))
			require.NoError(t, err)
			require.Equal(t, 60, n)
			n, err = sum(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, 0, n)

			// Other arguments come by name from the first chunk's kwargs.
			require.NoError(t, Register(callee, "test.stream.scaled", func(scale int, in InputStream[int]) (int, error) {
				s, err := sumStream(ctx, in)
				return scale * s, err
			}, WithParamNames("scale")))
			res, err = sendChunks(ctx, caller, "test.stream.scaled", wamp.Dict{"scale": 10}, ints(1, 2, 3), nil)
			require.NoError(t, err)
			require.EqualValues(t, 60, asInt(t, res.Arguments[0]))

			// A transform: progressive results while the input arrives.
			require.NoError(t, Register(callee, "test.stream.upper", func(in InputStream[string], sink ProgressSink[string]) (int, error) {
				n := 0
				for v, err := range in.All() {
					if err != nil {
						return n, err
					}
					if err := sink.Send(strings.ToUpper(v)); err != nil {
						return n, err
					}
					n++
				}
				return n, nil
			}))
			var upper func(ctx context.Context, in iter.Seq[string], progress func(string)) (int, error)
			require.NoError(t, Bind(caller, "test.stream.upper", &upper))
			var got []string
			n, err = upper(ctx, slices.Values([]string{"a", "b", "c"}), func(s string) { got = append(got, s) })
			require.NoError(t, err)
			require.Equal(t, 3, n)
			require.Equal(t, []string{"A", "B", "C"}, got)

			// Both ways through one bound func: an iter.Seq in, an
			// iter.Seq2 out.
			require.NoError(t, Register(callee, "test.stream.upper2", func(in InputStream[string], sink ProgressSink[string]) error {
				for v, err := range in.All() {
					if err != nil {
						return err
					}
					if err := sink.Send(strings.ToUpper(v)); err != nil {
						return err
					}
				}
				return nil
			}))
			var upperSeq func(ctx context.Context, in iter.Seq[string]) iter.Seq2[string, error]
			require.NoError(t, Bind(caller, "test.stream.upper2", &upperSeq))
			got = nil
			for s, err := range upperSeq(ctx, slices.Values([]string{"x", "y"})) {
				require.NoError(t, err)
				got = append(got, s)
			}
			require.Equal(t, []string{"X", "Y"}, got)
		})
	}
}

func TestInputStreamErrors(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			ctx := t.Context()
			// Buffered: a chunk in flight when a call fails may start a
			// call of its own (see sendChunks).
			recvErr := make(chan error, 16)
			require.NoError(t, Register(callee, "test.stream.strict", func(in InputStream[int]) (int, error) {
				s, err := sumStream(ctx, in)
				recvErr <- err
				return s, err
			}))
			_, err := sendChunks(ctx, caller, "test.stream.strict", nil, ints(1, 2, "x", 4), nil)
			werr := callErr(t, err)
			require.Equal(t, wamp.ErrInvalidArgument, werr.Error)
			require.Equal(t, wamp.List{`input chunk 2: cannot use string "x" as int`}, werr.Arguments)
			var ae *ArgumentError
			require.ErrorAs(t, <-recvErr, &ae, "Recv returns the error")

			_, err = sendChunks(ctx, caller, "test.stream.strict", nil, []wamp.List{{1}, {2, 3}, {4}}, nil)
			werr = callErr(t, err)
			require.Equal(t, wamp.ErrInvalidArgument, werr.Error)
			require.Equal(t, wamp.List{"input chunk 1: want at most one value, got 2"}, werr.Arguments)
			<-recvErr

			// The first chunk's value is checked before the function runs.
			ran := make(chan struct{}, 1)
			require.NoError(t, Register(callee, "test.stream.first", func(in InputStream[int]) { ran <- struct{}{} }))
			_, err = caller.Call(ctx, "test.stream.first", nil, wamp.List{1.5}, nil, nil)
			werr = callErr(t, err)
			require.Equal(t, wamp.List{"input chunk 0: cannot use float64 1.5 as int"}, werr.Arguments)
			require.Empty(t, ran)

			// A function without an InputStream cannot take a stream.
			require.NoError(t, Register(callee, "test.stream.plain", func(n int) int { return n }))
			_, err = sendChunks(ctx, caller, "test.stream.plain", nil, ints(1, 2), nil)
			werr = callErr(t, err)
			require.Equal(t, wamp.ErrFeatureNotSupported, werr.Error)
			require.Contains(t, werr.Arguments[0], "takes no input stream")
		})
	}
	t.Run("Register", func(t *testing.T) {
		tr := wampfntest.NewRouter(t)
		c := tr.Connect(t, wampfntest.InProcess)
		for _, tc := range []struct {
			fn   any
			want string
		}{
			{func(n int, in InputStream[int]) {}, "parameter 0 (int): a function with an InputStream takes its other arguments by name only: give WithParamNames"},
			{func(a, b InputStream[int]) {}, "parameter 1 (wampfn.InputStream[int]): a function takes at most one InputStream"},
			{func(in *InputStream[int]) {}, "parameter 0 (*wampfn.InputStream[int]): take the InputStream by value, not by pointer"},
			{func(in InputStream[chan int]) {}, "parameter 0 (wampfn.InputStream[chan int]): input values: chan int cannot be decoded"},
			{func() iter.Seq2[int, string] { return nil }, "result 0 (iter.Seq2[int,string]): an iter.Seq2 result must be an iter.Seq2[T, error]"},
			{func() (iter.Seq[int], int) { return nil, 0 }, "result 0 (iter.Seq[int]): an iterator must be the only result besides the error"},
			{func() iter.Seq[Result] { return nil }, "an iterator's elements are values"},
			{func() iter.Seq[chan int] { return nil }, "its elements cannot be sent as WAMP values"},
		} {
			err := Register(c, "test.stream.bad", tc.fn)
			require.ErrorIs(t, err, ErrSignature)
			require.ErrorContains(t, err, tc.want)
		}
		require.ErrorContains(t, Register(c, "test.stream.bad", sumStream, WithInputBuffer(0)), "WithInputBuffer(0): want at least 1")
	})
}

// A consumer slower than its caller fills the bounded buffer: the call
// fails with InputOverflowURI; meanwhile, and after, other calls on the
// same callee session are served.
func TestInputStreamOverflow(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			other := tr.Connect(t, transport)
			ctx := t.Context()
			gate := make(chan struct{})
			// Buffered: a chunk in flight when the overflowing call fails
			// may start a call of its own (see sendChunks).
			started := make(chan struct{}, 16)
			recvErr := make(chan error, 16)
			require.NoError(t, Register(callee, "test.stream.stuck", func(in InputStream[int]) error {
				started <- struct{}{}
				<-gate // stuck: reads nothing
				_, err := sumStream(ctx, in)
				recvErr <- err
				return err
			}, WithInputBuffer(3)))
			require.NoError(t, Register(callee, "test.stream.ping", func() string { return "pong" }))

			// The consumer is stuck with the buffer not yet full: other
			// calls on the callee's session are served.
			stuck := make(chan error, 1)
			go func() {
				_, err := sendChunks(ctx, caller, "test.stream.stuck", nil, ints(1, 2, 3), nil)
				stuck <- err
			}()
			<-started
			res, err := other.Call(ctx, "test.stream.ping", nil, nil, nil, nil)
			require.NoError(t, err)
			require.Equal(t, wamp.List{"pong"}, res.Arguments)

			// A stream longer than the buffer overflows it.
			overflow := make(chan error, 1)
			go func() {
				_, err := sendChunks(ctx, other, "test.stream.stuck", nil, ints(1, 2, 3, 4, 5, 6), nil)
				overflow <- err
			}()
			<-started
			select {
			case err := <-overflow:
				werr := callErr(t, err)
				require.Equal(t, InputOverflowURI, werr.Error)
				require.Contains(t, werr.Arguments[0], "test.stream.stuck: more than 3 input values unread")
			case <-time.After(10 * time.Second):
				t.Fatal("the overflowing call did not fail")
			}
			res, err = other.Call(ctx, "test.stream.ping", nil, nil, nil, nil)
			require.NoError(t, err)
			require.Equal(t, wamp.List{"pong"}, res.Arguments, "served after the overflow too")
			close(gate)
			// The first call (3 values, within the buffer) completes, and
			// the overflowing one's function learns of the overflow.
			require.NoError(t, <-stuck)
			var errs []error
			for !slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, ErrInputOverflow) }) {
				select {
				case err := <-recvErr:
					errs = append(errs, err)
				case <-time.After(10 * time.Second):
					t.Fatalf("Recv did not return ErrInputOverflow; the functions saw %v", errs)
				}
			}
		})
	}
}

// Cancelling a streaming call reaches the function's Recv; a caller that
// leaves mid-stream is documented by what the function sees.
func TestInputStreamCancel(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
			got := make(chan int, 100)
			recvErr := make(chan error, 1)
			require.NoError(t, Register(callee, "test.stream.endless", func(in InputStream[int]) error {
				for v, err := range in.All() {
					if err != nil {
						recvErr <- err
						return err
					}
					got <- v
				}
				recvErr <- io.EOF
				return nil
			}))
			var send func(ctx context.Context, in iter.Seq[int]) error
			require.NoError(t, Bind(caller, "test.stream.endless", &send))
			ctx, cancel := context.WithCancel(t.Context())
			endless := func(yield func(int) bool) {
				for i := 0; ; i++ {
					if i == 3 {
						// Cancel once three values reached the function.
						for range 3 {
							<-got
						}
						cancel()
					}
					if !yield(i) {
						return
					}
				}
			}
			err := send(ctx, endless)
			require.ErrorIs(t, err, context.Canceled)
			select {
			case err := <-recvErr:
				require.ErrorIs(t, err, context.Canceled, "Recv returns the context's error")
			case <-time.After(10 * time.Second):
				t.Fatal("the function's Recv did not return after the cancellation")
			}
		})
	}
}

// The function returns before the stream ends: its result goes out with
// the caller's final chunk, the values in between are dropped, and no
// chunk starts a call of its own (as the nexus router would make of a
// chunk that arrives after the answer).
func TestInputStreamEarlyReturn(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			var mu sync.Mutex
			runs := 0
			returned := make(chan struct{}, 16)
			require.NoError(t, Register(callee, "test.stream.first", func(in InputStream[int]) (int, error) {
				mu.Lock()
				runs++
				mu.Unlock()
				defer func() { returned <- struct{}{} }()
				return in.Recv()
			}))
			var first func(ctx context.Context, in iter.Seq[int]) (int, error)
			require.NoError(t, Bind(caller, "test.stream.first", &first))
			slow := func(yield func(int) bool) {
				for i := 1; i <= 5; i++ {
					if i == 2 {
						<-returned // the function has its answer before chunk 1 is sent
					}
					if !yield(i * 10) {
						return
					}
				}
			}
			n, err := first(t.Context(), slow)
			require.NoError(t, err)
			require.Equal(t, 10, n)
			// Raw chunks, all sent: the same.
			res, err := sendChunks(t.Context(), caller, "test.stream.first", nil, ints(1, 2, 3, 4, 5), nil)
			require.NoError(t, err)
			require.EqualValues(t, 1, asInt(t, res.Arguments[0]))
			<-returned
			n, err = first(t.Context(), slices.Values([]int{7}))
			require.NoError(t, err)
			require.Equal(t, 7, n)
			<-returned
			mu.Lock()
			require.Equal(t, 3, runs, "one run per call: no chunk started a call of its own")
			mu.Unlock()
		})
	}
}

func TestIteratorResults(t *testing.T) {
	type row struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
			ctx := t.Context()
			require.NoError(t, Register(callee, "test.iter.count", func(n int) iter.Seq[int] {
				return func(yield func(int) bool) {
					for i := range n {
						if !yield(i) {
							return
						}
					}
				}
			}))
			require.NoError(t, Register(callee, "test.iter.rows", func(ctx context.Context, q string) (iter.Seq2[row, error], error) {
				if q == "" {
					return nil, &ArgumentError{Index: 0, Name: "q", Msg: "must not be empty"}
				}
				return func(yield func(row, error) bool) {
					for i := range 4 {
						if i == 3 {
							yield(row{}, &Error{URI: "com.example.error.broken", Args: wamp.List{"row 3"}})
							return
						}
						if !yield(row{ID: i, Name: q}, nil) {
							return
						}
					}
				}, nil
			}))

			// With progress: each element a progressive result, then an
			// empty final result.
			var progress []wamp.List
			res, err := caller.Call(ctx, "test.iter.count", nil, wamp.List{3}, nil, func(r *wamp.Result) { progress = append(progress, r.Arguments) })
			require.NoError(t, err)
			require.Empty(t, res.Arguments)
			require.Len(t, progress, 3)
			for i, p := range progress {
				require.EqualValues(t, i, asInt(t, p[0]))
			}
			// Without: one list of every element.
			res, err = caller.Call(ctx, "test.iter.count", nil, wamp.List{3}, nil, nil)
			require.NoError(t, err)
			require.Len(t, res.Arguments, 1)
			l, ok := wamp.AsList(res.Arguments[0])
			require.True(t, ok)
			require.Len(t, l, 3)
			res, err = caller.Call(ctx, "test.iter.count", nil, wamp.List{0}, nil, nil)
			require.NoError(t, err)
			require.Len(t, res.Arguments, 1)
			l, _ = wamp.AsList(res.Arguments[0])
			require.Empty(t, l, "no elements: one empty list")

			// A bound func ranges over the results as they come; a Seq2
			// error is the last element's error, after the elements sent.
			var rows func(ctx context.Context, q string) iter.Seq2[row, error]
			require.NoError(t, Bind(caller, "test.iter.rows", &rows))
			var got []row
			var last error
			for r, err := range rows(ctx, "x") {
				if err != nil {
					last = err
					break
				}
				got = append(got, r)
			}
			require.Equal(t, []row{{0, "x"}, {1, "x"}, {2, "x"}}, got)
			var werr *Error
			require.ErrorAs(t, last, &werr)
			require.Equal(t, wamp.URI("com.example.error.broken"), werr.URI)
			// The function's own error, before any element.
			for _, err := range rows(ctx, "") {
				require.ErrorContains(t, err, "argument 0 (q): must not be empty")
			}
			// Against a callee that does not stream: its one list.
			require.NoError(t, Register(callee, "test.iter.list", func() []int { return []int{4, 5} }))
			var list func() iter.Seq2[int, error]
			require.NoError(t, Bind(caller, "test.iter.list", &list))
			var xs []int
			for x, err := range list() {
				require.NoError(t, err)
				xs = append(xs, x)
			}
			require.Equal(t, []int{4, 5}, xs)
			require.NoError(t, Register(callee, "test.iter.two", func() (int, int) { return 4, 5 }))
			require.NoError(t, Bind(caller, "test.iter.two", &list))
			for _, err := range list() {
				require.ErrorContains(t, err, "wampfn: call test.iter.two: final result: want nothing, or one list of the elements, got 2 values")
			}

			// The limit for a caller that did not ask for progress.
			require.NoError(t, Register(callee, "test.iter.limited", func(n int) iter.Seq[int] {
				return slices.Values(make([]int, n))
			}, WithIteratorLimit(3)))
			_, err = caller.Call(ctx, "test.iter.limited", nil, wamp.List{4}, nil, nil)
			werr2 := callErr(t, err)
			require.Equal(t, ErrRuntimeError, werr2.Error)
			require.Contains(t, werr2.Arguments[0], "test.iter.limited: the iterator has more than 3 elements")
			_, err = caller.Call(ctx, "test.iter.limited", nil, wamp.List{4}, nil, func(*wamp.Result) {})
			require.NoError(t, err, "with progress, no limit")
		})
	}
}

// Breaking out of a bound iterator cancels the call, and the callee's
// iteration stops.
func TestIteratorCancel(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
			var mu sync.Mutex
			produced := 0
			stopped := make(chan struct{})
			require.NoError(t, Register(callee, "test.iter.endless", func() iter.Seq[int] {
				return func(yield func(int) bool) {
					defer close(stopped)
					for i := 0; ; i++ {
						mu.Lock()
						produced++
						mu.Unlock()
						if !yield(i) {
							return
						}
						time.Sleep(time.Millisecond)
					}
				}
			}))
			var endless func(ctx context.Context) iter.Seq2[int, error]
			require.NoError(t, Bind(caller, "test.iter.endless", &endless))
			var got []int
			for v, err := range endless(t.Context()) {
				require.NoError(t, err)
				got = append(got, v)
				if len(got) == 3 {
					break
				}
			}
			require.Equal(t, []int{0, 1, 2}, got)
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("the callee's iteration did not stop after the caller broke out")
			}
		})
	}
}

// A caller that leaves mid-stream (a raw peer: nexus's own client panics
// when it is closed during CallProgressive): the nexus router does not
// tell the callee, so the function learns of it from the idle timeout.
func TestInputStreamCallerLeaves(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			got := make(chan int, 16)
			recvErr := make(chan error, 1)
			require.NoError(t, Register(callee, "test.stream.left", func(in InputStream[int]) error {
				for v, err := range in.All() {
					if err != nil {
						recvErr <- err
						return err
					}
					got <- v
				}
				recvErr <- nil
				return nil
			}, WithInputIdleTimeout(300*time.Millisecond)))
			wc := dialWire(t, tr, transport)
			for i := range 3 {
				wc.peer.Send() <- &wamp.Call{Request: 1, Procedure: "test.stream.left",
					Options: wamp.Dict{wamp.OptProgress: true}, Arguments: wamp.List{i}}
			}
			for range 3 {
				<-got
			}
			wc.leave()
			select {
			case err := <-recvErr:
				require.ErrorIs(t, err, ErrInputIdle, "the router sent no INTERRUPT: the idle timeout ended the stream")
			case <-time.After(10 * time.Second):
				t.Fatal("the function's Recv did not return after the caller left")
			}
		})
	}
}

// A caller closed as soon as a cancelled streaming call returns: nexus
// v3.3.0's chunk goroutine, which asks for one more chunk after the call
// ended, must not send anything then (a send on the closed client's
// channel panics and takes the process down), and no chunk may run the
// function a second time (nexus can hand the callee a chunk it had queued
// after the INTERRUPT). Many rounds, since each window is a goroutine
// switch wide.
func TestInputStreamCancelThenClose(t *testing.T) {
	leakCheck(t)
	// More Ps than this machine's 2 cores widen the windows: with 4, the
	// panic came within 500 rounds in 4 runs of 5 before the fix, and
	// with the caller fixed alone the function ran 561 to 578 times.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	var runs atomic.Int64
	require.NoError(t, Register(callee, "test.stream.drain", func(in InputStream[int]) error {
		runs.Add(1)
		for _, err := range in.All() {
			if err != nil {
				return err
			}
		}
		return nil
	}))
	const rounds = 500
	for round := range rounds {
		caller := tr.Connect(t, wampfntest.InProcess)
		// kill: the router answers once the callee has, so that the
		// callee keeps up (with killnowait the caller's rounds outrun it,
		// and the router refuses calls: "callee blocked").
		require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
		var send func(ctx context.Context, in iter.Seq[int]) error
		require.NoError(t, Bind(caller, "test.stream.drain", &send))
		ctx, cancel := context.WithCancel(t.Context())
		endless := func(yield func(int) bool) {
			for i := 0; yield(i); i++ {
				if i == 2 {
					cancel()
				}
			}
		}
		err := send(ctx, endless)
		require.ErrorIs(t, err, context.Canceled, "round %d", round)
		require.NoError(t, caller.Close(), "round %d", round)
	}
	require.Equal(t, int64(rounds), runs.Load(), "one run of the function per call")
}
