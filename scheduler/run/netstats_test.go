package run

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/gpumesh/gpumesh/p2p/overlay"
)

// TestNetCounters: overlay's counters travel as they are, sum by field
// and reason, and an event with too many or odd drop reasons is refused.
func TestNetCounters(t *testing.T) {
	c := netCountersOf(overlay.Stats{BytesIn: 100, PacketsIn: 2, BytesOut: 50, PacketsOut: 1,
		Drops: map[overlay.Drop]uint64{overlay.DropNotMember: 1, overlay.DropSpoofed: 3, overlay.DropLinkLocal: 4}})
	sum := c.Add(NetCounters{BytesIn: 1, PacketsIn: 1, Drops: map[string]uint64{"not_member": 2}})
	want := NetCounters{BytesIn: 101, PacketsIn: 3, BytesOut: 50, PacketsOut: 1, Drops: map[string]uint64{"not_member": 3, "spoofed_source": 3, "link_local": 4}}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("got %+v, want %+v", sum, want)
	}
	if c.Drops["not_member"] != 1 {
		t.Fatalf("Add changed its receiver: %+v", c)
	}
	if got := sum.Dropped(); got != 10 {
		t.Fatalf("dropped %d, want 10", got)
	}
	many := map[string]uint64{}
	for i := range maxNetDrops + 1 {
		many[fmt.Sprintf("r%c", 'a'+i)] = 1
	}
	for name, n := range map[string]NetCounters{"odd reason": {Drops: map[string]uint64{"../x": 1}}, "too many": {Drops: many}} {
		b, _ := json.Marshal(Event{Kind: KindHeartbeat, Net: &n})
		if _, err := decodeEvent(b); err == nil {
			t.Errorf("%s: an event with %+v decoded", name, n)
		}
	}
	b, _ := json.Marshal(Event{Kind: KindEnd, Net: &want})
	if ev, err := decodeEvent(b); err != nil || !reflect.DeepEqual(*ev.Net, want) {
		t.Fatalf("end event decoded as %+v, %v", ev, err)
	}
}
