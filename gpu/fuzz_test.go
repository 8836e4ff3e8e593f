package gpu

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// FuzzParseProcStat: any bytes as /proc/stat. What parses comes from an
// aggregate "cpu" line of at least four counters: its idle time (idle and
// iowait) never exceeds its total, and the same counters written again as
// a /proc/stat line parse to the same times.
func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("cpu  4705 356 584 3699 23 23 0 0 0 0\ncpu0 1393280 32966 572056 13343292 6130 0 17875 0 0 0\n"))
	f.Add([]byte("cpu 1 2 3 4\n"))
	f.Add([]byte("cpu 18446744073709551615 1 1 1 1\n"))
	f.Add([]byte("cpu0 1 2 3 4 5\n"))
	f.Add([]byte("cpu 1 2 x 4 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, err := parseProcStat(data)
		if err != nil {
			if ct != (cpuTimes{}) {
				t.Fatalf("failed (%v) with %+v", err, ct)
			}
			return
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		fields := strings.Fields(string(line))[1:]
		fields = fields[:min(len(fields), 8)]
		sum := new(big.Int)
		for _, s := range fields {
			n, ok := new(big.Int).SetString(s, 10)
			if !ok {
				t.Fatalf("counter %q parsed", s)
			}
			sum.Add(sum, n)
		}
		if sum.IsUint64() && ct.idle > ct.total {
			t.Fatalf("idle %d > total %d", ct.idle, ct.total)
		}
		again, err := parseProcStat([]byte("cpu  " + strings.Join(fields, " ") + "\n"))
		if err != nil || again != ct {
			t.Fatalf("%q read again as %+v, %v; want %+v", line, again, err, ct)
		}
	})
}

// FuzzParseCPUInfo: any bytes as /proc/cpuinfo. The threads are the
// "processor" entries, the model comes from the file, and the physical
// cores are never negative.
func FuzzParseCPUInfo(f *testing.F) {
	var x86 strings.Builder
	for i := range 4 {
		fmt.Fprintf(&x86, "processor\t: %d\nmodel name\t: AMD EPYC 7763 64-Core Processor\nphysical id\t: 0\ncore id\t\t: %d\ncpu cores\t: 2\n\n", i, i/2)
	}
	f.Add([]byte(x86.String()))
	f.Add([]byte("processor\t: 0\nBogoMIPS\t: 48.00\n\nprocessor\t: 1\n\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n"))
	f.Add([]byte("cpu cores : 8\nprocessor : 0\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		info := parseCPUInfo(data)
		threads := 0
		for _, l := range strings.Split(string(data), "\n") {
			if k, _, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "processor" {
				threads++
			}
		}
		// The scanner stops at a line over its 1 MiB buffer; count only up to there.
		if len(data) < 1<<20 && info.threads != threads {
			t.Fatalf("%d threads, the file lists %d processors", info.threads, threads)
		}
		if info.cores < 0 || (info.model != "" && !bytes.Contains(data, []byte(info.model))) {
			t.Fatalf("parsed %+v", info)
		}
	})
}
