package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

// loadLine is the statistics line of a load run.
var loadLine = regexp.MustCompile(`^(\d+) calls in (\S+): ([0-9.]+) calls/s, p50 (\S+), p99 (\S+), (\d+) errors$`)

// parseLoadLine parses the statistics line, failing t if it is not one.
func parseLoadLine(t *testing.T, line string) (calls int, elapsed time.Duration, rate float64, p50, p99 time.Duration, errs int) {
	t.Helper()
	m := loadLine.FindStringSubmatch(line)
	require.NotNil(t, m, "not a statistics line: %q", line)
	var err error
	calls, err = strconv.Atoi(m[1])
	require.NoError(t, err)
	elapsed, err = time.ParseDuration(m[2])
	require.NoError(t, err)
	rate, err = strconv.ParseFloat(m[3], 64)
	require.NoError(t, err)
	p50, err = time.ParseDuration(m[4])
	require.NoError(t, err)
	p99, err = time.ParseDuration(m[5])
	require.NoError(t, err)
	errs, err = strconv.Atoi(m[6])
	require.NoError(t, err)
	return calls, elapsed, rate, p50, p99, errs
}

func TestLoad(t *testing.T) {
	noLeaks(t)
	r, _ := newCallRouter(t)
	for _, ser := range callSerializers {
		t.Run(ser, func(t *testing.T) {
			code, out, errOut := runCLI(t.Context(), "call", "--url", r.URL(), "--serializer", ser,
				"--repeat", "200", "--concurrency", "4", "test.add", "2", "3")
			require.Equal(t, exitOK, code, "stderr: %q", errOut)
			require.Empty(t, out, "no results in load mode")
			require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			calls, elapsed, rate, p50, p99, errs := parseLoadLine(t, strings.TrimSuffix(errOut, "\n"))
			require.Equal(t, 200, calls)
			require.Equal(t, 0, errs)
			require.Positive(t, elapsed)
			require.Positive(t, rate)
			require.Positive(t, p50)
			require.LessOrEqual(t, p50, p99)
		})
	}

	// --progress: the load of a progressive call; nothing printed.
	code, out, errOut := runCLI(t.Context(), "call", "--url", r.URL(), "--progress", "--timeout", "10s",
		"--repeat", "20", "--concurrency", "3", "test.count", "5")
	require.Equal(t, exitOK, code, "stderr: %q", errOut)
	require.Empty(t, out)
	calls, _, _, _, _, errs := parseLoadLine(t, strings.TrimSuffix(errOut, "\n"))
	require.Equal(t, 20, calls)
	require.Equal(t, 0, errs)

	// --concurrency alone: a load run of one call.
	code, _, errOut = runCLI(t.Context(), "call", "--url", r.URL(), "--concurrency", "8", "test.add", "2", "3")
	require.Equal(t, exitOK, code, "stderr: %q", errOut)
	calls, _, _, _, _, _ = parseLoadLine(t, strings.TrimSuffix(errOut, "\n"))
	require.Equal(t, 1, calls)
}

// TestLoadErrors: failed calls are counted, the first is shown, and the
// exit status is 1.
func TestLoadErrors(t *testing.T) {
	noLeaks(t)
	r, _ := newCallRouter(t)
	code, out, errOut := runCLI(t.Context(), "call", "--url", r.URL(), "--repeat", "10", "--concurrency", "2", "test.fail")
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	require.Len(t, lines, 2, "stderr: %q", errOut)
	require.Equal(t, `wampfn: call test.fail: first of 10 errors: com.example.error.not_found args=["no book 42"] kwargs={"id":42}`, lines[0])
	calls, _, _, _, _, errs := parseLoadLine(t, lines[1])
	require.Equal(t, 10, calls)
	require.Equal(t, 10, errs)
}

// TestLoadInterrupt: ctx ends during a load run: the calls under way are
// cancelled, no more begin, and wampfn exits 130 with one line.
func TestLoadInterrupt(t *testing.T) {
	noLeaks(t)
	r, ev := newCallRouter(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// Both workers' first calls have begun.
		for range 2 {
			select {
			case <-ev.started:
			case <-time.After(calleeWaitLimit):
			}
		}
		cancel()
	}()
	code, out, errOut := runCLI(ctx, "call", "--url", r.URL(), "--repeat", "100", "--concurrency", "2", "test.block")
	require.Equal(t, exitInterrupted, code, "stderr: %q", errOut)
	require.Empty(t, out)
	require.Equal(t, "wampfn: call test.block: interrupted after 0 of 100 calls, 0 errors\n", errOut)
	assertCancelled(t, ev)
	assertCancelled(t, ev)
}

// progressRecorder is a terminal for loadCalls's progress line: it
// reports each write on writes.
type progressRecorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan struct{}
}

func (w *progressRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.writes <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}

