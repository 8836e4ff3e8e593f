//go:build !windows

package cli

import "io"

// holdConsole does nothing here: a terminal that Finder or a desktop
// opened for a double-click stays open after the program ends (macOS's
// Terminal says "[Process completed]").
func holdConsole([]string, int, io.Writer) {}
