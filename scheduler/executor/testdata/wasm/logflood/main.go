// Command logflood floods its logs: it prints MiB (its first argument,
// default 64) mebibytes to stdout in lines of 16 KiB, each starting with
// terminal escape sequences (clear screen, window title, carriage return,
// a bidi override), then exits 0.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	mib := 64
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "MiB:", err)
			os.Exit(2)
		}
		mib = n
	}
	const lineBytes = 16 << 10
	head := "\x1b[2J\x1b]0;pwned\x07\r\u202e"
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	for i := 0; i < mib*(1<<20)/lineBytes; i++ {
		line := fmt.Sprintf("%s%d ", head, i)
		line += strings.Repeat("x", lineBytes-1-len(line))
		w.WriteString(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		os.Exit(1)
	}
}