func (w *progressRecorder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestLoadProgressLine: on a terminal, a progress line rewritten every
// tick while the calls run, cleared at the end.
func TestLoadProgressLine(t *testing.T) {
	noLeaks(t)
	r, ev := newCallRouter(t)
	c := r.Connect(t, wampfntest.JSON)
	w := &progressRecorder{writes: make(chan struct{}, 1)}
	go func() {
		// The calls are held until the progress line has been written.
		select {
		case <-w.writes:
		case <-time.After(calleeWaitLimit):
		}
		close(ev.release)
	}()
	st := loadCalls(t.Context(), loadSpec{c: c, procedure: "test.block"}, 3, 3, w, 10*time.Millisecond)
	require.False(t, st.interrupted)
	require.Equal(t, 3, st.finished)
	require.Zero(t, st.failed)
	require.Len(t, st.latencies, 3)
	got := w.String()
	require.Regexp(t, `^\r0 of 3 calls, 0 errors, \S+`, got)
	require.True(t, strings.HasSuffix(got, "\r\x1b[K"), "the line is cleared at the end: %q", got)
}

func TestLoadStats(t *testing.T) {
	ms := time.Millisecond
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*ms)
	}
	st := loadStats{n: 100, finished: 100, failed: 3, elapsed: 2 * time.Second, latencies: lat}
	require.Equal(t, "100 calls in 2s: 50.0 calls/s, p50 50ms, p99 99ms, 3 errors", st.summary())

	tests := []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{1, 2}, 50, 1},
		{[]time.Duration{1, 2}, 99, 2},
		{[]time.Duration{1, 2, 3}, 50, 2},
		{[]time.Duration{1, 2, 3}, 0, 1},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, percentile(tt.sorted, tt.p), "%v p%d", tt.sorted, tt.p)
	}

	rounds := map[time.Duration]string{
		0:                        "0s",
		999:                      "999ns",
		1234:                     "1.23µs",
		612345 * time.Nanosecond: "612µs",
		2134567:                  "2.13ms",
		153456789:                "153ms",
		1234567890:               "1.23s",
		123456789012:             "2m3s",
	}
	for d, want := range rounds {
		require.Equal(t, want, roundDuration(d).String(), "%d", int64(d))
	}
}

func TestIsTerminal(t *testing.T) {
	require.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	require.False(t, isTerminal(f), "a regular file")
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no %s: %v", os.DevNull, err)
	}
	defer null.Close()
	require.False(t, isTerminal(null), "the null device: a character device, but no terminal")
	// The terminal, if the test has one.
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		require.True(t, isTerminal(tty), "/dev/tty")
	}
}

// BenchmarkLoad compares wampfn call's load mode (loadCalls, as runLoad
// calls it: N = b.N, C = 4) with a hand-written nexus caller loop (4
// goroutines calling c.Call), both on a WebSocket JSON client to the same
// router and calling the same procedure, test.add registered with wampfn
// by an in-process callee. Sub-benchmarks: loop, cli, and interleaved,
// which alternates the two every loadBenchBlock calls and times each
// apart, reporting loop-ns/call, cli-ns/call and their ratio, cli/loop:
//
//	go test -run '^$' -bench BenchmarkLoad -count 6 ./cmd/wampfn/
func BenchmarkLoad(b *testing.B) {
	const conc = 4
	r := wampfntest.NewRouter(b)
	callee := r.Connect(b, wampfntest.InProcess)
	if err := wampfn.Register(callee, "bench.add", func(a, b int) int { return a + b }); err != nil {
		b.Fatal(err)
	}
	args := wamp.List{2, 3}

	// The CLI's client, connected as wampfn call connects.
	cf := connFlags{url: r.URL(), realm: r.Realm(), serializer: "json"}
	cliClient, code := cf.connect(b.Context(), os.Stderr)
	if cliClient == nil {
		b.Fatalf("connect: exit status %d", code)
	}
	b.Cleanup(func() { closeWithin(cliClient, closeWait) })
	if err := cliClient.SetCallCancelMode(wamp.CancelModeKill); err != nil {
		b.Fatal(err)
	}
	spec := loadSpec{c: cliClient, procedure: "bench.add", args: args}
	cli := func(b *testing.B, n int) {
		st := loadCalls(context.Background(), spec, n, min(conc, n), nil, loadTick)
		if st.failed > 0 {
			b.Fatalf("%d of %d calls failed, the first with %v", st.failed, n, st.firstErr)
		}
	}

	// The hand-written loop's client: the same kind.
	loopClient := r.Connect(b, wampfntest.JSON)
	loop := func(b *testing.B, n int) {
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		for range min(conc, n) {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					if _, err := loopClient.Call(context.Background(), "bench.add", nil, args, nil, nil); err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d of %d calls failed", failed.Load(), n)
		}
	}

	sides := []struct {
		name string
		run  func(b *testing.B, n int)
	}{{"loop", loop}, {"cli", cli}}
	for _, side := range sides {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			side.run(b, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/call")
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		var spent [2]time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i += loadBenchBlock {
			n := min(loadBenchBlock, b.N-i)
			for k := range 2 {
				s := (i/loadBenchBlock + k) % 2 // who goes first alternates
				t0 := time.Now()
				sides[s].run(b, n)
				spent[s] += time.Since(t0)
			}
		}
		b.StopTimer()
		for s, side := range sides {
			b.ReportMetric(float64(spent[s].Nanoseconds())/float64(b.N), side.name+"-ns/call")
		}
		b.ReportMetric(float64(spent[1])/float64(spent[0]), "cli/loop")
	})
}

// loadBenchBlock is how many calls each side makes in a row in
// BenchmarkLoad/interleaved.
const loadBenchBlock = 200
