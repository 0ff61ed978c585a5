// Command benchcmp runs wampfn's paired benchmarks (bench_test.go and
// bench_bulk_test.go: each figure a .../nexus and a .../wampfn
// sub-benchmark, or, for Interceptor,
// .../plain and .../intercepted) and prints, for every figure, the median
// of the baseline (the hand-written nexus handler; wampfn without
// interceptors), the median of wampfn, their ratio and the target.
//
// Run it anywhere in the repository:
//
//	go run ./internal/cmd/benchcmp
//	go run ./internal/cmd/benchcmp -rounds 10 -benchtime 500ms -bench 'SmallCall|Stream'
//	go run ./internal/cmd/benchcmp -rounds 5 -benchtime 100ms -bench Bulk
//
// It runs, in the module's root directory,
//
//	go test -run '^$' -bench BENCH -benchmem -count COUNT -benchtime BENCHTIME .
//
// ROUNDS times and pools the samples. On a small, noisy machine several
// short rounds are better than one long one: the medians drop a burst of
// load from elsewhere. Rounds alternate which side of a pair runs first
// (WAMPFN_BENCH_REVERSE), so running second is nobody's bias.
//
// Each figure has time and allocations (per op, or per result or element
// where the benchmark reports that) from the .../nexus and .../wampfn
// sub-benchmarks, then time again from .../interleaved, which alternates
// the two sides call by call (decodes: 64 at a time; bulk decodes and
// encodes: about a thousand elements at a time) and times each
// apart: a burst of load from elsewhere on the machine then slows both
// alike, so its ratio is the one to trust on a busy machine.
//
// A missed target is reported in the table, never as a failure: the
// figures depend on the machine. benchcmp fails only when go test does.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func main() {
	var (
		bench     = flag.String("bench", ".", "benchmarks to run, as go test -bench")
		count     = flag.Int("count", 1, "go test -count: samples of each benchmark per round")
		rounds    = flag.Int("rounds", 6, "times to run go test; samples of all rounds are pooled")
		benchtime = flag.String("benchtime", "300ms", "go test -benchtime")
		verbose   = flag.Bool("v", false, "echo go test's output")
	)
	flag.Parse()
	if *count < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "benchcmp: -count and -rounds must be at least 1")
		os.Exit(2)
	}
	args := []string{"test", "-run", "^$", "-bench", *bench, "-benchmem",
		"-count", strconv.Itoa(*count), "-benchtime", *benchtime, "."}
	fmt.Printf("go %s\n%d rounds, %s\n\n", quoteArgs(args), *rounds, machine())

	dir, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchcmp: %v\n", err)
		os.Exit(1)
	}
	samples := samples{}
	for r := range *rounds {
		out, err := runGoTest(dir, args, r%2 == 1, *verbose)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchcmp: round %d: %v\n", r+1, err)
			os.Exit(1)
		}
		samples.parse(out)
	}
	if len(samples) == 0 {
		fmt.Fprintln(os.Stderr, "benchcmp: no benchmark results: does -bench match any?")
		os.Exit(1)
	}
	fmt.Print(samples.table())
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the wampfn module (go env GOMOD is %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// runGoTest runs go test in dir and returns its standard output.
func runGoTest(dir string, args []string, reverse, verbose bool) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if reverse {
		cmd.Env = append(cmd.Env, "WAMPFN_BENCH_REVERSE=1")
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if verbose {
		cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var tail string
		if !verbose {
			tail = "\n" + out.String()
		}
		return nil, fmt.Errorf("go %s: %w%s", quoteArgs(args), err, tail)
	}
	return out.Bytes(), nil
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " ^$|*?()[]{}'\"\\") {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// machine says where the benchmarks run.
func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// A figure is one measured quantity of one pair, like
// ("Stream/inproc", "ns/result").
type figure struct {
	pair, unit string
}

// samples holds every value seen, by figure and side ("base", "subject",
// or "" for a benchmark that is not part of a pair).
type samples map[figure]map[string][]float64

// sideRoles maps the names of the sub-benchmarks of a pair to their role:
// the baseline (the hand-written nexus handler; for Interceptor, wampfn
// without interceptors) or the subject.
var sideRoles = map[string]string{
	"nexus": "base", "wampfn": "subject",
	"plain": "base", "intercepted": "subject",
}

// parse adds the results in go test's output.
func (s samples) parse(out []byte) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, values, ok := parseLine(sc.Text())
		if !ok {
			continue
		}
		pair, side := splitSide(name)
		interleaved := strings.HasSuffix(name, "/interleaved")
		for unit, v := range values {
			side := side
			if interleaved {
				// Both sides in one benchmark: nexus-ns/op, wampfn-ns/op.
				var ok bool
				if side, unit, ok = strings.Cut(unit, "-"); !ok || sideRoles[side] == "" {
					continue
				}
				side = sideRoles[side]
			}
			f := figure{pair, unit}
			if s[f] == nil {
				s[f] = map[string][]float64{}
			}
			s[f][side] = append(s[f][side], v)
		}
	}
}

