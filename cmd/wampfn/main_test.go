package main

// The helpers that the tests of every command share, and the tests of
// main.go.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

// TestMain removes the binary that wampfnBinary built, if any, once the
// tests have run.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// noLeaks checks, after the test's other cleanups (it is registered
// first, and cleanups run last first), that every goroutine started since
// it was called has ended: the router, the callees, the CLI's client.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent() // now, not when the cleanup runs
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// runCLI runs wampfn in-process with args and an empty environment, and
// returns its exit status, stdout and stderr.
func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, noEnv, &out, &errOut)
	return code, out.String(), errOut.String()
}

// unusedURL returns the URL of a loopback port that nothing listens on.
func unusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "ws://" + addr + "/"
}

// recvWithin receives from ch, failing t if nothing comes within d.
func recvWithin[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: nothing within %v", what, d)
		panic("not reached")
	}
}

// built is the wampfn binary that wampfnBinary builds, once for all the
// tests, into dir, which TestMain removes.
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

// wampfnBinary returns the path of the wampfn binary, built from this
// package the first time it is called.
func wampfnBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("no go tool to build wampfn with: %w", err)
			return
		}
		if built.dir, err = os.MkdirTemp("", "wampfn-test-"); err != nil {
			built.err = err
			return
		}
		path := filepath.Join(built.dir, "wampfn")
		out, err := exec.Command(goTool, "build", "-buildvcs=false", "-o", path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		built.path = path
	})
	require.NoError(t, built.err)
	return built.path
}

// binaryEnv is the test's environment without its WAMPFN_ variables,
// then extra ("NAME=value").
func binaryEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAMPFN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// TestUsage: wampfn without a command is a usage error in one line; -h,
// --help and help list the commands on stdout; an unknown command is a
// usage error in one line.
func TestUsage(t *testing.T) {
	code, out, errOut := runCLI(t.Context())
	require.Equal(t, exitUsage, code)
	require.Empty(t, out)
	require.Equal(t, "wampfn: missing command: want call, describe, list or gen (wampfn -h lists them)\n", errOut)

	for _, h := range []string{"-h", "--help", "help"} {
		code, out, errOut := runCLI(t.Context(), h)
		require.Equal(t, exitOK, code, h)
		require.Empty(t, errOut, h)
		require.Equal(t, "usage: wampfn COMMAND [flags] [ARG...]; commands:\n"+
			"  wampfn call [flags] PROCEDURE [ARG...]\n"+
			"  wampfn describe [flags] --discovery URI [PROCEDURE]\n"+
			"  wampfn list [flags]\n"+
			"  wampfn gen ts|py [flags] (--discovery URI | --from FILE) [--prefix P] [-o FILE]\n"+
			"wampfn COMMAND -h lists a command's flags.\n", out, h)
	}

	code, out, errOut = runCLI(t.Context(), "lst")
	require.Equal(t, exitUsage, code)
	require.Empty(t, out)
	require.Equal(t, "wampfn: unknown command \"lst\": want call, describe, list or gen\n", errOut)
}

// TestInterruptedConnecting: ctx ended before the session is up: the
// connection's error in one line, and exit status 130, for every command.
func TestInterruptedConnecting(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, args := range [][]string{
		{"call", "--url", r.URL(), "test.add", "1", "2"},
		{"describe", "--url", r.URL(), "--discovery", "com.test.describe"},
		{"list", "--url", r.URL()},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runCLI(ctx, args...)
			require.Equal(t, exitInterrupted, code, "stderr: %q", errOut)
			require.Empty(t, out)
			require.True(t, strings.HasPrefix(errOut, "wampfn: connect "+r.URL()+": "), errOut)
			require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
		})
	}
}

