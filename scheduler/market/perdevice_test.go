package market

import (
	"errors"
	"strings"
	"testing"
)

// TestPerDeviceSpec: per_device is taken for a command or an image,
// refused without either, and reaches the workers' executor spec.
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
	img := "registry.example/train@sha256:" + strings.Repeat("ab", 32)
	s, err = (Spec{Workers: 2, Image: img, PerDevice: true}).Normalize(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if work, _, err = workSpec(s); err != nil || work.Docker == nil || !work.Docker.PerDevice {
		t.Errorf("executor spec %+v (%v): want a docker section with per_device", work, err)
	}
	got, err := ParseSpec("job.yaml", []byte("command: train\nper_device: true\n"))
	if err != nil || !got.PerDevice {
		t.Errorf("job file per_device: %+v, %v", got, err)
	}
}