// parseLine parses one result line of go test -bench:
//
//	BenchmarkStream/inproc/nexus-2   43   8208573 ns/op   10.79 allocs/result ...
//
// into the name without "Benchmark" and the -GOMAXPROCS suffix, and the
// values by unit.
func parseLine(line string) (name string, values map[string]float64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.Atoi(fields[1]); err != nil {
		return "", nil, false
	}
	name = strings.TrimPrefix(fields[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	values = map[string]float64{}
	for i := 2; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return "", nil, false
		}
		values[fields[i+1]] = v
	}
	return name, values, true
}

// splitSide splits "Stream/inproc/nexus" into ("Stream/inproc", "base").
func splitSide(name string) (pair, role string) {
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		if role := sideRoles[name[i+1:]]; role != "" {
			return name[:i], role
		}
	}
	return name, ""
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// A target is the goal for one figure: issue 4's for the call path,
// issue 12's for bulk data.
type target struct {
	text string
	met  func(nexus, wampfn float64) bool
	// unit, when set, is the unit of the pair whose medians met judges,
	// for a row shown in another.
	unit string
}

// targetFor returns the target of a figure, if it has one.
func targetFor(f figure) (target, bool) {
	family, _, _ := strings.Cut(f.pair, "/")
	switch {
	case family == "Stream" && f.unit == "ns/result", family == "SmallCall" && f.unit == "ns/op",
		family == "BoundStream" && f.unit == "ns/result", family == "IterResult" && f.unit == "ns/result":
		return target{text: "<= 1.05x", met: func(n, w float64) bool { return w <= 1.05*n }}, true
	case family == "BoundCall" && f.unit == "ns/op", family == "InputStream" && f.unit == "ns/value":
		return target{text: "<= 1.10x", met: func(n, w float64) bool { return w <= 1.10*n }}, true
	case family == "Stream" && f.unit == "allocs/result", family == "Interceptor" && f.unit == "allocs/op",
		family == "BoundStream" && f.unit == "allocs/result", family == "InputStream" && f.unit == "allocs/value":
		return target{text: "<= +1", met: func(n, w float64) bool { return w <= n+1 }}, true
	case family == "Decode" && f.unit == "ns/op":
		return target{text: "wampfn < 1 µs", met: func(_, w float64) bool { return w < 1000 }}, true
	}
	return bulkTarget(family, f)
}

// bulkDecoding and bulkEncoding are the bulk families (issue 12) that
// decode a parameter and that encode a result.
var (
	bulkDecoding = map[string]bool{"BulkRecs": true, "BulkWide": true, "BulkMap": true,
		"BulkFloats": true, "BulkInts": true, "BulkBytes": true, "BulkDecode": true}
	bulkEncoding = map[string]bool{"BulkResult": true, "BulkStream": true, "BulkEncode": true}
)

// bulkPerCallAllocs is how many allocations a call of a bulk figure may
// make beyond the hand-written handler's: a few per call, none per
// element.
const bulkPerCallAllocs = 5

// bulkTarget returns issue 12's target of a bulk figure: time at most
// 1.3x the hand-written decoder's (1.1x its encoder's), and at most
// bulkPerCallAllocs more allocations per call, judged on allocs/op (go
// test prints allocs/elem to four digits only).
func bulkTarget(family string, f figure) (target, bool) {
	if !bulkDecoding[family] && !bulkEncoding[family] {
		return target{}, false
	}
	switch kind, _, _ := strings.Cut(f.unit, "/"); kind {
	case "ns":
		if bulkEncoding[family] {
			return target{text: "<= 1.10x", met: func(n, w float64) bool { return w <= 1.10*n }}, true
		}
		return target{text: "<= 1.30x", met: func(n, w float64) bool { return w <= 1.30*n }}, true
	case "allocs":
		return target{text: fmt.Sprintf("<= +%d/call", bulkPerCallAllocs), unit: "allocs/op",
			met: func(n, w float64) bool { return w <= n+bulkPerCallAllocs }}, true
	}
	return target{}, false
}

