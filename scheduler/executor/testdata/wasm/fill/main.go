// Command fill writes to /outputs/big forever, 1 MiB at a time.
package main

import (
	"fmt"
	"os"
)

func main() {
	f, err := os.Create("/outputs/big")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
