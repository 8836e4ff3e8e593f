package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// imageArg turns what --image (or a job file's image:, with jobFile its
// path) says into a spec's image: a path to an existing file is an image
// archive, sent to the node absolute (a job file's relative path is read
// from its folder); anything else is an image reference. A value that
// can only be a path (it starts with / or ., or ends in .tar) but names
// no file is an error, not a reference.
func imageArg(flag, v, jobFile string, bad func(string, ...any)) string {
	p := v
	if jobFile != "" && jobFile != "-" && !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(jobFile), p)
	}
	st, err := os.Stat(p)
	switch {
	case err == nil && st.Mode().IsRegular():
		abs, err := filepath.Abs(p)
		if err != nil {
			bad("%s: %v", flag, err)
		}
		return abs
	case err == nil:
		bad("%s: %s is not a regular file (an image archive is one file: docker save -o img.tar IMAGE)", flag, v)
	case strings.HasPrefix(v, "/") || strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".tar"):
		bad("%s: no image archive at %s: %v", flag, p, err)
	}
	return v
}

// envArgs lays --env KEY=VALUE over the job file's env and checks the
// result as providers will: GPUMESH_*, loader, path and GPU-selection
// names are refused here, before the job is published.
func envArgs(spec *market.Spec, kvs []string) error {
	var errs []string
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Sprintf("--env %q is not KEY=VALUE", kv))
			continue
		}
		if spec.Env == nil {
			spec.Env = map[string]string{}
		}
		spec.Env[k] = v
	}
	if err := run.CheckEnv(spec.Env); err != nil {
		errs = append(errs, "env: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}
