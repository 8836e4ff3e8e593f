package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// ImageFile is the name of the file that holds a docker job's image
// archive (docker save output); the spec's Docker.Archive is its digest.
// A provider receives it to disk like an input, bounded by its docker
// executor's limit (ArchiveTaker) rather than ServerConfig.MaxFileBytes,
// and the work does not see it under /inputs.
const ImageFile = "image"

// ArchiveTaker is implemented by an executor that runs image archives
// sent with a request (the docker executor): MaxArchiveBytes is the
// largest it takes, 0 for none. A provider whose executor does not
// implement it refuses requests that carry one, so a wrapper of an
// executor forwards it.
type ArchiveTaker interface {
	MaxArchiveBytes() int64
}

// validateImageFile checks that the image file is there exactly when a
// docker spec names an archive, and is that archive.
func (m *RunRequest) validateImageFile(image *File) []error {
	var archive string
	if d := m.Spec.Docker; d != nil {
		archive = d.Archive
	}
	switch {
	case archive != "" && image == nil:
		return []error{fmt.Errorf("a docker spec with an archive but no %q file", ImageFile)}
	case archive == "" && image != nil:
		return []error{fmt.Errorf("an %q file for a spec without an image archive", ImageFile)}
	case image != nil && image.Digest != archive:
		return []error{fmt.Errorf("docker archive %.80q is not the image file's %s", archive, image.Digest)}
	}
	return nil
}

// inputsSize is the size of the request's files other than the image
// archive, which has its own limit.
func (m *RunRequest) inputsSize() int64 {
	var n int64
	for _, f := range m.Files {
		if f.Size > 0 && f.Name != ImageFile {
			n += f.Size
		}
	}
	return n
}

// CheckEnv returns every problem with env as a job's extra environment:
// too many entries, a name that is not [A-Za-z_][A-Za-z0-9_]* or too
// long, a GPUMESH_ name (the provider sets those), a name no job may set
// (executor.EnvNeverAllowed: loader, path, interpreter and GPU-selection
// variables), a value too long or with a NUL. A process provider further
// allows only the names it lists.
func CheckEnv(env map[string]string) error {
	if len(env) > MaxEnv {
		return fmt.Errorf("%d environment variables, at most %d", len(env), MaxEnv)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for k, v := range env {
		switch {
		case len(k) > MaxEnvKeyBytes || !envKeyPattern.MatchString(k):
			bad("environment name %.40q is not a name ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes)", k, MaxEnvKeyBytes)
		case strings.HasPrefix(k, reservedEnvPrefix):
			bad("environment name %s is reserved: gpumesh sets %s* itself", k, reservedEnvPrefix)
		case executor.EnvNeverAllowed(k) != "":
			bad("environment name %s is never allowed: %s", k, executor.EnvNeverAllowed(k))
		case len(v) > MaxEnvValBytes || strings.ContainsRune(v, 0):
			bad("environment value of %s: %d bytes or a NUL, at most %d bytes", k, len(v), MaxEnvValBytes)
		}
	}
	return errors.Join(errs...)
}

// checkFileSize refuses a file of req over its limit: MaxFileBytes for
// the module and inputs, the executor's for an image archive.
func (s *Server) checkFileSize(req *RunRequest, f File) error {
	if f.Name != ImageFile {
		if f.Size > s.cfg.MaxFileBytes {
			return fmt.Errorf("file %s: size %d over the limit of %d", f.Name, f.Size, s.cfg.MaxFileBytes)
		}
		return nil
	}
	t, ok := s.execs[req.Spec.Executor].(ArchiveTaker)
	if !ok || t.MaxArchiveBytes() <= 0 {
		return fmt.Errorf("this provider's %s executor takes no image archives", req.Spec.Executor)
	}
	if f.Size > t.MaxArchiveBytes() {
		return fmt.Errorf("image archive: size %d over the limit of %d", f.Size, t.MaxArchiveBytes())
	}
	return nil
}

// linkImage puts the request's image archive, if any, in the rank's
// folder as executor.ArchiveFile, hard-linked from staging (copied where
// links fail): beside inputs/, not in it.
func linkImage(dir, staging string, req *RunRequest) error {
	for _, f := range req.Files {
		if f.Name != ImageFile {
			continue
		}
		src, dst := filepath.Join(staging, stagedName(f.Name)), filepath.Join(dir, executor.ArchiveFile)
		if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
			return nil // not sent: the executor holds it (cachedFiles)
		}
		if err := os.Link(src, dst); err == nil {
			return nil
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
	}
	return nil
}

// ArchiveHolder is implemented by an executor that keeps the image
// archives it loaded (the docker executor): HoldsArchive says whether the
// archive of digest is there and will stay for the job about to start, so
// the requester need not send it again. A wrapper of an executor forwards
// it.
type ArchiveHolder interface {
	HoldsArchive(ctx context.Context, digest string) bool
}

// cachedFiles returns the request's files the provider holds already (an
// image archive its executor keeps), when the requester said it would
// leave them out, and the request as it is received: without them.
func (s *Server) cachedFiles(ctx context.Context, req *RunRequest) ([]string, *RunRequest) {
	d := req.Spec.Docker
	if !req.SkipCached || d == nil || d.Archive == "" {
		return nil, req
	}
	h, ok := s.execs[req.Spec.Executor].(ArchiveHolder)
	if !ok || !h.HoldsArchive(ctx, d.Archive) {
		return nil, req
	}
	recv := *req
	recv.Files = slices.DeleteFunc(slices.Clone(req.Files), func(f File) bool { return f.Name == ImageFile })
	return []string{ImageFile}, &recv
}

// validateCached checks an Ack's Cached: a few file names a request may
// hold.
func validateCached(names []string) error {
	if len(names) > MaxFiles {
		return fmt.Errorf("%d cached files, at most %d", len(names), MaxFiles)
	}
	for _, n := range names {
		if err := validInputName(n); err != nil {
			return fmt.Errorf("cached %w", err)
		}
	}
	return nil
}

// skipped is the files of req the requester leaves out: those ack lists
// as cached, when req said it would.
func skipped(req *RunRequest, ack Ack) map[string]bool {
	if !req.SkipCached || len(ack.Cached) == 0 {
		return nil
	}
	skip := make(map[string]bool, len(ack.Cached))
	for _, n := range ack.Cached {
		skip[n] = true
	}
	return skip
}
