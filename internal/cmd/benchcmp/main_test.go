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
	table := s.table()
	// Compare rows with their padding squeezed out.
	got := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		got[strings.Join(strings.Fields(row), " ")] = true
	}
	for _, want := range []string{
		"| SmallCall/inproc ns/op | 21.0 µs | 21.0 µs | 1.00x | <= 1.05x ok | 2 |",
		"| SmallCall/inproc allocs/op | 45 | 49 | 1.09x (+4.0) | - | 2 |",
		"| SmallCall/inproc/interleaved ns/op | 20.0 µs | 20.5 µs | 1.02x | <= 1.05x ok | 2 |",
		"| Decode/json ns/op | 300 ns | 1.00 µs | 3.33x | wampfn < 1 µs MISSED | 2 |",
		"| Decode/json allocs/op | 1 | 2 | 2.00x (+1.0) | - | 2 |",
	} {
		if !got[want] {
			t.Errorf("table lacks\n%s\ngot\n%s", want, table)
		}
	}
}
