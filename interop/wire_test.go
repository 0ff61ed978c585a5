package interop_test

// Wire conformance: a raw WAMP caller over WebSocket with JSON (subprotocol wamp.2.json),
// with no client library in between, checks the messages the router forwards from a
// wampfn callee: progressive RESULTs carry Details.progress = true, the final RESULT does
// not, a caller that did not ask for progress gets exactly one RESULT, and nothing arrives
// for a request after its final RESULT or its ERROR.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// WAMP message type codes.
const (
	mHello     = 1
	mWelcome   = 2
	mGoodbye   = 6
	mError     = 8
	mCall      = 48
	mCancel    = 49
	mResult    = 50
	wireSilent = 3 * interval // how long "nothing more arrives" is watched for
)

// wireMsg is one message as received: the raw text and the decoded list (numbers as
// json.Number, so that 3 and 3.0 differ).
type wireMsg struct {
	raw string
	l   []any
}

func (m wireMsg) typ() string    { return fmt.Sprint(m.l[0]) }
func (m wireMsg) String() string { return m.raw }

// wirePeer is a raw WAMP session over one WebSocket connection. A goroutine reads every
// message into a channel, so a test can wait for the next one, or for none, with a
// deadline (gorilla/websocket connections are unusable after a read times out).
type wirePeer struct {
	t    *testing.T
	conn *websocket.Conn
	in   chan wireMsg
	id   int
}

func dialWire(t *testing.T, url string) *wirePeer {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"wamp.2.json"}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(url, http.Header{})
	require.NoError(t, err)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	require.Equal(t, "wamp.2.json", conn.Subprotocol())
	t.Cleanup(func() { _ = conn.Close() })

	w := &wirePeer{t: t, conn: conn, in: make(chan wireMsg, 256)}
	go func() {
		defer close(w.in)
		for {
			typ, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if typ != websocket.TextMessage {
				w.in <- wireMsg{raw: fmt.Sprintf("non-text frame %d", typ), l: []any{"?"}}
				continue
			}
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.UseNumber()
			var l []any
			if err := dec.Decode(&l); err != nil || len(l) == 0 {
				w.in <- wireMsg{raw: "undecodable: " + string(data), l: []any{"?"}}
				continue
			}
			w.in <- wireMsg{raw: string(data), l: l}
		}
	}()

	// HELLO as a caller announcing progressive call results and call canceling.
	w.send(mHello, realm, map[string]any{"roles": map[string]any{"caller": map[string]any{
		"features": map[string]any{"progressive_call_results": true, "call_canceling": true},
	}}})
	welcome := w.next()
	require.Equal(t, fmt.Sprint(mWelcome), welcome.typ(), "expected WELCOME, got %s", welcome)
	return w
}

func (w *wirePeer) send(msg ...any) {
	w.t.Helper()
	b, err := json.Marshal(msg)
	require.NoError(w.t, err)
	require.NoError(w.t, w.conn.WriteMessage(websocket.TextMessage, b))
}

// next returns the next message; it fails the test if none comes within 10 s.
func (w *wirePeer) next() wireMsg {
	w.t.Helper()
	select {
	case m, ok := <-w.in:
		require.True(w.t, ok, "connection closed")
		return m
	case <-time.After(10 * time.Second):
		w.t.Fatal("no message within 10s")
	}
	return wireMsg{}
}

// call sends CALL and returns its request ID.
func (w *wirePeer) call(opts map[string]any, proc string, args ...any) int {
	w.t.Helper()
	w.id++
	if args == nil {
		w.send(mCall, w.id, opts, proc)
	} else {
		w.send(mCall, w.id, opts, proc, args)
	}
	return w.id
}

// silentFor checks that nothing arrives for d, then that a fresh call to noop is answered
// by the very next message: anything still due for an earlier request that the callee
// sent before noop's YIELD would come first (the dealer keeps one callee's order).
func (w *wirePeer) silentFor(d time.Duration, noop string, after string) {
	w.t.Helper()
	select {
	case m, ok := <-w.in:
		if ok {
			w.t.Fatalf("nothing may arrive after %s, got %s", after, m)
		}
		w.t.Fatalf("connection closed after %s", after)
	case <-time.After(d):
	}
	id := w.call(map[string]any{}, noop)
	m := w.next()
	require.Equal(w.t, fmt.Sprintf("[%d,%d,{}]", mResult, id), m.raw,
		"after %s the next message must be the barrier call's empty RESULT", after)
}

