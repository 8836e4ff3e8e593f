package config

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Proof is the [proof] table: the proof-of-compute helper that answers
// GPU-class (version 2) challenges.
type Proof struct {
	// Helper is the absolute path of the helper program; empty means none,
	// and this node's GPU classes are advertised as unverified.
	Helper string `toml:"helper" comment:"absolute path of the proof-of-compute helper that answers GPU-class challenges (scripts/prover/gpumesh_prover.py with PyTorch, or a wrapper that runs it); empty: none, and this node's GPU classes are advertised unverified, so requesters checking them pass it over"`
	// HelperArgs are the helper's arguments.
	HelperArgs []string `toml:"helper_args" comment:"arguments passed to the helper, e.g. [\"--device\", \"cuda:0\"]"`
	// MaxPool is the largest pool of a GPU-class challenge accepted.
	MaxPool int `toml:"max_pool" comment:"largest pool of a GPU-class challenge this node accepts: the helper holds 2 x max_pool fp16 matrices of n^2 (n = 4096: 64 MiB each pair), 128 (8 GiB) fits a 16 GB GPU and is twice what a B200 needs for its second"`
}

// DefaultProof is the default [proof] table.
func DefaultProof() Proof { return Proof{MaxPool: 128} }

// validate returns every problem with p, each naming its key.
func (p Proof) validate() error {
	var errs []error
	if p.Helper != "" && !filepath.IsAbs(p.Helper) {
		errs = append(errs, fmt.Errorf("proof.helper: %q is not an absolute path", p.Helper))
	}
	if len(p.HelperArgs) > 32 {
		errs = append(errs, fmt.Errorf("proof.helper_args: %d arguments, at most 32", len(p.HelperArgs)))
	}
	if p.MaxPool < 1 || p.MaxPool > 256 {
		errs = append(errs, fmt.Errorf("proof.max_pool: must be between 1 and 256, got %d", p.MaxPool))
	}
	return errors.Join(errs...)
}
