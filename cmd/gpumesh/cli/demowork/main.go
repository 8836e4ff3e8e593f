// Command demowork is the work `gpumesh demo` runs on its cluster, built
// as a WASI module (demowork.wasm, embedded in the binary): each rank
// estimates pi by Monte Carlo from its own seed, prints its progress, and
// writes its counts to /outputs/pi.json for the requester to combine. It
// uses strconv, not fmt, to keep the module small.
//
// Rebuild the module after changing this file:
//
//	go generate ./cmd/gpumesh/cli/
package main

import (
	"math/rand/v2"
	"os"
	"strconv"
)

func say(parts ...string) {
	for _, p := range parts {
		os.Stdout.WriteString(p)
	}
	os.Stdout.WriteString("\n")
}

func main() {
	samples := int64(4_000_000)
	if len(os.Args) > 1 { // the number of points to throw
		n, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || n < 1 {
			os.Stderr.WriteString("usage: demowork [POINTS]\n")
			os.Exit(2)
		}
		samples = n
	}
	rank, _ := strconv.Atoi(os.Getenv("GPUMESH_RANK"))
	r := strconv.Itoa(rank)
	say("rank ", r, " of ", os.Getenv("GPUMESH_WORLD_SIZE"), " on job ", os.Getenv("GPUMESH_JOB_ID"), ": throwing ", strconv.FormatInt(samples, 10), " points")
	rng := rand.New(rand.NewPCG(uint64(rank)+1, 0x9e3779b97f4a7c15))
	var inside int64
	step := max(samples/4, 1)
	for i := int64(1); i <= samples; i++ {
		x, y := rng.Float64(), rng.Float64()
		if x*x+y*y <= 1 {
			inside++
		}
		if i%step == 0 {
			say("rank ", r, ": ", strconv.FormatInt(i*100/samples, 10), "% done, pi ~ ", strconv.FormatFloat(4*float64(inside)/float64(i), 'f', 5, 64))
		}
	}
	// {"rank", "samples", "inside"}: what the requester combines.
	b := []byte(`{"rank":` + r + `,"samples":` + strconv.FormatInt(samples, 10) + `,"inside":` + strconv.FormatInt(inside, 10) + `}`)
	if err := os.WriteFile("/outputs/pi.json", b, 0o644); err != nil {
		os.Stderr.WriteString("write /outputs/pi.json: " + err.Error() + "\n")
		os.Exit(1)
	}
}
