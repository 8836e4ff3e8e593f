// Command memhog is the process executor's memory-limit test helper:
// "reserve N" maps N GiB of address space PROT_NONE, as the CUDA driver
// does at start-up; "write N" maps N MiB writable and writes every page.
// It prints what it did and exits 0, or prints the error and exits 3.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: memhog reserve GIB | write MIB")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "reserve":
		_, err = syscall.Mmap(-1, 0, n<<30, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	case "write":
		var b []byte
		if b, err = syscall.Mmap(-1, 0, n<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON); err == nil {
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
		}
	}
	if err != nil {
		fmt.Println(os.Args[1], os.Args[2], "failed:", err)
		os.Exit(3)
	}
	fmt.Println(os.Args[1], os.Args[2], "ok")
}
