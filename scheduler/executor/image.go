package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
)

// Errors of the docker executor's images. Each wraps one of the package's
// errors of Start.
var (
	// ErrRegistryRefused: the image is not present and its registry is not
	// one the provider pulls from (DockerConfig.Registries).
	ErrRegistryRefused = fmt.Errorf("%w: registry not allowed", ErrNotAllowed)
	// ErrDigestRequired: the image is not present and its reference pins
	// no digest; a provider pulls only name@sha256:..., whose content
	// cannot change under the job.
	ErrDigestRequired = fmt.Errorf("%w: pull without a pinned digest", ErrNotAllowed)
	// ErrDigestMismatch: what a registry served, or an archive holds, is
	// not what the job's digest names.
	ErrDigestMismatch = fmt.Errorf("%w: image digest does not match", ErrUnavailable)
	// ErrPull: the engine could not pull the image (registry down, no such
	// manifest, verification failed); the engine's reason follows.
	ErrPull = fmt.Errorf("%w: pull failed", ErrUnavailable)
)

// pinned is a reference to pull: a name in a registry with a digest.
type pinned struct {
	named  reference.Canonical
	domain string // the registry's host[:port], docker.io for Docker Hub
}

// pullable says whether ref may be pulled under registries, and what it
// names: a reference with a pinned sha256 digest (a tag with it is
// ignored by the engine), from a registry listed. registries empty: none.
func pullable(ref string, registries []string) (pinned, error) {
	if strings.HasPrefix(ref, "sha256:") {
		return pinned{}, fmt.Errorf("%w: docker image %.80s is not present here, and an image ID cannot be pulled", ErrUnavailable, ref)
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return pinned{}, fmt.Errorf("%w: docker image %.255q is not present here and is not a reference to pull: %w", ErrBadSpec, ref, err)
	}
	c, ok := named.(reference.Canonical)
	if !ok {
		return pinned{}, fmt.Errorf("%w: docker image %s is not present here; this provider pulls only references with a pinned digest (%s@sha256:...), whose content cannot change",
			ErrDigestRequired, ref, reference.FamiliarName(named))
	}
	if c.Digest().Algorithm() != "sha256" {
		return pinned{}, fmt.Errorf("%w: docker image %s: digest algorithm %s, only sha256", ErrDigestRequired, ref, c.Digest().Algorithm())
	}
	domain := reference.Domain(named)
	if len(registries) == 0 {
		return pinned{}, fmt.Errorf("%w: docker image %s is not present here and this provider pulls from no registry (executor.docker_registries is empty)", ErrRegistryRefused, ref)
	}
	if !slices.Contains(registries, domain) {
		return pinned{}, fmt.Errorf("%w: docker image %s is in registry %s; this provider pulls only from %s", ErrRegistryRefused, ref, domain, strings.Join(registries, ", "))
	}
	// Pull by name@digest only: a tag beside the digest is not what is
	// checked, so it is dropped.
	canon, err := reference.WithDigest(reference.TrimNamed(named), c.Digest())
	if err != nil {
		return pinned{}, fmt.Errorf("%w: docker image %s: %w", ErrBadSpec, ref, err)
	}
	return pinned{named: canon, domain: domain}, nil
}

// ValidRegistry checks one entry of DockerConfig.Registries: a registry
// host with an optional port, as image references name it (docker.io for
// Docker Hub), no scheme and no path.
func ValidRegistry(r string) error {
	named, err := reference.ParseNormalizedNamed(r + "/x")
	if err != nil || reference.Domain(named) != r || strings.ContainsAny(r, "/@") {
		return fmt.Errorf("registry %q is not host[:port] (docker.io for Docker Hub)", r)
	}
	return nil
}

// image makes sure the image ref names is present (pulling a pinned
// digest from an allowed registry when it is not) and not too large, and
// returns its ID, which the container then runs: a tag that moves after
// this check does not change what runs.
func (d *Docker) image(ctx context.Context, ref string) (string, error) {
	img, err := d.cli.ImageInspect(ctx, ref)
	if err == nil {
		if img.Size > d.cfg.MaxImageBytes {
			return "", fmt.Errorf("%w: docker image %s is %d bytes, at most %d", ErrTooLarge, ref, img.Size, d.cfg.MaxImageBytes)
		}
		return img.ID, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return "", dockerErr("inspect image "+ref, err)
	}
	p, err := pullable(ref, d.cfg.Registries)
	if err != nil {
		return "", err
	}
	return d.pullPinned(ctx, p)
}

// pullPinned pulls p, checks that the engine holds it under its digest and
// that it is within MaxImageBytes, and returns its ID. What it pulled for
// a refused image is removed again.
func (d *Docker) pullPinned(ctx context.Context, p pinned) (string, error) {
	ref := p.named.String()
	if err := d.pull(ctx, ref); err != nil {
		return "", err
	}
	img, err := d.cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", dockerErr("inspect pulled image "+ref, err)
	}
	refuse := func(err error) (string, error) {
		// Only the name@digest the pull added goes: an image that was
		// here under another name stays.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dockerCleanupTimeout)
		defer cancel()
		_, _ = d.cli.ImageRemove(rctx, ref, client.ImageRemoveOptions{})
		return "", err
	}
	if !holdsDigest(img.RepoDigests, p.named) {
		return refuse(fmt.Errorf("%w: pulled %s, but the engine holds it as %v", ErrDigestMismatch, ref, img.RepoDigests))
	}
	if img.Size > d.cfg.MaxImageBytes {
		return refuse(fmt.Errorf("%w: docker image %s is %d bytes, at most %d", ErrTooLarge, ref, img.Size, d.cfg.MaxImageBytes))
	}
	return img.ID, nil
}

// holdsDigest reports whether repoDigests (an inspect's, familiar or
// not) name want.
func holdsDigest(repoDigests []string, want reference.Canonical) bool {
	for _, rd := range repoDigests {
		n, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		if c, ok := n.(reference.Canonical); ok && c.Name() == want.Name() && c.Digest() == want.Digest() {
			return true
		}
	}
	return false
}

// dockerCleanupTimeout bounds the removal of what a refused job left.
const dockerCleanupTimeout = 30 * time.Second

// pull pulls ref, waiting for the engine to finish.
func (d *Docker) pull(ctx context.Context, ref string) error {
	resp, err := d.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		if cerr := resp.Close(); err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = cerr
		}
	}
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "verification failed"): // the engine's words for a manifest that is not its digest's
		return fmt.Errorf("%w: %w: docker image %s: the registry served other content: %w", ErrPull, ErrDigestMismatch, ref, err)
	}
	return fmt.Errorf("%w: docker image %s: %w", ErrPull, ref, err)
}
