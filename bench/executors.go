package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// benchExecutors is B8. The executors' own benchmarks (scheduler/executor:
// BenchmarkWasmFirstLine with a warm module cache, BenchmarkDockerFirstLine
// with a FROM scratch image) time Start to the first output line; they run
// in a `go test` child because their fixtures (a wasip1 module, the test
// image) are built by the tests. A benchmark that cannot run says why.
func benchExecutors(runs int) Result {
	res := Result{ID: "B8", Name: "executor start-up: Start to first output line", Unit: "ms",
		Params: map[string]any{"runs": runs, "wasm": "Go wasip1 hello module, compiled module cached", "docker": "FROM scratch static hello image, vfs storage"},
		Target: "wasm <= 20 ms to first output; docker reported", Figures: map[string]float64{}}
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "test", "./scheduler/executor/", "-run", "^$", "-bench", "^Benchmark(Wasm|Docker)FirstLine$",
		"-benchtime", fmt.Sprintf("%dx", runs), "-count=1", "-timeout", "20m")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	os.Stderr.Write(out.Bytes())
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(fields[0], "Benchmark"), "-") // BenchmarkWasmFirstLine-2
		name = strings.ToLower(strings.TrimSuffix(name, "FirstLine"))
		for i := 2; i+1 < len(fields); i += 2 {
			v, perr := strconv.ParseFloat(fields[i], 64)
			if perr == nil && strings.HasPrefix(fields[i+1], "ms-") {
				res.Figures[name+"_"+strings.ReplaceAll(strings.TrimPrefix(fields[i+1], "ms-"), "-", "_")] = v
			}
		}
	}
	if len(res.Figures) == 0 {
		res.Skipped = fmt.Sprintf("the executor benchmarks reported nothing (%v)", err)
		return res
	}
	p50, ok := res.Figures["wasm_first_line_p50"]
	res.Verdict = map[bool]string{true: "met", false: "missed"}[ok && p50 <= 20]
	return res
}
