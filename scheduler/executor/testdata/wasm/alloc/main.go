// Command alloc allocates memory without bound, touching every page.
package main

import "fmt"

var keep [][]byte

func main() {
	for i := 0; ; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			if j%4096 == 0 {
				b[j] = byte(i)
			}
		}
		keep = append(keep, b)
		if i%16 == 0 {
			fmt.Println("allocated", i+1, "MiB")
		}
	}
}
