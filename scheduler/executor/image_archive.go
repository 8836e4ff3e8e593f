package executor

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// ArchiveFile is the name, in a docker job's folder (Job.Dir, beside
// inputs/ and outputs/), of the image archive its spec's Archive names.
const ArchiveFile = "image.tar"

// ErrNotImage: an image archive that is not one: not a tar, neither
// manifest.json nor index.json, a path that leaves the archive, an entry
// that is not a file, folder or link, more than one image, or more
// entries or metadata than a provider reads.
var ErrNotImage = fmt.Errorf("%w: not an image archive", ErrBadSpec)

// archiveTagRepo is the repository a loaded archive's image is tagged in,
// by the archive's digest (gpumesh-archive:<hex>): the same archive sent
// again, by any job, is found there and not loaded again.
const archiveTagRepo = "gpumesh-archive"

// Bounds of what CheckArchive reads besides the bytes themselves.
const (
	// maxArchiveEntries is the most tar entries of an archive.
	maxArchiveEntries = 100_000
	// maxArchiveMeta bounds manifest.json and index.json.
	maxArchiveMeta = 1 << 20
	// maxLoadMessages bounds the engine's answer to a load.
	maxLoadMessages = 1 << 20
)

// Annotations of an OCI index that an engine with the containerd image
// store turns into image names; a provider drops them with the names of
// manifest.json, so that an archive cannot retag the provider's images.
var archiveNameAnnotations = []string{"io.containerd.image.name", "org.opencontainers.image.ref.name"}

var (
	archiveDigestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	configPathPattern    = regexp.MustCompile(`^(?:blobs/sha256/([0-9a-f]{64})|([0-9a-f]{64})\.json)$`)
)

// ArchiveInfo is what CheckArchive learned of an image archive.
type ArchiveInfo struct {
	// Digest is "sha256:<hex>" of the archive's bytes; Size their count.
	Digest string
	Size   int64
	// Config is the image's config digest ("sha256:<hex>"), from
	// manifest.json: its ID on an engine with the classic image store;
	// empty for an OCI archive without manifest.json.
	Config string
	// Tags are the names manifest.json gives the image; a provider drops
	// them when it loads the archive.
	Tags []string
}

// archiveManifest is one entry of a docker save manifest.json.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// archiveIndex is the part of an OCI index.json a provider reads.
type archiveIndex struct {
	Manifests []struct {
		Digest string `json:"digest"`
	} `json:"manifests"`
}

// CheckArchive reads an image archive (docker save output) from r, at most
// limit bytes, and says what it holds. Errors wrap ErrNotImage, or
// ErrTooLarge past limit. It reads every byte, so Digest is the whole
// stream's.
func CheckArchive(r io.Reader, limit int64) (ArchiveInfo, error) {
	return copyArchive(nil, r, limit)
}

// countingReader counts what it reads.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// copyArchive checks the archive read from r (see CheckArchive) and, when
// tw is not nil, writes it there without the names it would give images:
// manifest.json's RepoTags, index.json's name annotations and the legacy
// repositories file. The caller closes tw once it returned nil.
func copyArchive(tw *tar.Writer, r io.Reader, limit int64) (ArchiveInfo, error) {
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(io.LimitReader(r, limit+1), h)}
	br := bufio.NewReader(cr)
	if magic, _ := br.Peek(3); bytes.HasPrefix(magic, []byte{0x1f, 0x8b}) || bytes.HasPrefix(magic, []byte("BZh")) {
		return ArchiveInfo{}, fmt.Errorf("%w: it is compressed; send docker save's tar as it is (docker save -o img.tar IMAGE)", ErrNotImage)
	}
	tr := tar.NewReader(br)
	tooLarge := func() error {
		return fmt.Errorf("%w: image archive over %d bytes", ErrTooLarge, limit)
	}
	names := map[string]bool{}
	var manifest, index []byte
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if cr.n > limit {
			return ArchiveInfo{}, tooLarge()
		}
		if err != nil {
			return ArchiveInfo{}, fmt.Errorf("%w: not a tar: %w", ErrNotImage, err)
		}
		if n >= maxArchiveEntries {
			return ArchiveInfo{}, fmt.Errorf("%w: over %d entries", ErrNotImage, maxArchiveEntries)
		}
		name, err := archiveEntry(hdr)
		if err != nil {
			return ArchiveInfo{}, err
		}
		if names[name] && hdr.Typeflag != tar.TypeDir {
			return ArchiveInfo{}, fmt.Errorf("%w: %.100q twice", ErrNotImage, name)
		}
		names[name] = true
		var body []byte // the entry's bytes, when it is metadata
		switch name {
		case "manifest.json", "index.json":
			if hdr.Typeflag != tar.TypeReg || hdr.Size > maxArchiveMeta {
				return ArchiveInfo{}, fmt.Errorf("%w: %s is not a file of at most %d bytes", ErrNotImage, name, maxArchiveMeta)
			}
			if body, err = io.ReadAll(io.LimitReader(tr, maxArchiveMeta)); err != nil {
				return ArchiveInfo{}, fmt.Errorf("%w: read %s: %w", ErrNotImage, name, err)
			}
			if name == "manifest.json" {
				manifest = body
			} else {
				index = body
			}
		}
		if tw != nil {
			if err := writeEntry(tw, hdr, name, body, tr); err != nil {
				return ArchiveInfo{}, err
			}
		}
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // what follows the tar counts in the digest
		return ArchiveInfo{}, fmt.Errorf("read image archive: %w", err)
	}
	if cr.n > limit {
		return ArchiveInfo{}, tooLarge()
	}
	info := ArchiveInfo{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: cr.n}
	if err := archiveImage(&info, manifest, index, names); err != nil {
		return ArchiveInfo{}, err
	}
	return info, nil
}

