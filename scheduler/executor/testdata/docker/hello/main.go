// Command hello is the docker executor's test program. It is built static
// (CGO_ENABLED=0) into a FROM scratch image by the tests, so it can rely on
// nothing but the kernel. The first argument picks what it does:
//
//	(none or other)  print the rank, arguments and user, probe the sandbox,
//	                 and write /outputs/out.txt (/inputs/in.txt upper-cased)
//	sleep            print "sleeping" and sleep forever
//	spam             print lines forever
//	net              try the network: a UDP route out, TCP to 127.0.0.1:1
//	overlay          on a job network: print gpumesh0's address and the
//	                 environment; rank 1 echoes one UDP datagram, rank 0
//	                 sends until it hears the echo, then tries the host
//	                 address in argv[2] (TCP), which must fail
//	alloc            allocate and touch memory until killed
//	fill             write 64 MiB to /outputs, then sleep forever
//	sparse           truncate /outputs/big to 8 GiB, then sleep forever
//	spin             burn CPU forever
//	exit N           exit with status N
//	local [fail=I]   a per-device worker's container: print its place
//	                 devices and gpumesh0's address if it has one, write
//	                 /outputs/local-<LOCAL_RANK>.txt;
//	                 local rank 0 listens on 127.0.0.1:MASTER_PORT until
//	                 every other local rank has said hello over loopback;
//	                 with fail=I, local rank I exits 3 at once and the
//	                 others wait forever instead
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "sleep":
		fmt.Println("sleeping")
		for {
			time.Sleep(time.Hour)
		}
	case "spam":
		line := bytes.Repeat([]byte("x"), 100)
		for i := 0; ; i++ {
			fmt.Printf("%d %s\n", i, line)
		}
	case "net":
		os.Exit(probeNet())
	case "overlay":
		host := ""
		if len(os.Args) > 2 {
			host = os.Args[2]
		}
		os.Exit(overlay(host))
	case "alloc":
		fmt.Println("allocating")
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = byte(i)
			}
			keep = append(keep, b)
		}
	case "fill":
		f, err := os.Create("/outputs/big")
		if err != nil {
			fmt.Println("create:", err)
			os.Exit(1)
		}
		chunk := make([]byte, 1<<20)
		for range 64 {
			if _, err := f.Write(chunk); err != nil {
				fmt.Println("write:", err)
				os.Exit(1)
			}
		}
		fmt.Println("filled")
		for {
			time.Sleep(time.Hour)
		}
	case "sparse":
		f, err := os.Create("/outputs/big")
		if err == nil {
			err = f.Truncate(8 << 30)
		}
		if err != nil {
			fmt.Println("truncate:", err)
			os.Exit(1)
		}
		fmt.Println("made an 8 GiB file")
		for {
			time.Sleep(time.Hour)
		}
	case "spin":
		fmt.Println("spinning")
		x := 0
		for {
			x++
		}
	case "exit":
		code := 0
		if len(os.Args) > 2 {
			code, _ = strconv.Atoi(os.Args[2])
		}
		fmt.Println("exiting", code)
		os.Exit(code)
	case "local":
		os.Exit(local(os.Args[2:]))
	default:
		os.Exit(hello())
	}
}

func hello() int {
	fmt.Printf("rank=%s args=%q\n", os.Getenv("GPUMESH_RANK"), os.Args[1:])
	fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	probe := func(name, path string) {
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			fmt.Printf("%s: not writable\n", name)
			return
		}
		fmt.Printf("%s: writable\n", name)
	}
	probe("rootfs", "/probe")
	probe("tmp", "/tmp/probe")
	probe("inputs", "/inputs/probe")
	in, err := os.ReadFile("/inputs/in.txt")
	if err != nil && !os.IsNotExist(err) {
		fmt.Fprintln(os.Stderr, "read input:", err)
		return 1
	}
	if err := os.WriteFile("/outputs/out.txt", bytes.ToUpper(in), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write output:", err)
		return 1
	}
	fmt.Println("wrote /outputs/out.txt")
	return 0
}

// probeNet reports whether the container has a route out (a UDP "dial"
// only needs a route, so it answers at once with or without a network)
// and what a TCP dial to 127.0.0.1:1 says; it exits 0 only with a route.
func probeNet() int {
	code := 0
	if c, err := net.Dial("udp", "192.0.2.1:9"); err != nil {
		fmt.Println("route: none:", err)
		code = 3
	} else {
		fmt.Println("route: ok from", c.LocalAddr())
		c.Close()
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:1", 2*time.Second); err != nil {
		fmt.Println("loopback:", err)
	} else {
		fmt.Println("loopback: connected")
		c.Close()
	}
	return code
}

