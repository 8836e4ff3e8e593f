// Command spam prints lines forever.
package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		fmt.Fprintf(w, "line %d: the quick brown fox jumps over the lazy dog\n", i)
	}
}
