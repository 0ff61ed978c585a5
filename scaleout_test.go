package wampfn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

const scaleOutProcedure = "test.scaleout.stream"

// calleeProcess is one testcallee process.
type calleeProcess struct {
	cmd    *exec.Cmd
	pid    int64
	stderr string        // its stderr's file
	ready  *readyWatcher // its stdout
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// readyWatcher is a callee's stdout: it signals on ready each "ready"
// line, which testcallee prints once its procedure is registered.
type readyWatcher struct {
	mu    sync.Mutex
	buf   []byte
	ready chan struct{}
}

func (w *readyWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if string(w.buf[:i]) == "ready" {
			select {
			case w.ready <- struct{}{}:
			default:
			}
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// goCommand returns the go command's path: the one on PATH (go test puts
// its own first), else $GOROOT/bin/go; "" when there is neither. It does
// not use runtime.GOROOT, which is deprecated.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// startCallees builds internal/testcallee and starts n processes of it
// serving scaleOutProcedure on wr; they are stopped at test cleanup.
func startCallees(t *testing.T, wr *wampfntest.Router, n int) []*calleeProcess {
	t.Helper()
	goTool := goCommand()
	if goTool == "" {
		t.Skip("no go command to build internal/testcallee (not on PATH, none in $GOROOT/bin)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "testcallee")
	// Build as this test binary was built (-race or not), so that the
	// build reuses the packages compiled for it: on a cold cache, a plain
	// build after a -race test build recompiles the standard library.
	args := []string{"build", "-o", bin}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	build := exec.CommandContext(t.Context(), goTool, append(args, "./internal/testcallee")...)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./internal/testcallee:\n%s", out)

	callees := make([]*calleeProcess, n)
	for i := range callees {
		stderr := filepath.Join(dir, fmt.Sprintf("callee%d.stderr", i))
		f, err := os.Create(stderr)
		require.NoError(t, err)
		cmd := exec.Command(bin, "-router", wr.URL(), "-realm", testRealm, "-procedure", scaleOutProcedure)
		cmd.Stderr = f
		ready := &readyWatcher{ready: make(chan struct{}, 1)}
		cmd.Stdout = ready
		require.NoError(t, cmd.Start())
		f.Close()
		ce := &calleeProcess{cmd: cmd, pid: int64(cmd.Process.Pid), stderr: stderr, ready: ready, exited: make(chan struct{})}
		go func() {
			ce.err = cmd.Wait()
			close(ce.exited)
		}()
		callees[i] = ce
		t.Cleanup(func() {
			select {
			case <-ce.exited:
				return
			default:
			}
			cmd.Process.Kill()
			<-ce.exited
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, ce := range callees {
				b, _ := os.ReadFile(ce.stderr)
				t.Logf("callee %d (pid %d) stderr:\n%s", i, ce.pid, b)
			}
		}
	})
	return callees
}

// countCallees returns how many sessions the router has on procedure's
// registration.
func countCallees(c *client.Client, procedure string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, string(wamp.MetaProcRegLookup), nil, wamp.List{procedure}, nil, nil)
	if err != nil {
		return 0, err
	}
	if len(res.Arguments) == 0 || res.Arguments[0] == nil {
		return 0, nil
	}
	res, err = c.Call(ctx, string(wamp.MetaProcRegCountCallees), nil, wamp.List{res.Arguments[0]}, nil, nil)
	if err != nil {
		return 0, err
	}
	n, _ := wamp.AsInt64(res.Arguments[0])
	return n, nil
}

// streamCall is the record of one call of scaleOutProcedure.
type streamCall struct {
	mu       sync.Mutex
	progress [][2]int64 // (pid, seq) of each progressive result, in order
	first    chan struct{}
	pid      int64 // the final result: the pid that served the call
	err      error
}

func (sc *streamCall) progressCopy() [][2]int64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return slices.Clone(sc.progress)
}

// call calls scaleOutProcedure(n, intervalMS) asking for progress.
func (sc *streamCall) call(c *client.Client, n, intervalMS int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var once sync.Once
	res, err := c.Call(ctx, scaleOutProcedure, wamp.Dict{wamp.OptReceiveProgress: true}, wamp.List{n, intervalMS}, nil,
		func(r *wamp.Result) {
			var pid, seq int64
			if len(r.Arguments) == 1 {
				if d, ok := wamp.AsDict(r.Arguments[0]); ok {
					pid, _ = wamp.AsInt64(d["pid"])
					seq, _ = wamp.AsInt64(d["seq"])
				}
			}
			sc.mu.Lock()
			sc.progress = append(sc.progress, [2]int64{pid, seq})
			sc.mu.Unlock()
			once.Do(func() { close(sc.first) })
		})
	sc.err = err
	if err == nil && len(res.Arguments) == 1 {
		sc.pid, _ = wamp.AsInt64(res.Arguments[0])
	}
}

// checkComplete fails unless the call succeeded with its n progressive
// results, in order, all from the process that returned the result.
func (sc *streamCall) checkComplete(t *testing.T, n int, what string) {
	t.Helper()
	require.NoError(t, sc.err, what)
	require.NotZero(t, sc.pid, what)
	want := make([][2]int64, n)
	for i := range want {
		want[i] = [2]int64{sc.pid, int64(i)}
	}
	require.Equal(t, want, sc.progressCopy(), "%s: progressive results", what)
}

// runCalls makes count calls, at most parallel at a time, spread over
// callers, and returns their records once all have ended.
func runCalls(callers []*client.Client, count, parallel, n, intervalMS int) []*streamCall {
	calls := make([]*streamCall, count)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range parallel {
		wg.Go(func() {
			for i := range next {
				calls[i] = &streamCall{first: make(chan struct{})}
				calls[i].call(callers[(w+i)%len(callers)], n, intervalMS)
			}
		})
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	return calls
}

// servedBy counts the calls per serving pid.
func servedBy(calls []*streamCall) map[int64]int {
	m := map[int64]int{}
	for _, sc := range calls {
		m[sc.pid]++
	}
	return m
}

// Three callee processes share one registration (invoke: roundrobin).
// Calls spread over all three; killing one mid-stream fails exactly the
// calls it was serving, and the survivors serve everything after.
func TestScaleOut(t *testing.T) {
	noLeaks(t)
	// A large outbound queue, so that no burst of results is refused by
	// the router's flow control (see PROTOCOL.md) and nothing is lost for
	// a reason this test is not about.
	wr := wampfntest.NewRouter(t, wampfntest.WithOutQueueSize(1024))
	callers := []*client.Client{wr.Connect(t, wampfntest.JSON), wr.Connect(t, wampfntest.JSON), wr.Connect(t, wampfntest.JSON)}

	callees := startCallees(t, wr, 3)
	pids := []int64{callees[0].pid, callees[1].pid, callees[2].pid}
	// Wait until each process has registered: nexus's client stores a
	// handler only after the router has confirmed the registration, and a
	// call the router sends in between fails with "client has no handler".
	deadline := time.After(30 * time.Second)
	for i, ce := range callees {
		select {
		case <-ce.ready.ready:
		case <-ce.exited:
			t.Fatalf("callee %d exited before it was ready: %v", i, ce.err)
		case <-deadline:
			t.Fatalf("callee %d (pid %d) not ready after 30s", i, ce.pid)
		}
	}
	var err error
	var count int64
	require.Eventually(t, func() bool {
		count, err = countCallees(callers[0], scaleOutProcedure)
		return err == nil && count == 3
	}, 10*time.Second, 20*time.Millisecond, "3 callees on the shared registration: have %d (%v)", count, err)

	// Phase 1: 150 short streams spread over the three processes.
	phase1 := runCalls(callers, 150, 30, 3, 2)
	for i, sc := range phase1 {
		sc.checkComplete(t, 3, fmt.Sprintf("phase 1 call %d", i))
	}
	served := servedBy(phase1)
	t.Logf("phase 1: calls served per pid: %v", served)
	require.Len(t, served, 3)
	for _, pid := range pids {
		require.GreaterOrEqual(t, served[pid], 40, "pid %d served too few of 150 calls: %v", pid, served)
	}

	// Phase 2: 30 long streams, 10 on each process; kill one process once
	// every stream has begun.
	const longN = 40
	phase2 := make([]*streamCall, 30)
	var wg sync.WaitGroup
	for i := range phase2 {
		sc := &streamCall{first: make(chan struct{})}
		phase2[i] = sc
		wg.Go(func() { sc.call(callers[i%len(callers)], longN, 25) })
	}
	deadline = time.After(20 * time.Second)
	for i, sc := range phase2 {
		select {
		case <-sc.first:
		case <-deadline:
			t.Fatalf("phase 2 call %d did not start streaming", i)
		}
	}
	victim := callees[0]
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	killedAt := time.Now()
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(30 * time.Second):
		t.Fatal("phase 2 calls did not end")
	}
	t.Logf("phase 2: all calls ended %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	onVictim := 0
	for i, sc := range phase2 {
		prog := sc.progressCopy()
		what := fmt.Sprintf("phase 2 call %d", i)
		if prog[0][0] != victim.pid {
			sc.checkComplete(t, longN, what)
			require.NotEqual(t, victim.pid, sc.pid, what)
			continue
		}
		// Served by the killed process: an error, after an unbroken
		// prefix of its stream.
		onVictim++
		require.Error(t, sc.err, "%s was served by the killed process but did not fail", what)
		var rpcErr client.RPCError
		require.True(t, errors.As(sc.err, &rpcErr), "%s: want a WAMP error, got %v", what, sc.err)
		require.Equal(t, wamp.ErrCanceled, rpcErr.Err.Error, what)
		require.Less(t, len(prog), longN, what)
		for j, p := range prog {
			require.Equal(t, [2]int64{victim.pid, int64(j)}, p, "%s: progressive result %d", what, j)
		}
	}
	require.Equal(t, 10, onVictim, "round robin put 10 of the 30 streams on each process")
	select {
	case <-victim.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed process did not exit")
	}

	// Phase 3: the survivors serve the remaining 120 calls.
	require.Eventually(t, func() bool {
		count, err = countCallees(callers[0], scaleOutProcedure)
		return err == nil && count == 2
	}, 10*time.Second, 20*time.Millisecond, "2 callees after the kill: have %d (%v)", count, err)
	phase3 := runCalls(callers, 120, 30, 3, 2)
	for i, sc := range phase3 {
		sc.checkComplete(t, 3, fmt.Sprintf("phase 3 call %d", i))
	}
	served = servedBy(phase3)
	t.Logf("phase 3: calls served per pid: %v", served)
	require.Len(t, served, 2)
	for _, pid := range pids[1:] {
		require.GreaterOrEqual(t, served[pid], 40, "pid %d served too few of 120 calls: %v", pid, served)
	}
	require.Equal(t, 300, len(phase1)+len(phase2)+len(phase3))

	// The survivors shut down gracefully on SIGTERM and exit 0.
	for _, ce := range callees[1:] {
		require.NoError(t, ce.cmd.Process.Signal(syscall.SIGTERM))
	}
	for _, ce := range callees[1:] {
		select {
		case <-ce.exited:
			require.NoError(t, ce.err, "pid %d after SIGTERM", ce.pid)
		case <-time.After(15 * time.Second):
			t.Fatalf("pid %d did not exit after SIGTERM", ce.pid)
		}
	}
}
