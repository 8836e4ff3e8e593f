// Command copy reads /inputs/in.txt, writes it uppercased to
// /outputs/out.txt, and prints its rank and arguments.
package main

import (
	"bytes"
	"fmt"
	"os"
)

func main() {
	in, err := os.ReadFile("/inputs/in.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("/outputs/out.txt", bytes.ToUpper(in), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
	fmt.Printf("rank=%s\n", os.Getenv("GPUMESH_RANK"))
	fmt.Printf("args=%q\n", os.Args[1:])
	fmt.Fprintln(os.Stderr, "copied", len(in), "bytes")
}
