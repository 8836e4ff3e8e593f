// Command ticks prints "tick <i>" every -every for -n ticks, then copies
// /inputs/in.txt uppercased to /outputs/out.txt: work that runs long
// enough to lose its provider on the way.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 10, "ticks")
	every := flag.Duration("every", 100*time.Millisecond, "time between ticks")
	flag.Parse()
	for i := range *n {
		fmt.Printf("tick %d rank=%s\n", i, os.Getenv("GPUMESH_RANK"))
		time.Sleep(*every)
	}
	in, err := os.ReadFile("/inputs/in.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("/outputs/out.txt", bytes.ToUpper(in), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
}
