package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// benchCluster is B3, the measured round against today's method (see
// benchClusterSim). It runs TestB3TimeToCluster (cluster_test.go) in a
// `go test` child, since virtual time needs testing/synctest, and reads
// back the Result the test writes.
func benchCluster(providers, jobs int) Result {
	res := Result{ID: "B3", Name: "time to cluster: submit to all awards accepted", Unit: "ms",
		Params: map[string]any{"providers": providers, "jobs_per_k_per_method": jobs},
		Target: "median <= 4 x the requester's RTT to its farthest winner + 50 ms"}
	dir, err := os.MkdirTemp("", "gpumesh-b3-")
	if err != nil {
		res.Skipped = err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "b3.json")
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "test", "./bench", "-run", "^TestB3TimeToCluster$", "-count=1", "-timeout", "60m", "-v")
	cmd.Env = append(os.Environ(), "GPUMESH_B3_OUT="+out,
		"GPUMESH_B3_PROVIDERS="+strconv.Itoa(providers), "GPUMESH_B3_JOBS="+strconv.Itoa(jobs))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		res.Skipped = fmt.Sprintf("go test ./bench -run TestB3TimeToCluster: %v", err)
		return res
	}
	data, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		res.Skipped = "reading B3's result: " + err.Error()
	}
	return res
}