// overlay is one rank of the docker executor's job-network test.
func overlay(host string) int {
	me, rank := os.Getenv("GPUMESH_ADDR"), os.Getenv("RANK")
	fmt.Printf("env master=%s:%s rank=%s world=%s peers=%s\n", os.Getenv("MASTER_ADDR"), os.Getenv("MASTER_PORT"), rank, os.Getenv("WORLD_SIZE"), os.Getenv("GPUMESH_PEERS"))
	ifc, err := net.InterfaceByName("gpumesh0")
	if err != nil {
		fmt.Println("iface: none:", err)
		return 1
	}
	addrs, _ := ifc.Addrs()
	fmt.Printf("iface %s %v mtu %d\n", ifc.Name, addrs, ifc.MTU)
	c, err := net.ListenPacket("udp4", net.JoinHostPort(me, "9000"))
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	defer c.Close()
	buf := make([]byte, 2048)
	if rank == "1" {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			fmt.Println("read:", err)
			return 1
		}
		_, _ = c.WriteTo(buf[:n], from)
		fmt.Println("echoed to", from)
		return 0
	}
	peers := strings.Split(os.Getenv("GPUMESH_PEERS"), ",")
	if len(peers) < 2 {
		fmt.Println("no rank 1 in GPUMESH_PEERS")
		return 1
	}
	to, err := net.ResolveUDPAddr("udp4", net.JoinHostPort(peers[1], "9000"))
	if err != nil {
		fmt.Println("resolve:", err)
		return 1
	}
	got := false
	for range 300 {
		_, _ = c.WriteTo([]byte("ping"), to)
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, from, err := c.ReadFrom(buf); err == nil {
			fmt.Printf("got %s from %s\n", buf[:n], from)
			got = true
			break
		}
	}
	if !got {
		fmt.Println("no echo")
		return 1
	}
	if host != "" {
		if c, err := net.DialTimeout("tcp", host, 2*time.Second); err != nil {
			fmt.Println("host=failed", err)
		} else {
			c.Close()
			fmt.Println("host=reached")
		}
	}
	return 0
}

// local is the "local" mode: one container of a per-device worker.
func local(args []string) int {
	me, n := os.Getenv("LOCAL_RANK"), os.Getenv("LOCAL_WORLD_SIZE")
	fmt.Printf("env rank=%s/%s local=%s/%s node=%s cuda=%s nvidia=%s master=%s:%s\n", os.Getenv("RANK"), os.Getenv("WORLD_SIZE"),
		me, n, os.Getenv("NODE_RANK"), os.Getenv("CUDA_VISIBLE_DEVICES"), os.Getenv("NVIDIA_VISIBLE_DEVICES"),
		os.Getenv("MASTER_ADDR"), os.Getenv("MASTER_PORT"))
	if ifc, err := net.InterfaceByName("gpumesh0"); err == nil {
		addrs, _ := ifc.Addrs()
		fmt.Printf("iface %s %v\n", ifc.Name, addrs)
	}
	if err := os.WriteFile("/outputs/local-"+me+".txt", []byte("local rank "+me+"\n"), 0o644); err != nil {
		fmt.Println("write output:", err)
		return 1
	}
	for _, a := range args {
		if fail, ok := strings.CutPrefix(a, "fail="); ok {
			if fail == me {
				fmt.Println("failing")
				return 3
			}
			fmt.Println("waiting")
			for {
				time.Sleep(time.Hour)
			}
		}
	}
	addr := net.JoinHostPort("127.0.0.1", os.Getenv("MASTER_PORT"))
	if me != "0" {
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				fmt.Fprintf(c, "hello from local rank %s\n", me)
				c.Close()
				fmt.Println("said hello")
				return 0
			}
			if time.Now().After(deadline) {
				fmt.Println("dial:", err)
				return 1
			}
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	defer ln.Close()
	others, _ := strconv.Atoi(n)
	for range others - 1 {
		c, err := ln.Accept()
		if err != nil {
			fmt.Println("accept:", err)
			return 1
		}
		b := make([]byte, 256)
		k, _ := c.Read(b)
		c.Close()
		fmt.Printf("heard %s\n", strings.TrimSpace(string(b[:k])))
	}
	return 0
}
