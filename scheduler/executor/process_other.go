//go:build !linux && !windows

package executor

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// envFoldsCase: Unix environment names are case-sensitive.
const envFoldsCase = false

// processSupported refuses: macOS accepts RLIMIT_AS and RLIMIT_DATA but
// enforces neither (its malloc maps memory the limits do not count), and
// it has no prlimit to set a child's limits before it runs, so a job's
// memory could not be bounded. The BSDs are not tried.
func processSupported() error {
	if runtime.GOOS == "darwin" {
		return fmt.Errorf("%w: macOS enforces no memory limit on a process (RLIMIT_AS and RLIMIT_DATA are ignored); use the wasm or docker executor", ErrOSUnsupported)
	}
	return fmt.Errorf("%w: %s is not supported (only Linux and Windows are); use the wasm or docker executor", ErrOSUnsupported, runtime.GOOS)
}

// osEnv is the part of a job's base environment a Unix program needs.
func osEnv(string) map[string]string {
	return map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin"}
}

// startGroup never runs: NewProcess refuses first.
func startGroup(func() *exec.Cmd, Limits, []Device, *Network) (*exec.Cmd, procGroup, error, error) {
	return nil, nil, nil, processSupported()
}

// openNetNS: only Linux gives a job a network namespace.
func openNetNS(int) (*os.File, error) {
	return nil, fmt.Errorf("%w: network namespaces are Linux's", ErrUnavailable)
}