// shown reports whether a unit goes in the table: time and allocations,
// per unit of work (result, elem) where a benchmark reports that, else
// per op.
func (s samples) shown(f figure) bool {
	kind, per, ok := strings.Cut(f.unit, "/")
	if !ok || kind != "ns" && kind != "allocs" {
		return false
	}
	if per != "op" {
		return true
	}
	for g := range s {
		if g.pair == f.pair && g.unit != f.unit && strings.HasPrefix(g.unit, kind+"/") {
			return false
		}
	}
	return true
}

// unitOrder sorts a figure's rows: time, then allocations.
func unitOrder(unit string) int {
	if strings.HasPrefix(unit, "ns/") {
		return 0
	}
	return 1
}

// table formats the medians as a Markdown table.
func (s samples) table() string {
	var figs []figure
	for f := range s {
		if s.shown(f) {
			figs = append(figs, f)
		}
	}
	order := map[string]int{"Stream": 0, "SmallCall": 1, "Interceptor": 2, "BoundCall": 3, "BoundStream": 4,
		"InputStream": 5, "IterResult": 6, "Drop": 7, "DropSend": 8, "Decode": 9,
		"BulkRecs": 10, "BulkWide": 11, "BulkMap": 12, "BulkFloats": 13, "BulkInts": 14, "BulkBytes": 15,
		"BulkResult": 16, "BulkStream": 17, "BulkDecode": 18, "BulkEncode": 19}
	rank := func(f figure) int {
		family, _, _ := strings.Cut(f.pair, "/")
		if o, ok := order[family]; ok {
			return o
		}
		return len(order)
	}
	slices.SortFunc(figs, func(a, b figure) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a.pair, b.pair),
			cmp.Compare(unitOrder(a.unit), unitOrder(b.unit)), strings.Compare(a.unit, b.unit))
	})

	rows := [][]string{{"figure", "base", "wampfn", "ratio", "target", "n"}}
	for _, f := range figs {
		sides := s[f]
		nexus, wampfn, single := sides["base"], sides["subject"], sides[""]
		label := f.pair + " " + f.unit
		if len(single) > 0 { // not a pair: wampfn alone
			rows = append(rows, []string{label, "-", format(median(single), f.unit), "-", "-", strconv.Itoa(len(single))})
			continue
		}
		n, m := median(nexus), median(wampfn)
		ratio := "-"
		if n > 0 {
			ratio = fmt.Sprintf("%.2fx", m/n)
		}
		if strings.HasPrefix(f.unit, "allocs/") {
			ratio += fmt.Sprintf(" (%+.1f)", m-n)
		}
		goal := "-"
		if t, ok := targetFor(f); ok && len(nexus) > 0 && len(wampfn) > 0 {
			tn, tm := n, m
			if t.unit != "" {
				by := s[figure{f.pair, t.unit}]
				tn, tm = median(by["base"]), median(by["subject"])
			}
			verdict := "ok"
			if !t.met(tn, tm) {
				verdict = "MISSED"
			}
			goal = t.text + " " + verdict
		}
		rows = append(rows, []string{label, format(n, f.unit), format(m, f.unit), ratio, goal, strconv.Itoa(min(len(nexus), len(wampfn)))})
	}
	return markdown(rows) + "\nbase: a hand-written nexus handler; for Interceptor, wampfn without interceptors;\n" +
		"for BoundCall and BoundStream, a hand-written client.Call with hand-written decoding;\n" +
		"for BulkDecode and BulkEncode, hand-written decoding and encoding alone\n"
}

// markdown lays out rows as a Markdown table, the first row the header,
// the first column left-aligned and the others right-aligned.
func markdown(rows [][]string) string {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], 3, utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				fmt.Fprintf(&b, "| %s%s ", c, pad)
			} else {
				fmt.Fprintf(&b, "| %s%s ", pad, c)
			}
		}
		b.WriteString("|\n")
	}
	line(rows[0])
	rule := make([]string, len(width))
	for i, w := range width {
		if i == 0 {
			rule[i] = strings.Repeat("-", w)
		} else {
			rule[i] = strings.Repeat("-", w-1) + ":"
		}
	}
	line(rule)
	for _, r := range rows[1:] {
		line(r)
	}
	return b.String()
}

// format shows a median: times in ns or µs, counts with one decimal.
func format(v float64, unit string) string {
	switch {
	case strings.HasPrefix(unit, "ns/"):
		if v >= 10000 {
			return fmt.Sprintf("%.1f µs", v/1000)
		}
		if v >= 1000 {
			return fmt.Sprintf("%.2f µs", v/1000)
		}
		return fmt.Sprintf("%.0f ns", v)
	case strings.HasPrefix(unit, "allocs/"):
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return fmt.Sprintf("%.2f", v)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
