package executor

import (
	"strings"
	"testing"
)

func TestJobEgressValidate(t *testing.T) {
	c := DefaultConfig()
	if c.JobEgress != EgressNone {
		t.Errorf("default job_egress %q, want %q", c.JobEgress, EgressNone)
	}
	for _, v := range []string{"", EgressNone, EgressInternet} {
		c.JobEgress = v
		if err := c.Validate("executor"); err != nil {
			t.Errorf("job_egress %q: %v", v, err)
		}
	}
	c.JobEgress = "lan"
	if err := c.Validate("executor"); err == nil || !strings.Contains(err.Error(), "executor.job_egress") {
		t.Errorf("job_egress lan: %v, want refused naming the key", err)
	}
}