// requireResult checks m is a RESULT for id with the given Arguments (as JSON) and
// progress flag. A final RESULT must carry no "progress" detail at all.
func requireResult(t *testing.T, m wireMsg, id int, progress bool, argsJSON string) {
	t.Helper()
	require.GreaterOrEqual(t, len(m.l), 3, "%s", m)
	require.Equal(t, fmt.Sprint(mResult), m.typ(), "expected RESULT, got %s", m)
	require.Equal(t, fmt.Sprint(id), fmt.Sprint(m.l[1]), "%s", m)
	details, ok := m.l[2].(map[string]any)
	require.True(t, ok, "%s", m)
	if progress {
		require.Equal(t, true, details["progress"], "a progressive RESULT has Details.progress = true: %s", m)
	} else {
		require.NotContains(t, details, "progress", "the final RESULT has no progress detail: %s", m)
	}
	require.Len(t, m.l, 4, "RESULT with Arguments only: %s", m)
	require.Equal(t, js(t, argsJSON), m.l[3], "%s", m)
}

func requireCallError(t *testing.T, m wireMsg, id int, uri string) {
	t.Helper()
	require.GreaterOrEqual(t, len(m.l), 5, "%s", m)
	require.Equal(t, fmt.Sprint(mError), m.typ(), "expected ERROR, got %s", m)
	require.Equal(t, fmt.Sprint(mCall), fmt.Sprint(m.l[1]), "%s", m)
	require.Equal(t, fmt.Sprint(id), fmt.Sprint(m.l[2]), "%s", m)
	require.Equal(t, uri, m.l[4], "%s", m)
}

