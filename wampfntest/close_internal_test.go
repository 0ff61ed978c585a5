package wampfntest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// When the router's cleanup closes the WebSocket server and the router,
// every client, those of Connect (closed by their own cleanup, run first)
// and those of a dial function (closed by the router's cleanup), has
// already ended its session, and none is tracked any more.
func TestCloseClosesClientsBeforeRouter(t *testing.T) {
	var (
		r       *Router
		clients []*client.Client
		done    []bool // whether each client's session had ended
		tracked = -1
	)
	t.Run("router", func(t *testing.T) {
		r = NewRouter(t)
		callee := r.Connect(t, InProcess)
		require.NoError(t, callee.Register("test.echo", echo, nil))
		clients = append(clients, callee)
		for _, tr := range Transports {
			c := r.Connect(t, tr)
			clients = append(clients, c)
			_, err := c.Call(t.Context(), "test.echo", nil, wamp.List{1}, nil, nil)
			require.NoError(t, err)

			c, err = r.Dialer(tr)(t.Context())
			require.NoError(t, err)
			clients = append(clients, c)
			_, err = c.Call(t.Context(), "test.echo", nil, wamp.List{1}, nil, nil)
			require.NoError(t, err)
		}
		r.beforeServerClose = func() {
			for _, c := range clients {
				select {
				case <-c.Done():
					done = append(done, true)
				default:
					done = append(done, false)
				}
			}
			r.mu.Lock()
			tracked = len(r.clients)
			r.mu.Unlock()
		}
	})
	require.Len(t, done, len(clients), "Close ran its hook once")
	for i, d := range done {
		assert.True(t, d, "client %d still connected when the router closed", i)
	}
	assert.Zero(t, tracked, "clients still tracked when the router closed")
	select {
	case <-r.serveDone:
	default:
		t.Error("WebSocket server still serving")
	}
	_, err := r.Dialer(JSON)(t.Context())
	assert.ErrorIs(t, err, ErrClosed)
}

// A client that cannot close (its run loop is held by an event handler)
// is reported and abandoned after its bound: Close does not hang, and goes
// on to close the router.
func TestCloseBoundsStuckClient(t *testing.T) {
	defer func(d time.Duration) { closeGrace = d }(closeGrace)
	closeGrace = 100 * time.Millisecond

	rec := &recordingTB{TB: t}
	r := NewRouter(rec)
	stuck, err := r.Dialer(InProcess, WithClientConfig(func(cfg *client.Config) {
		cfg.ResponseTimeout = 50 * time.Millisecond
	}))(t.Context())
	require.NoError(t, err)
	release := make(chan struct{})
	held := make(chan struct{})
	require.NoError(t, stuck.Subscribe("test.hold", func(*wamp.Event) {
		close(held)
		<-release
	}, nil))
	pub, err := r.Dialer(JSON)(t.Context())
	require.NoError(t, err)
	require.NoError(t, pub.Publish("test.hold", nil, nil, nil))
	<-held

	start := time.Now()
	r.Close()
	elapsed := time.Since(start)
	close(release)
	<-stuck.Done() // its abandoned Close goes on, now that it can

	assert.Less(t, elapsed, 2*time.Second)
	errs := rec.errors()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "did not close within 200ms")
	requireChanClosed(t, pub.Done(), "the other client")
	requireChanClosed(t, r.serveDone, "the WebSocket server")
}

func requireChanClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not closed", what)
	}
}

// recordingTB records what is reported with Errorf instead of failing.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (tb *recordingTB) Errorf(format string, args ...any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = append(tb.errs, fmt.Sprintf(format, args...))
}

func (tb *recordingTB) errors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errs...)
}

// Without a negative check, a typo in a Transport would pass silently.
func TestTransportSerialization(t *testing.T) {
	for _, tr := range Transports {
		_, ok := tr.Serialization()
		assert.Equal(t, tr != InProcess, ok, tr.String())
	}
	_, ok := Transport("tcp").Serialization()
	assert.False(t, ok)
}

func TestLogWriter(t *testing.T) {
	var b strings.Builder
	l := stdLogger(printer{&b})
	l.Print("http: something")
	assert.Equal(t, "http: something|", b.String())
}

type printer struct{ b *strings.Builder }

func (p printer) Print(v ...any)                 { p.b.WriteString(fmt.Sprint(v...) + "|") }
func (p printer) Println(v ...any)               { p.b.WriteString(fmt.Sprintln(v...) + "|") }
func (p printer) Printf(format string, v ...any) { p.b.WriteString(fmt.Sprintf(format, v...) + "|") }

func echo(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
	return client.InvokeResult{Args: inv.Arguments}
}
