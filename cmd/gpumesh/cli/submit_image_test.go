package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestImageArg: a file is an archive, sent absolute (a job file's relative
// path from its folder); a reference stays as it is; what can only be a
// path but names no file is an error.
func TestImageArg(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "img.tar")
	if err := os.WriteFile(archive, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	ref := "registry.example/team/img@sha256:" + strings.Repeat("a", 64)
	cases := []struct {
		v, jobFile, want, says string
	}{
		{"img.tar", "", archive, ""},
		{"./img.tar", "", archive, ""},
		{archive, "", archive, ""},
		{"img.tar", filepath.Join(dir, "job.yaml"), archive, ""},
		{ref, "", ref, ""},
		{"busybox:1.36", filepath.Join(dir, "job.yaml"), "busybox:1.36", ""},
		{"./gone.tar", "", "", "no image archive"},
		{"/nowhere/img", "", "", "no image archive"},
		{".", "", "", "not a regular file"},
	}
	for _, c := range cases {
		var errs []string
		got := imageArg("--image", c.v, c.jobFile, func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) })
		switch {
		case c.says != "":
			if len(errs) == 0 || !strings.Contains(errs[0], c.says) {
				t.Errorf("imageArg(%q): %v, want an error saying %q", c.v, errs, c.says)
			}
		case len(errs) > 0 || got != c.want:
			t.Errorf("imageArg(%q, %q) = %q %v, want %q", c.v, c.jobFile, got, errs, c.want)
		}
	}
}

// TestEnvArgs: --env lays over the job file's env; names providers refuse
// are refused at submit, each with its reason.
func TestEnvArgs(t *testing.T) {
	spec := market.Spec{Env: map[string]string{"A": "file", "B": "file"}}
	if err := envArgs(&spec, []string{"A=flag", "C=x=y", "D="}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "flag", "B": "file", "C": "x=y", "D": ""}; fmt.Sprint(spec.Env) != fmt.Sprint(want) {
		t.Errorf("env %v, want %v", spec.Env, want)
	}
	err := envArgs(&market.Spec{}, []string{"GPUMESH_RANK=9", "LD_PRELOAD=/tmp/x.so", "NVIDIA_VISIBLE_DEVICES=all", "NOEQUALS"})
	if err == nil {
		t.Fatal("refused names passed")
	}
	for _, says := range []string{"GPUMESH_RANK is reserved", "LD_PRELOAD is never allowed", "NVIDIA_VISIBLE_DEVICES is never allowed", `"NOEQUALS" is not KEY=VALUE`} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("%v\nwant it to say %q", err, says)
		}
	}
}
