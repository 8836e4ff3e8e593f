package gpu

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// handleSet is what both NVML bindings (go-nvml on Linux, nvml.dll on
// Windows) keep of the devices they meter, in one order: each device's
// handle, UUID and NVML index.
type handleSet[H any] struct {
	handles []H
	ids     []string
	indexes []int // NVML's index of each handle
}

// mapHandles maps the n devices an NVML binding counted into inv.Devices
// and the returned set: handle gives device i's handle, mapOne maps it. A
// device that cannot be mapped is left out with a warning on inv; it
// fails only when none is usable.
func mapHandles[H any](inv *Inventory, n int, handle func(int) (H, error), mapOne func(H, int) (Device, []error, error)) (handleSet[H], error) {
	var s handleSet[H]
	for i := range n {
		h, err := handle(i)
		if err != nil {
			inv.Warnings = append(inv.Warnings, fmt.Sprintf("gpu %d: get handle: %v", i, err))
			continue
		}
		d, problems, err := mapOne(h, i)
		if err != nil {
			inv.Warnings = append(inv.Warnings, fmt.Sprintf("gpu %d left out: %v", i, err))
			continue
		}
		for _, p := range problems {
			inv.Warnings = append(inv.Warnings, fmt.Sprintf("gpu %d: %v", i, p))
		}
		inv.Devices = append(inv.Devices, d)
		s.handles = append(s.handles, h)
		s.ids = append(s.ids, d.ID)
		s.indexes = append(s.indexes, i)
	}
	if len(inv.Devices) == 0 {
		return s, fmt.Errorf("nvml: no usable NVIDIA devices (%d found)", n)
	}
	return s, nil
}

// lookup implements deviceMeter's lookup: the key is the device's
// position in the set, found by UUID, or by NVML index when d has no UUID.
func (s *handleSet[H]) lookup(d DeviceRef) (int, bool) {
	for i, id := range s.ids {
		if d.UUID != "" && id == d.UUID {
			return i, true
		}
	}
	if d.UUID != "" {
		return 0, false
	}
	for i, idx := range s.indexes {
		if idx == d.Index {
			return i, true
		}
	}
	return 0, false
}

// readAll reads every device's telemetry with readDevice, stamped with
// the device's ID and one time; a device that failed still gives what it
// could, and its error is joined into the result's.
func (s *handleSet[H]) readAll(ctx context.Context, readDevice func(H) (Telemetry, error)) ([]Telemetry, error) {
	now := time.Now()
	out := make([]Telemetry, 0, len(s.handles))
	var errs []error
	for i, h := range s.handles {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		t, err := readDevice(h)
		t.Device, t.Time = s.ids[i], now
		if err != nil {
			errs = append(errs, fmt.Errorf("gpu %s: %w", s.ids[i], err))
		}
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// versions records the driver and CUDA versions an NVML binding read in
// inv, or a warning for each it could not (nil errors mean read).
func versions(inv *Inventory, driver string, driverErr error, cuda int, cudaErr error) {
	if driverErr == nil {
		inv.Driver = driver
	} else {
		inv.Warnings = append(inv.Warnings, fmt.Sprintf("nvml driver version: %v", driverErr))
	}
	if cudaErr == nil && cuda > 0 {
		inv.CUDA = fmt.Sprintf("%d.%d", cuda/1000, cuda%1000/10)
	} else if cudaErr != nil {
		inv.Warnings = append(inv.Warnings, fmt.Sprintf("nvml cuda version: %v", cudaErr))
	}
}
