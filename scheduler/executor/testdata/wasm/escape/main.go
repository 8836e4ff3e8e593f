// Command escape tries to leave its sandbox and prints, for every attempt,
// "attempt NAME: blocked (ERR)" or "attempt NAME: ESCAPED (WHAT)". It exits
// 0 either way; the test reads the lines. Its arguments are a host TCP
// address to dial and the name of a file in the job's folder, outside
// /inputs and /outputs, to read through tricks.
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
)

func report(name string, what string, err error) {
	if err != nil {
		fmt.Printf("attempt %s: blocked (%v)\n", name, err)
		return
	}
	fmt.Printf("attempt %s: ESCAPED (%s)\n", name, strings.TrimSpace(what))
}

func read(name, path string) {
	b, err := os.ReadFile(path)
	if len(b) > 64 {
		b = b[:64]
	}
	report(name, string(b), err)
}

func main() {
	addr, secret := os.Args[1], os.Args[2]

	read("read-etc-passwd", "/etc/passwd")
	read("read-dotdot-inputs", "/inputs/../../etc/passwd")
	read("read-dotdot-relative", "../../etc/passwd")
	read("read-job-folder", "/inputs/../"+secret)

	// A symlink made inside /outputs pointing out of it, then read
	// through: the host would follow it if the executor allowed it.
	err := os.Symlink("../../../../../../../../../../etc/passwd", "/outputs/passwd")
	report("symlink-create-deep", "created /outputs/passwd -> /etc/passwd", err)
	read("symlink-read-deep", "/outputs/passwd")
	err = os.Symlink("..", "/outputs/up")
	report("symlink-create-up", "created /outputs/up -> ..", err)
	read("symlink-read-up", "/outputs/up/"+secret)

	err = os.Link("/inputs/in.txt", "/outputs/hard")
	report("hardlink-inputs", "linked /inputs/in.txt to /outputs/hard", err)
	err = os.Rename("/inputs/in.txt", "/outputs/moved")
	report("rename-inputs", "moved /inputs/in.txt to /outputs/moved", err)
	err = os.WriteFile("/inputs/in.txt", []byte("overwritten"), 0o644)
	report("write-inputs", "overwrote /inputs/in.txt", err)
	err = os.WriteFile("/new.txt", []byte("x"), 0o644)
	report("write-root", "wrote /new.txt", err)

	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Write([]byte("hello from wasm\n"))
		c.Close()
	}
	report("dial-tcp", "connected to "+addr, err)

	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "HOME" {
			report("host-env", kv, nil)
		}
	}
}
