// Command hash hashes a 1 MiB buffer with SHA-256 as many times as its
// argument says and prints the last digest: ordinary Go work, with calls
// and loops, for BenchmarkWasmLoop.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 1<<20)
	var sum [32]byte
	for i := 0; i < n; i++ {
		buf[0] = byte(i)
		sum = sha256.Sum256(buf)
	}
	fmt.Printf("%x\n", sum)
}
