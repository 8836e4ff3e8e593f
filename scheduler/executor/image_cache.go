package executor

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// cachedArchive is one loaded archive's image on the engine.
type cachedArchive struct {
	tag  string
	id   string
	size int64
	used time.Time // when it was last loaded or run (its tag's time)
}

// archiveGrace is how long after its last use a cached archive's image is
// safe from trimArchives: the time from HoldsArchive (the requester then
// does not send it) or jobImage to the container's creation, after which
// the engine refuses to remove an image in use.
var archiveGrace = 5 * time.Minute

// touchArchive marks the image of tag as just used: tagging it again sets
// the engine's last-tag time, which trimArchives evicts by.
func (d *Docker) touchArchive(ctx context.Context, id, tag string) {
	_, _ = d.cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: tag})
}

// trimArchives removes the images of loaded archives, least recently used
// first, until those left take at most ArchiveCacheBytes; keep (the tag
// just loaded), images used within archiveGrace and images a container
// uses stay. Errors only leave more
// cached: the next load trims again.
func (d *Docker) trimArchives(ctx context.Context, keep string) {
	list, err := d.cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", archiveTagRepo)})
	if err != nil {
		slog.Warn("docker: list cached image archives", "err", err)
		return
	}
	var cached []cachedArchive
	var total int64
	for _, s := range list.Items {
		for _, tag := range s.RepoTags {
			if !strings.HasPrefix(tag, archiveTagRepo+":") {
				continue
			}
			c := cachedArchive{tag: tag, id: s.ID, size: s.Size}
			if img, err := d.cli.ImageInspect(ctx, tag); err == nil {
				c.used = img.Metadata.LastTagTime
			}
			cached = append(cached, c)
			total += c.size
		}
	}
	slices.SortFunc(cached, func(a, b cachedArchive) int { return a.used.Compare(b.used) }) // oldest first
	for _, c := range cached {
		if total <= d.cfg.ArchiveCacheBytes {
			return
		}
		if c.tag == keep || time.Since(c.used) < archiveGrace {
			continue
		}
		// Not forced: an image a running container uses is refused, and
		// stays until a later trim.
		if _, err := d.cli.ImageRemove(ctx, c.tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
			slog.Debug("docker: cached image archive kept", "tag", c.tag, "err", err)
			continue
		}
		total -= c.size
		slog.Info("docker: cached image archive removed", "tag", c.tag, "image", c.id, "bytes", c.size)
	}
}

// HoldsArchive implements run.ArchiveHolder: whether the image of the
// archive of digest is loaded here (and within MaxImageBytes); a yes
// counts as a use, so it stays for the job about to start.
func (d *Docker) HoldsArchive(ctx context.Context, digest string) bool {
	if !archiveDigestPattern.MatchString(digest) {
		return false
	}
	tag := archiveTagRepo + ":" + strings.TrimPrefix(digest, "sha256:")
	img, err := d.cli.ImageInspect(ctx, tag)
	if err != nil || img.Size > d.cfg.MaxImageBytes {
		return false
	}
	d.touchArchive(ctx, img.ID, tag)
	return true
}
