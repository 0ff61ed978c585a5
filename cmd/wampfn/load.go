package main

// wampfn call --repeat N --concurrency C: N calls, C at a time, from one
// client; their statistics on stderr, not their results.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// A loadSpec is the call that wampfn call makes, once or in a load run.
type loadSpec struct {
	c         *client.Client
	procedure string
	options   wamp.Dict // the CALL's options, such as timeout; nil for none
	args      wamp.List
	kwargs    wamp.Dict
	progress  bool          // ask for progressive results
	timeout   time.Duration // --timeout; 0 for none
}

// loadTick is how often the progress line of a load run on a terminal is
// rewritten.
const loadTick = 200 * time.Millisecond

// loadStats are what a load run measured.
type loadStats struct {
	n           int           // the calls asked for
	finished    int           // the calls that got an answer, failed ones too
	failed      int           // the calls that got an error
	firstErr    error         // the first of them
	elapsed     time.Duration // from the first call to the end of the last
	latencies   []time.Duration
	interrupted bool // ctx ended the run; latencies are then nil
}

// runLoad is a load run of wampfn call: n calls of spec, conc at a time.
// It prints to stderr the first error, if any, and the statistics line,
// and returns the exit status.
func runLoad(ctx context.Context, spec loadSpec, n, conc int, stderr io.Writer) int {
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	st := loadCalls(ctx, spec, n, conc, progress, loadTick)
	if st.interrupted {
		fmt.Fprintf(stderr, "wampfn: call %s: interrupted after %d of %d calls, %d errors\n",
			spec.procedure, st.finished, st.n, st.failed)
		return exitInterrupted
	}
	if st.firstErr != nil {
		fmt.Fprintf(stderr, "wampfn: call %s: first of %d errors: %s\n",
			spec.procedure, st.failed, describeCallError(st.firstErr))
	}
	fmt.Fprintln(stderr, st.summary())
	if st.failed > 0 {
		return exitFailed
	}
	return exitOK
}

// loadCalls makes n calls of spec, conc at a time: conc goroutines take
// the next call's number from a counter until all n are taken. What a
// call costs besides nexus's Call is two clock readings, two atomic adds
// and its latency's slot in a slice made beforehand; with a --timeout,
// also its context. Every tick, it rewrites a progress line on progress,
// if not nil, and clears it at the end.
//
// When ctx ends, the calls under way are cancelled (CANCEL, in the
// client's cancel mode) and no more begin; loadCalls waits for them up to
// cancelWait and returns the counts so far, interrupted.
func loadCalls(ctx context.Context, spec loadSpec, n, conc int, progress io.Writer, tick time.Duration) loadStats {
	latencies := make([]time.Duration, n) // call i's at i
	var (
		next, finished, failed atomic.Int64
		errMu                  sync.Mutex
		firstErr               error
		wg                     sync.WaitGroup
	)
	var onProgress client.ProgressHandler
	if spec.progress {
		onProgress = func(*wamp.Result) {} // progressive results are not printed
	}
	stop := ctx.Done()
	worker := func() {
		// Options of its own: nexus sets receive_progress in them, and
		// allocates an empty map for nil ones on every call.
		options := maps.Clone(spec.options)
		if options == nil {
			options = wamp.Dict{}
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			i := next.Add(1) - 1
			if i >= int64(n) {
				return
			}
			callCtx, cancel := ctx, context.CancelFunc(nil)
			if spec.timeout > 0 {
				callCtx, cancel = context.WithTimeout(ctx, spec.timeout+timeoutGrace)
			}
			t0 := time.Now()
			_, err := spec.c.Call(callCtx, spec.procedure, options, spec.args, spec.kwargs, onProgress)
			latencies[i] = time.Since(t0)
			if cancel != nil {
				cancel()
			}
			if err != nil {
				if ctx.Err() != nil {
					return // interrupted: neither a finished call nor a failure
				}
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				failed.Add(1)
			}
			finished.Add(1)
		}
	}

	start := time.Now()
	for range conc {
		wg.Go(worker)
	}
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()
	var tickC <-chan time.Time
	if progress != nil {
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		tickC = ticker.C
	}
	st := loadStats{n: n}
	for ended := false; !ended; {
		select {
		case <-allDone:
			st.elapsed, ended = time.Since(start), true
		case <-tickC:
			fmt.Fprintf(progress, "\r%d of %d calls, %d errors, %v", finished.Load(), n, failed.Load(),
				time.Since(start).Round(time.Second/10))
		case <-stop:
			timer := time.NewTimer(cancelWait)
			select {
			case <-allDone:
			case <-timer.C:
			}
			timer.Stop()
			st.interrupted, ended = true, true
		}
	}
	if progress != nil {
		fmt.Fprint(progress, "\r\x1b[K") // clear the progress line
	}
	st.finished, st.failed = int(finished.Load()), int(failed.Load())
	if st.interrupted {
		return st // the workers may still be running: leave latencies and firstErr alone
	}
	errMu.Lock()
	st.firstErr = firstErr
	errMu.Unlock()
	st.latencies = latencies
	return st
}

// summary is the statistics line of a run that was not interrupted:
//
//	N calls in D: X calls/s, p50 P, p99 Q, E errors
//
// It sorts st.latencies.
func (st loadStats) summary() string {
	slices.Sort(st.latencies)
	return fmt.Sprintf("%d calls in %v: %.1f calls/s, p50 %v, p99 %v, %d errors",
		st.finished, roundDuration(st.elapsed), float64(st.finished)/st.elapsed.Seconds(),
		roundDuration(percentile(st.latencies, 50)), roundDuration(percentile(st.latencies, 99)), st.failed)
}

// percentile returns the p-th percentile of sorted, by nearest rank; 0
// for none.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * len), 1-based
	return sorted[max(rank, 1)-1]
}

// roundDuration rounds d to three significant digits: 153ms, 612µs,
// 2.13ms.
func roundDuration(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Second; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Second)
}

// isTerminal reports whether w is a terminal: a file that is a
// character device, but not the null device (2>/dev/null), the one
// character device that stderr is commonly sent to. (Telling a terminal
// from the other character devices takes an ioctl, which the standard
// library does not offer.)
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
