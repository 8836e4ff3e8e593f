package cli

import (
	"bytes"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/run"
)

func TestPrintJobNetwork(t *testing.T) {
	for _, tc := range []struct {
		n    *run.NetCounters
		want string
	}{
		{nil, ""},
		{&run.NetCounters{BytesIn: 3 << 20, PacketsIn: 2400, BytesOut: 512, PacketsOut: 8},
			"job network: 3.0 MiB in (2400 packets), 512 B out (8 packets); none dropped\n\n"},
		{&run.NetCounters{BytesIn: 2048, PacketsIn: 2, Drops: map[string]uint64{"spoofed_source": 1, "not_member": 2}},
			"job network: 2.0 KiB in (2 packets), 0 B out (0 packets); 3 dropped: 2 not_member, 1 spoofed_source\n\n"},
	} {
		var b bytes.Buffer
		printJobNetwork(&b, tc.n)
		if got := b.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