// archiveEntry checks one entry's name and type, and returns its name
// cleaned: a path inside the archive; a file, folder or link to a path
// inside it.
func archiveEntry(hdr *tar.Header) (string, error) {
	name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
	if !filepath.IsLocal(name) || strings.ContainsAny(hdr.Name, "\\\x00") {
		return "", fmt.Errorf("%w: entry %.100q leaves the archive", ErrNotImage, hdr.Name)
	}
	for k := range hdr.PAXRecords {
		// A sparse file reads as its logical size: a few bytes of archive
		// could expand to terabytes on the provider's disk.
		if strings.HasPrefix(k, "GNU.sparse.") {
			return "", fmt.Errorf("%w: entry %.100q is a sparse file", ErrNotImage, hdr.Name)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink:
		if path.IsAbs(hdr.Linkname) || !filepath.IsLocal(path.Join(path.Dir(name), hdr.Linkname)) {
			return "", fmt.Errorf("%w: link %.100q points out of the archive", ErrNotImage, hdr.Name)
		}
	case tar.TypeLink:
		if !filepath.IsLocal(path.Clean(hdr.Linkname)) {
			return "", fmt.Errorf("%w: link %.100q points out of the archive", ErrNotImage, hdr.Name)
		}
	default:
		return "", fmt.Errorf("%w: entry %.100q of type %q, not a file, folder or link", ErrNotImage, hdr.Name, hdr.Typeflag)
	}
	return name, nil
}

// writeEntry writes one entry to tw: metadata without its names, the
// legacy repositories file not at all (it names images too), anything
// else as it is.
func writeEntry(tw *tar.Writer, hdr *tar.Header, name string, body []byte, r io.Reader) error {
	switch name {
	case "repositories":
		return nil
	case "manifest.json", "index.json":
		clean, err := withoutNames(name, body)
		if err != nil {
			return err
		}
		h := *hdr
		h.Size = int64(len(clean))
		if err := tw.WriteHeader(&h); err != nil {
			return fmt.Errorf("write image archive: %w", err)
		}
		_, err = tw.Write(clean)
		return err
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write image archive: %w", err)
	}
	if hdr.Typeflag == tar.TypeReg {
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("write image archive: %w", err)
		}
	}
	return nil
}

// withoutNames returns manifest.json without RepoTags, or index.json
// without the annotations that name images; other fields are kept as
// they are.
func withoutNames(name string, body []byte) ([]byte, error) {
	if name == "manifest.json" {
		var entries []map[string]json.RawMessage
		if err := json.Unmarshal(body, &entries); err != nil {
			return nil, fmt.Errorf("%w: manifest.json: %w", ErrNotImage, err)
		}
		for _, e := range entries {
			delete(e, "RepoTags")
		}
		return json.Marshal(entries)
	}
	var idx map[string]json.RawMessage
	if err := json.Unmarshal(body, &idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %w", ErrNotImage, err)
	}
	var ms []map[string]json.RawMessage
	if raw, ok := idx["manifests"]; ok {
		if err := json.Unmarshal(raw, &ms); err != nil {
			return nil, fmt.Errorf("%w: index.json manifests: %w", ErrNotImage, err)
		}
	}
	for _, m := range ms {
		var ann map[string]string
		if raw, ok := m["annotations"]; ok && json.Unmarshal(raw, &ann) == nil {
			for _, k := range archiveNameAnnotations {
				delete(ann, k)
			}
			m["annotations"], _ = json.Marshal(ann)
		}
	}
	if ms != nil {
		idx["manifests"], _ = json.Marshal(ms)
	}
	return json.Marshal(idx)
}