func TestWireConformance(t *testing.T) {
	tr := newTestRouter(t)
	ce := newCallee(t, tr, newPrefix())
	w := dialWire(t, tr.wsURL)
	longop, noop := ce.prefix+"longop", ce.prefix+"noop"
	progress := map[string]any{"receive_progress": true}

	t.Run("progress", func(t *testing.T) {
		w.t = t
		id := w.call(progress, longop, 3)
		for i := range 3 {
			m := w.next()
			requireResult(t, m, id, true, fmt.Sprintf("[%d]", i))
			require.Equal(t, fmt.Sprintf(`[%d,%d,{"progress":true},[%d]]`, mResult, id, i), m.raw,
				"integers go out as integers")
		}
		m := w.next()
		requireResult(t, m, id, false, "[3]")
		require.Equal(t, fmt.Sprintf(`[%d,%d,{},[3]]`, mResult, id), m.raw)
		w.silentFor(wireSilent, noop, "the final RESULT")
	})

	t.Run("no progress without receive_progress", func(t *testing.T) {
		w.t = t
		for _, opts := range []map[string]any{{}, {"receive_progress": false}} {
			id := w.call(opts, longop, 2)
			requireResult(t, w.next(), id, false, "[2]")
			w.silentFor(wireSilent, noop, fmt.Sprintf("the only RESULT (options %v)", opts))
		}
		// chatty sends progress without asking Wanted: none may reach this caller.
		id := w.call(map[string]any{}, ce.prefix+"chatty", 3)
		requireResult(t, w.next(), id, false, "[3]")
		w.silentFor(wireSilent, noop, "the only RESULT of chatty")
		// failafter sends progress, then fails: only the ERROR.
		id = w.call(map[string]any{}, ce.prefix+"failafter", 2)
		requireCallError(t, w.next(), id, customURI)
		w.silentFor(wireSilent, noop, "the only ERROR of failafter")

		recs := ce.waitDone(t, 5*time.Second)
		for _, r := range recs[len(recs)-2:] {
			require.False(t, r.wanted)
			require.Empty(t, r.sent)
		}
	})

	t.Run("error", func(t *testing.T) {
		w.t = t
		for _, c := range []struct {
			args []any
			msg  string
		}{
			{[]any{"three"}, msgBadString},
			{nil, msgMissing},
			{[]any{3, 4}, msgTooMany},
			{[]any{1.5}, `argument 0 (n): cannot use float64 1.5 as int`},
		} {
			id := w.call(progress, longop, c.args...)
			m := w.next()
			requireCallError(t, m, id, invalidArgURI)
			require.Len(t, m.l, 6, "ERROR with Arguments only: %s", m)
			require.Equal(t, []any{c.msg}, m.l[5], "%s", m)
			w.silentFor(wireSilent, noop, "the ERROR")
		}
	})

	t.Run("integral float accepted", func(t *testing.T) {
		// JavaScript callers have only doubles: 2.0 must do for an int parameter.
		w.t = t
		w.id++
		id := w.id
		require.NoError(t, w.conn.WriteMessage(websocket.TextMessage,
			fmt.Appendf(nil, `[%d,%d,{},%q,[2.0]]`, mCall, id, longop)))
		requireResult(t, w.next(), id, false, "[2]")
		w.silentFor(wireSilent, noop, "the RESULT")
	})

	t.Run("error after progress", func(t *testing.T) {
		w.t = t
		id := w.call(progress, ce.prefix+"failafter", 2)
		requireResult(t, w.next(), id, true, "[0]")
		requireResult(t, w.next(), id, true, "[1]")
		m := w.next()
		requireCallError(t, m, id, customURI)
		require.Len(t, m.l, 7, "%s", m)
		require.Equal(t, jv(t, customArgs), m.l[5], "%s", m)
		require.Equal(t, jv(t, customKwargs), m.l[6], "%s", m)
		w.silentFor(wireSilent, noop, "the ERROR")
	})

	t.Run("cancel kill", func(t *testing.T) {
		w.t = t
		before := len(ce.records())
		id := w.call(progress, longop, 1000)
		requireResult(t, w.next(), id, true, "[0]")
		w.send(mCancel, id, map[string]any{"mode": "kill"})
		seen := 1
		for {
			m := w.next()
			if m.typ() == fmt.Sprint(mResult) {
				// sent before the INTERRUPT arrived
				requireResult(t, m, id, true, fmt.Sprintf("[%d]", seen))
				seen++
				continue
			}
			requireCallError(t, m, id, canceledURI)
			break
		}
		w.silentFor(wireSilent, noop, "the ERROR of a cancelled call")
		recs := ce.waitDone(t, 5*time.Second)
		require.Len(t, recs, before+1)
		requireCancelled(t, recs[before], seen, true)
	})

	t.Run("results", func(t *testing.T) {
		w.t = t
		// An empty final YIELD: no empty Arguments list.
		id := w.call(map[string]any{}, noop)
		require.Equal(t, fmt.Sprintf("[%d,%d,{}]", mResult, id), w.next().raw)

		// A struct is a dict keyed as encoding/json keys it.
		id = w.call(map[string]any{}, ce.prefix+"item")
		requireResult(t, w.next(), id, false, "["+itemJSON+"]")

		// Bytes on JSON: the WAMP convention, "\x00" + base64.
		id = w.call(map[string]any{}, ce.prefix+"blob")
		m := w.next()
		requireResult(t, m, id, false, string(mustJSON(t, []string{"\x00" + base64.StdEncoding.EncodeToString(blobBytes)})))

		// A custom *wampfn.Error.
		id = w.call(map[string]any{}, ce.prefix+"fail")
		m = w.next()
		requireCallError(t, m, id, customURI)
		require.Equal(t, jv(t, customArgs), m.l[5], "%s", m)
		require.Equal(t, jv(t, customKwargs), m.l[6], "%s", m)
	})

	w.t = t
	w.send(mGoodbye, map[string]any{}, "wamp.close.system_shutdown")
	// nexus answers GOODBYE and closes; it sometimes closes the connection before its
	// GOODBYE goes out, which is the router's business, not wampfn's.
	select {
	case m, ok := <-w.in:
		if ok {
			require.Equal(t, fmt.Sprint(mGoodbye), m.typ(), "expected GOODBYE, got %s", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no GOODBYE within 10s")
	}
}
