package interop_test

// The wampfn command line is a generic WAMP caller: it calls an Autobahn|Python callee
// (autobahn_py_callee.py, Autobahn's longop) with progress over each serializer, and its
// Ctrl-C cancels the Python callee's call.

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cliBinary builds cmd/wampfn into tb's temporary directory.
func cliBinary(tb testing.TB) string {
	return goBinary(tb, "github.com/wampfn/wampfn/cmd/wampfn", "wampfn")
}

// goBinary builds the Go package pkg into tb's temporary directory, as name.
func goBinary(tb testing.TB, pkg, name string) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(tb, err, "the go tool is not on PATH")
	bin := filepath.Join(tb.TempDir(), name)
	out, err := exec.Command(goTool, "build", "-buildvcs=false", "-o", bin, pkg).CombinedOutput()
	require.NoError(tb, err, "go build %s: %s", pkg, out)
	return bin
}

// cliCommand returns the command that runs bin with args, killed after 30
// s, without the WAMPFN_ variables of the test's environment.
func cliCommand(t *testing.T, bin string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAMPFN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// startPyCallee starts autobahn_py_callee.py for procedure and waits until it has
// registered; the returned channel yields each later line it prints.
func startPyCallee(t *testing.T, url, ser, procedure string) <-chan string {
	argv := peers[0].argv(t)[:1] // /usr/bin/python3, or skip/fail as the peer says
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], filepath.Join(interopDir, "autobahn_py_callee.py"), url, realm, ser, procedure)
	var stderr bytes.Buffer // Autobahn's log; shown when the test fails
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the Python callee's stderr:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "WAMPFN-CALLEE "); ok {
				lines <- l
			}
		}
	}()
	select {
	case l := <-lines:
		require.Equal(t, "ready", l)
	case <-time.After(30 * time.Second):
		t.Fatal("the Autobahn|Python callee did not register within 30 s")
	}
	return lines
}

func TestCLICallsAutobahnPython(t *testing.T) {
	tr := newTestRouter(t)
	bin := cliBinary(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			proc := newPrefix() + "longop"
			lines := startPyCallee(t, tr.wsURL, ser, proc)
			base := []string{"call", "--url", tr.wsURL, "--realm", realm, "--serializer", ser}

			out, err := cliCommand(t, bin, append(base, "--progress", proc, "3")...).Output()
			require.NoError(t, err)
			require.Equal(t, "0\n1\n2\n3\n", string(out), "progress 0, 1, 2, then the final 3")

			out, err = cliCommand(t, bin, append(base, proc, "2")...).Output()
			require.NoError(t, err)
			require.Equal(t, "2\n", string(out), "no progress unasked")

			// Ctrl-C after the first progressive result: CANCEL (kill), the Python callee's
			// Deferred is cancelled, and the CLI exits 130.
			cmd := cliCommand(t, bin, append(base, "--progress", proc, "1000")...)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			first, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "0\n", first)
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			err = cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			require.Equal(t, 130, exit.ExitCode())
			select {
			case l := <-lines:
				require.Equal(t, "cancelled", l)
			case <-time.After(10 * time.Second):
				t.Fatal("the Python callee's call was not cancelled")
			}
		})
	}
}
