package main

import (
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		values map[string]float64
		ok     bool
	}{
		{"BenchmarkStream/inproc/nexus-2   	      43	   8208573 ns/op	        10.79 allocs/result	      8209 ns/result	  972727 B/op	   10786 allocs/op",
			"Stream/inproc/nexus", map[string]float64{"ns/op": 8208573, "allocs/result": 10.79, "ns/result": 8209, "B/op": 972727, "allocs/op": 10786}, true},
		{"BenchmarkDropSend-2  18408214  12.92 ns/op  0 B/op  0 allocs/op",
			"DropSend", map[string]float64{"ns/op": 12.92, "B/op": 0, "allocs/op": 0}, true},
		{"BenchmarkDecode/json/wampfn", "", nil, false}, // chatty name line
		{"goos: linux", "", nil, false},
		{"PASS", "", nil, false},
	}
	for _, tt := range tests {
		name, values, ok := parseLine(tt.line)
		if ok != tt.ok || name != tt.name || len(values) != len(tt.values) {
			t.Fatalf("parseLine(%q) = %q, %v, %v", tt.line, name, values, ok)
		}
		for u, v := range tt.values {
			if values[u] != v {
				t.Errorf("parseLine(%q)[%s] = %v, want %v", tt.line, u, values[u], v)
			}
		}
	}
}

func TestTable(t *testing.T) {
	s := samples{}
	for _, out := range []string{`
BenchmarkSmallCall/inproc/nexus-2    100  20000 ns/op  3377 B/op  45 allocs/op
BenchmarkSmallCall/inproc/wampfn-2   100  21000 ns/op  3500 B/op  49 allocs/op
BenchmarkSmallCall/inproc/interleaved-2  100  41000 ns/op  20000 nexus-ns/op  21000 wampfn-ns/op
BenchmarkDecode/json/nexus-2   1000  300 ns/op  128 B/op  1 allocs/op
BenchmarkDecode/json/wampfn-2  1000  1200 ns/op  224 B/op  2 allocs/op
`, `
BenchmarkSmallCall/inproc/nexus-2    100  22000 ns/op  3377 B/op  45 allocs/op
BenchmarkSmallCall/inproc/wampfn-2   100  21000 ns/op  3500 B/op  49 allocs/op
BenchmarkSmallCall/inproc/interleaved-2  100  41000 ns/op  20000 nexus-ns/op  20000 wampfn-ns/op
BenchmarkDecode/json/nexus-2   1000  300 ns/op  128 B/op  1 allocs/op
BenchmarkDecode/json/wampfn-2  1000  800 ns/op  224 B/op  2 allocs/op
`} {
		s.parse([]byte(out))
	}
	hasRows(t, s.table(),
		"| SmallCall/inproc ns/op | 21.0 µs | 21.0 µs | 1.00x | <= 1.05x ok | 2 |",
		"| SmallCall/inproc allocs/op | 45 | 49 | 1.09x (+4.0) | - | 2 |",
		"| SmallCall/inproc/interleaved ns/op | 20.0 µs | 20.5 µs | 1.02x | <= 1.05x ok | 2 |",
		"| Decode/json ns/op | 300 ns | 1.00 µs | 3.33x | wampfn < 1 µs MISSED | 2 |",
		"| Decode/json allocs/op | 1 | 2 | 2.00x (+1.0) | - | 2 |",
	)
}

// hasRows fails t unless table has each of want, compared with the
// padding squeezed out.
func hasRows(t *testing.T, table string, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		got[strings.Join(strings.Fields(row), " ")] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("table lacks\n%s\ngot\n%s", w, table)
		}
	}
}

func TestBulkTable(t *testing.T) {
	s := samples{}
	s.parse([]byte(`
BenchmarkBulkRecs/json/1000/nexus-2    100  80000 ns/op  80.0 ns/elem  0.200 allocs/elem  3000 B/op  200 allocs/op
BenchmarkBulkRecs/json/1000/wampfn-2   100  96000 ns/op  96.0 ns/elem  0.204 allocs/elem  3000 B/op  204 allocs/op
BenchmarkBulkRecs/json/1000/interleaved-2  100  200000 ns/op  81.0 nexus-ns/elem  110.0 wampfn-ns/elem
BenchmarkBulkRecs/json/10/nexus-2    100  800 ns/op  80.0 ns/elem  2.0 allocs/elem  3000 B/op  20 allocs/op
BenchmarkBulkRecs/json/10/wampfn-2   100  900 ns/op  90.0 ns/elem  2.6 allocs/elem  3000 B/op  26 allocs/op
BenchmarkBulkRecs/json/100/nexus-2    100  800 ns/op  80.0 ns/elem  22.25 allocs/elem  3000 B/op  2225 allocs/op
BenchmarkBulkRecs/json/100/wampfn-2   100  900 ns/op  90.0 ns/elem  22.26 allocs/elem  3000 B/op  2228 allocs/op
BenchmarkBulkEncode/recs/1000/nexus-2   100  500000 ns/op  500.0 ns/elem  5.0 allocs/elem  3000 B/op  5000 allocs/op
BenchmarkBulkEncode/recs/1000/wampfn-2  100  560000 ns/op  560.0 ns/elem  5.0 allocs/elem  3000 B/op  5000 allocs/op
BenchmarkBulkBytes/msgpack/1048576/nexus-2   100  900000 ns/op  3000 B/op  300 allocs/op
BenchmarkBulkBytes/msgpack/1048576/wampfn-2  100  950000 ns/op  3000 B/op  302 allocs/op
`))
	table := s.table()
	hasRows(t, table,
		"| BulkRecs/json/10 ns/elem | 80 ns | 90 ns | 1.12x | <= 1.30x ok | 1 |",
		"| BulkRecs/json/10 allocs/elem | 2 | 2.60 | 1.30x (+0.6) | <= +5/call MISSED | 1 |",
		"| BulkRecs/json/100 allocs/elem | 22.25 | 22.26 | 1.00x (+0.0) | <= +5/call ok | 1 |",
		"| BulkRecs/json/1000 ns/elem | 80 ns | 96 ns | 1.20x | <= 1.30x ok | 1 |",
		"| BulkRecs/json/1000 allocs/elem | 0.20 | 0.20 | 1.02x (+0.0) | <= +5/call ok | 1 |",
		"| BulkRecs/json/1000/interleaved ns/elem | 81 ns | 110 ns | 1.36x | <= 1.30x MISSED | 1 |",
		"| BulkEncode/recs/1000 ns/elem | 500 ns | 560 ns | 1.12x | <= 1.10x MISSED | 1 |",
		"| BulkBytes/msgpack/1048576 ns/op | 900.0 µs | 950.0 µs | 1.06x | <= 1.30x ok | 1 |",
		"| BulkBytes/msgpack/1048576 allocs/op | 300 | 302 | 1.01x (+2.0) | <= +5/call ok | 1 |",
	)
	for _, row := range strings.Split(table, "\n") {
		if strings.Contains(row, "BulkRecs/json/1000 ns/op") {
			t.Errorf("a per-op row where per-element ones exist: %s", row)
		}
	}
}
