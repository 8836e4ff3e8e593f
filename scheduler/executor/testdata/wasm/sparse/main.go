// Command sparse makes /outputs/big 8 GiB long without writing 8 GiB: by
// truncate (the default) or, with the argument "pwrite", by writing one
// byte at 8 GiB. Then it sleeps, as a module that got what it wanted.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	f, err := os.Create("/outputs/big")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	const size = 8 << 30
	if len(os.Args) > 1 && os.Args[1] == "pwrite" {
		_, err = f.WriteAt([]byte{1}, size-1)
	} else {
		err = f.Truncate(size)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("made an 8 GiB file")
	time.Sleep(time.Hour)
}
