// Command exit3 says so on stderr and exits 3.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "exiting 3")
	os.Exit(3)
}
