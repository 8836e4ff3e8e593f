// Command loop prints one line, then spins forever without calling the
// host.
package main

import "os"

var sink uint64

func main() {
	os.Stdout.WriteString("looping\n")
	for i := uint64(0); ; i++ {
		sink += i * i
	}
}
