package executor

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestConfigAndOpen(t *testing.T) {
	c := DefaultConfig()
	c.Commands = []string{"train=/bin/echo --quiet", "bad", "rel=bin/x"}
	err := c.Validate("executor")
	if err == nil || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), "absolute path") {
		t.Fatalf("Validate: %v, want both bad entries named", err)
	}
	c.Commands = []string{"train=/bin/echo --quiet"}
	if err := c.Validate("executor"); err != nil {
		t.Fatal(err)
	}
	c.Docker = true
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	set, skipped, err := Open(context.Background(), c, t.TempDir(), "test-owner")
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if got := set.Names(); !slices.Equal(got, []string{"process", "wasm"}) {
		t.Errorf("executors %v, want process and wasm (no engine at the docker host)", got)
	}
	if !strings.Contains(skipped["docker"], "unavailable") {
		t.Errorf("docker skipped for %q, want the engine's absence", skipped["docker"])
	}
	if p := set["process"].(*Process); !slices.Equal(p.Commands(), []string{"train"}) {
		t.Errorf("allowlist %v", p.Commands())
	}
}
