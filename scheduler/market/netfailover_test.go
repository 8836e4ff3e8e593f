package market

import "testing"

// TestFailoverModes: restart (the default), replace and none are taken;
// only a networked job's restart starts every rank again.
func TestFailoverModes(t *testing.T) {
	for _, tc := range []struct {
		spec       Spec
		want       string
		restartAll bool
	}{
		{Spec{Executor: "process", Command: "/usr/bin/python3", Workers: 3}, FailoverRestart, true},
		{Spec{Executor: "process", Command: "/usr/bin/python3", Workers: 3, Failover: FailoverReplace}, FailoverReplace, false},
		{Spec{Executor: "process", Command: "/usr/bin/python3", Workers: 3, Failover: FailoverNone}, FailoverNone, false},
		{Spec{Executor: "process", Command: "/usr/bin/python3", Workers: 1}, FailoverRestart, false},
		{Spec{Workers: 3}, FailoverRestart, false}, // wasm: no job network
	} {
		s, err := tc.spec.Normalize(DefaultConfig())
		if err != nil {
			t.Fatalf("%+v: %v", tc.spec, err)
		}
		if s.Failover != tc.want || restartsAll(s) != tc.restartAll {
			t.Errorf("%+v: got failover %q, restarts all %v; want %q, %v", tc.spec, s.Failover, restartsAll(s), tc.want, tc.restartAll)
		}
	}
}
