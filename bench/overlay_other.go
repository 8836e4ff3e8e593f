//go:build !linux

package main

// benchOverlay needs network namespaces and TUN devices: Linux only.
func benchOverlay(mib, pings, rounds int) Result {
	return Result{ID: "B11", Name: "job network: overlay vs raw libp2p stream vs loopback TCP",
		Skipped: "needs Linux (network namespaces and TUN devices)"}
}