// archiveImage checks that the metadata describe exactly one image whose
// files the archive holds, and records its config and names in info.
func archiveImage(info *ArchiveInfo, manifest, index []byte, names map[string]bool) error {
	if manifest == nil && index == nil {
		return fmt.Errorf("%w: neither manifest.json nor index.json (docker save writes them)", ErrNotImage)
	}
	if index != nil {
		var idx archiveIndex
		if err := json.Unmarshal(index, &idx); err != nil {
			return fmt.Errorf("%w: index.json: %w", ErrNotImage, err)
		}
		if manifest == nil && len(idx.Manifests) != 1 {
			return fmt.Errorf("%w: index.json lists %d images; a job runs one", ErrNotImage, len(idx.Manifests))
		}
	}
	if manifest == nil {
		return nil
	}
	var entries []archiveManifest
	if err := json.Unmarshal(manifest, &entries); err != nil {
		return fmt.Errorf("%w: manifest.json: %w", ErrNotImage, err)
	}
	if len(entries) != 1 {
		return fmt.Errorf("%w: manifest.json lists %d images; a job runs one", ErrNotImage, len(entries))
	}
	e := entries[0]
	for _, p := range append([]string{e.Config}, e.Layers...) {
		if p == "" || !filepath.IsLocal(p) || !names[path.Clean(p)] || path.Clean(p) == "repositories" { // repositories is dropped
			return fmt.Errorf("%w: manifest.json names %.100q, which the archive does not hold", ErrNotImage, p)
		}
	}
	if m := configPathPattern.FindStringSubmatch(path.Clean(e.Config)); m != nil {
		info.Config = "sha256:" + m[1] + m[2]
	}
	info.Tags = e.RepoTags
	return nil
}

// MaxArchiveBytes is the largest image archive this executor loads
// (DockerConfig.MaxImageBytes): the run server refuses a larger one before
// it receives a byte.
func (d *Docker) MaxArchiveBytes() int64 { return d.cfg.MaxImageBytes }

// jobImage is the image job runs, by ID: its archive's, loaded if needed,
// or its reference's (see image).
func (d *Docker) jobImage(ctx context.Context, job Job) (string, error) {
	s := job.Spec.Docker
	if s.Archive == "" {
		return d.image(ctx, s.Image)
	}
	// Ranks of one job, and jobs that send the same archive, share one load.
	id, err, _ := d.loads.Do(s.Archive, func() (any, error) {
		return d.archive(ctx, filepath.Join(job.Dir, ArchiveFile), s.Archive)
	})
	if err != nil {
		return "", err
	}
	return id.(string), nil
}

// withImage is s running the image id.
func withImage(s *DockerSpec, id string) *DockerSpec {
	c := *s
	c.Image, c.Archive = id, ""
	return &c
}

// validateImage checks the spec's image reference or archive digest.
func (s *DockerSpec) validateImage() error {
	switch {
	case s.Archive != "" && s.Image != "":
		return fmt.Errorf("%w: docker: both an image (%.100q) and an archive: give one", ErrBadSpec, s.Image)
	case s.Archive != "":
		if !archiveDigestPattern.MatchString(s.Archive) {
			return fmt.Errorf("%w: docker: archive digest %.80q is not sha256:<hex>", ErrBadSpec, s.Archive)
		}
	case s.Image == "" || len(s.Image) > 255 || strings.ContainsAny(s.Image, " \t\r\n\x00"):
		return fmt.Errorf("%w: docker: image %.255q is not an image reference", ErrBadSpec, s.Image)
	}
	return nil
}

