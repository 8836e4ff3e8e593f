package market

import (
	"errors"
	"testing"
)

// TestPerDeviceSpec: per_device is taken for a command, refused without
// one, and reaches the workers' executor spec.
func TestPerDeviceSpec(t *testing.T) {
	if _, err := (Spec{Workers: 2, PerDevice: true}).Normalize(DefaultConfig()); !errors.Is(err, ErrBadSpec) {
		t.Errorf("per_device without a command: %v, want ErrBadSpec", err)
	}
	s, err := (Spec{Workers: 2, Command: "train", PerDevice: true}).Normalize(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	work, _, err := workSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	if work.Process == nil || !work.Process.PerDevice {
		t.Errorf("executor spec %+v: want a process section with per_device", work)
	}
	got, err := ParseSpec("job.yaml", []byte("command: train\nper_device: true\n"))
	if err != nil || !got.PerDevice {
		t.Errorf("job file per_device: %+v, %v", got, err)
	}
}
