//go:build windows

package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procGetConsoleProcessList is kernel32's GetConsoleProcessList, which
// golang.org/x/sys/windows does not wrap.
var procGetConsoleProcessList = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetConsoleProcessList")

// ownConsole says whether this process is the only one on its console:
// Windows made the console for it, as it does when Explorer starts a
// console program on a double-click (from cmd.exe or PowerShell, the
// shell shares it).
func ownConsole() bool {
	var pids [2]uint32
	n, _, _ := procGetConsoleProcessList.Call(uintptr(unsafe.Pointer(&pids[0])), uintptr(len(pids)))
	return n == 1
}

// holdConsole keeps a console window that Explorer opened for a
// double-click on screen after the node fails, so its user can read why
// before the window closes with the process.
func holdConsole(args []string, code int, stderr io.Writer) {
	if len(args) > 0 || code == ExitOK || !ownConsole() {
		return
	}
	fmt.Fprintln(stderr, "gpumesh stopped. Press Enter to close this window.")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