// archive returns the ID of the image in the archive at file, whose
// digest is digest: the image tagged with that digest when an earlier job
// loaded it, else the archive checked, loaded without its names, checked
// against MaxImageBytes and tagged, and the cache of loaded archives
// trimmed to ArchiveCacheBytes. What it loaded for an archive it refuses,
// and was not here before, is removed again.
func (d *Docker) archive(ctx context.Context, file, digest string) (string, error) {
	tag := archiveTagRepo + ":" + strings.TrimPrefix(digest, "sha256:")
	if img, err := d.cli.ImageInspect(ctx, tag); err == nil {
		if img.Size > d.cfg.MaxImageBytes {
			return "", fmt.Errorf("%w: docker image of archive %s is %d bytes, at most %d", ErrTooLarge, digest, img.Size, d.cfg.MaxImageBytes)
		}
		d.touchArchive(ctx, img.ID, tag)
		return img.ID, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", dockerErr("inspect image "+tag, err)
	}
	f, err := openArchive(file, d.cfg.MaxImageBytes)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: image archive %s is neither loaded here nor in the job's folder (removed from the cache since the run began?)", ErrUnavailable, digest)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := CheckArchive(f, d.cfg.MaxImageBytes)
	if err != nil {
		return "", fmt.Errorf("image archive %s: %w", digest, err)
	}
	if info.Digest != digest {
		return "", fmt.Errorf("%w: image archive is %s, the job names %s", ErrDigestMismatch, info.Digest, digest)
	}
	existed := info.Config != "" && d.present(ctx, info.Config)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("%w: image archive: %w", ErrUnavailable, err)
	}
	id, err := d.load(ctx, f)
	if err != nil {
		return "", fmt.Errorf("image archive %s: %w", digest, err)
	}
	img, err := d.cli.ImageInspect(ctx, id)
	if err == nil && img.Size > d.cfg.MaxImageBytes {
		err = fmt.Errorf("%w: docker image of archive %s is %d bytes, at most %d", ErrTooLarge, digest, img.Size, d.cfg.MaxImageBytes)
	} else if err == nil {
		_, err = d.cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: tag})
		if err != nil {
			err = dockerErr("tag loaded image "+id, err)
		}
	} else {
		err = dockerErr("inspect loaded image "+id, err)
	}
	if err != nil {
		if !existed || id != info.Config {
			d.removeImage(ctx, id)
		}
		return "", err
	}
	slog.Debug("docker image archive loaded", "archive", digest, "image", id, "bytes", info.Size, "dropped_tags", info.Tags)
	d.trimArchives(ctx, tag)
	return id, nil
}

// openArchive opens the archive at file if it is a regular file, not a
// link, of at most limit bytes.
func openArchive(file string, limit int64) (*os.File, error) {
	st, err := os.Lstat(file)
	if err != nil {
		return nil, fmt.Errorf("%w: image archive: %w", ErrBadSpec, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: image archive %s is not a regular file", ErrBadSpec, file)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%w: image archive of %d bytes, at most %d", ErrTooLarge, st.Size(), limit)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: image archive: %w", ErrUnavailable, err)
	}
	if after, err := f.Stat(); err != nil || !os.SameFile(st, after) {
		f.Close()
		return nil, fmt.Errorf("%w: image archive %s changed while opened", ErrBadSpec, file)
	}
	return f, nil
}

// present reports whether the engine holds the image id.
func (d *Docker) present(ctx context.Context, id string) bool {
	_, err := d.cli.ImageInspect(ctx, id)
	return err == nil
}

// removeImage removes the image id, what a refused archive loaded.
func (d *Docker) removeImage(ctx context.Context, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dockerCleanupTimeout)
	defer cancel()
	_, _ = d.cli.ImageRemove(rctx, id, client.ImageRemoveOptions{PruneChildren: true})
}

// load streams the archive in f to the engine without its names and
// returns the ID of the one image the engine says it loaded.
func (d *Docker) load(ctx context.Context, f io.Reader) (string, error) {
	pr, pw := io.Pipe()
	wrote := make(chan struct{})
	go func() { // ends when the archive is written or the pipe is closed
		defer close(wrote)
		tw := tar.NewWriter(pw)
		_, err := copyArchive(tw, f, d.cfg.MaxImageBytes)
		if err == nil {
			err = tw.Close()
		}
		_ = pw.CloseWithError(err)
	}()
	defer func() {
		_ = pr.Close()
		<-wrote
	}()
	resp, err := d.cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		return "", dockerErr("load image archive", err)
	}
	defer resp.Close()
	ids, err := loadedIDs(io.LimitReader(resp, maxLoadMessages))
	if err != nil {
		return "", err
	}
	if len(ids) != 1 {
		for _, id := range ids {
			d.removeImage(ctx, id)
		}
		return "", fmt.Errorf("%w: the engine loaded %d images from it, want 1", ErrNotImage, len(ids))
	}
	return ids[0], nil
}

// loadedIDs reads the engine's messages about a load: the IDs of the
// images it loaded, or the error it reported (the archive's fault:
// ErrNotImage).
func loadedIDs(r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	var ids []string
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return ids, nil
		} else if err != nil {
			return nil, fmt.Errorf("%w: docker: read the engine's answer to a load: %w", ErrUnavailable, err)
		}
		if m.Error != nil {
			return nil, fmt.Errorf("%w: the engine refused it: %s", ErrNotImage, m.Error.Message)
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			if id, ok := strings.CutPrefix(strings.TrimSpace(line), "Loaded image ID: "); ok && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
}
