//go:build !(linux && cgo)

package main

// benchDiscovery needs go-nvml's mocks, which need Linux and cgo.
func benchDiscovery(providers, searches int) Result {
	return Result{ID: "B2", Name: "discovery: providers of one class through capability keys",
		Skipped: "needs Linux with cgo (the providers' GPUs are go-nvml mocks)"}
}