// TestBinary runs the built binary against a router, on every serializer:
// each command, an ERROR, usage errors, an unreachable router, and SIGINT
// and SIGTERM during a call, which cancel the callee's call. In args and
// env, $URL is the router's URL and $SER the serializer.
func TestBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM to send on Windows")
	}
	noLeaks(t)
	bin := wampfnBinary(t)
	r, ev := newCallRouter(t)
	serveCorpus(t, r)
	unused := unusedURL(t)
	conn := []string{"--url", "$URL", "--serializer", "$SER"}
	call := func(args ...string) []string { return append(append([]string{"call"}, conn...), args...) }
	// listed is what list prints for some procedures, spaces squeezed.
	listed := []string{
		"com.test.describe match=exact invoke=single callees=1",
		"com.test.files. match=prefix invoke=single callees=1",
		"test.add match=exact invoke=single callees=1",
		"test.wait match=exact invoke=single callees=1",
	}
	tests := []struct {
		name      string
		args, env []string
		signal    os.Signal // sent once stdout has its first line
		flood     bool      // stdout is not read after its first line
		code      int
		out       string   // stdout, or
		outLines  []string // lines of stdout, spaces squeezed
		errOut    string   // stderr, or
		errPrefix string   // its one line's beginning
	}{
		{name: "call", args: call("test.pair"), out: `{"args":["AQID",7],"kwargs":{}}` + "\n"},
		{name: "call progress", args: call("--progress", "test.count", "3"), out: "0\n1\n2\n3\n"},
		{name: "call error", args: call("test.fail"), code: exitFailed,
			errOut: `wampfn: call test.fail: com.example.error.not_found args=["no book 42"] kwargs={"id":42}` + "\n"},
		{name: "call usage error", args: call(), code: exitUsage,
			errOut: "wampfn: call: missing PROCEDURE; usage: wampfn call [flags] PROCEDURE [ARG...]\n"},
		{name: "no command", code: exitUsage,
			errOut: "wampfn: missing command: want call, describe, list or gen (wampfn -h lists them)\n"},
		{name: "describe", args: []string{"describe", "--discovery", discoveryURI}, env: []string{"WAMPFN_URL=$URL", "WAMPFN_SERIALIZER=$SER"},
			out: strings.Join(wantCorpus, "\n") + "\n"},
		{name: "list", args: []string{"list"}, env: []string{"WAMPFN_URL=$URL", "WAMPFN_SERIALIZER=$SER"}, outLines: listed},
		{name: "unreachable", args: []string{"call", "--url", unused, "--serializer", "$SER", "test.add", "1", "2"}, code: exitFailed,
			errPrefix: "wampfn: connect " + unused + ": "},
		{name: "SIGINT", args: call("--progress", "test.wait"), signal: syscall.SIGINT, code: exitInterrupted,
			out: "1\n", errOut: "wampfn: call test.wait: interrupted\n"},
		{name: "SIGTERM", args: call("--progress", "test.wait"), signal: syscall.SIGTERM, code: exitInterrupted,
			out: "1\n", errOut: "wampfn: call test.wait: interrupted\n"},
		// 64 lines of 4 kB: more than a pipe holds (64 kB on Linux).
		{name: "SIGINT, stdout blocked", args: call("--progress", "test.flood", "64"), signal: syscall.SIGINT, flood: true,
			code: exitInterrupted, out: `"` + strings.Repeat("x", floodLine) + `"` + "\n", errOut: "wampfn: call test.flood: interrupted\n"},
	}
	for _, ser := range callSerializers {
		for _, tt := range tests {
			t.Run(ser+"/"+tt.name, func(t *testing.T) {
				expand := strings.NewReplacer("$URL", r.URL(), "$SER", ser).Replace
				var args, env []string
				for _, a := range tt.args {
					args = append(args, expand(a))
				}
				for _, kv := range tt.env {
					env = append(env, expand(kv))
				}
				ctx, cancel := context.WithTimeout(t.Context(), calleeWaitLimit)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, args...)
				cmd.Env = binaryEnv(env...)
				var out, errOut bytes.Buffer
				cmd.Stderr = &errOut
				if tt.signal != nil {
					stdout, err := cmd.StdoutPipe()
					require.NoError(t, err)
					require.NoError(t, cmd.Start())
					rd := bufio.NewReaderSize(stdout, 2*floodLine)
					first, err := rd.ReadString('\n')
					out.WriteString(first)
					switch {
					case err == nil && tt.flood:
						// wampfn blocks on stdout once the pipe is full: soon
						// after the callee has sent all (if not, the test
						// tests less, but passes).
						recvWithin(t, ev.flooded, calleeWaitLimit, "the flood")
						time.Sleep(100 * time.Millisecond)
						require.NoError(t, cmd.Process.Signal(tt.signal))
					case err == nil:
						require.NoError(t, cmd.Process.Signal(tt.signal))
						_, err = out.ReadFrom(rd)
					}
					if err != nil {
						_ = cmd.Wait() // errOut is written until then
						t.Fatalf("stdout: %v; stderr: %q", err, errOut.String())
					}
				} else {
					cmd.Stdout = &out
					require.NoError(t, cmd.Start())
				}
				waited := make(chan error, 1)
				go func() { waited <- cmd.Wait() }()
				code := 0
				if err := recvWithin(t, waited, cancelWait+3*time.Second, "wampfn's exit"); err != nil {
					var exitErr *exec.ExitError
					require.ErrorAs(t, err, &exitErr)
					code = exitErr.ExitCode()
				}
				require.Equal(t, tt.code, code, "stderr: %q", errOut.String())
				switch {
				case tt.outLines != nil:
					var lines []string
					for line := range strings.Lines(out.String()) {
						lines = append(lines, strings.Join(strings.Fields(line), " "))
					}
					require.Subset(t, lines, tt.outLines, "stdout: %s", out.String())
				default:
					require.Equal(t, tt.out, out.String())
				}
				if tt.errPrefix != "" {
					require.True(t, strings.HasPrefix(errOut.String(), tt.errPrefix), "stderr: %q", errOut.String())
					require.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %q", errOut.String())
				} else {
					require.Equal(t, tt.errOut, errOut.String())
				}
				if tt.signal != nil {
					assertCancelled(t, ev)
				}
			})
		}
	}
}
