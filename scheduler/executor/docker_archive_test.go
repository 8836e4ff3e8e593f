package executor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// dockerSave is the engine's docker save output for ref.
func dockerSave(t *testing.T, d *Docker, ref string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := d.cli.ImageSave(ctx, []string{ref})
	if err != nil {
		t.Fatalf("save %s: %v", ref, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("save %s: %v", ref, err)
	}
	return data
}

// archiveVariant builds an image of its own from the hello test image (a
// label makes its ID new), saves it, and removes it from the engine
// again: its archive then holds an image the engine does not have, under
// the tag it was built with. It returns the archive, its digest, the tag
// and the image's ID.
func archiveVariant(t *testing.T, d *Docker) (data []byte, digest, tag, id string) {
	t.Helper()
	var r [8]byte
	_, _ = rand.Read(r[:])
	tag = "gpumesh-test-variant:" + hex.EncodeToString(r[:])
	dockerBuildFrom(t, d, tag, "FROM "+dockerTestImage+"\nLABEL gpumesh.test.variant="+hex.EncodeToString(r[:])+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img, err := d.cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	data = dockerSave(t, d, tag)
	if _, err := d.cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{}); err != nil {
		t.Fatalf("remove %s: %v", tag, err)
	}
	sum := sha256.Sum256(data)
	digest = "sha256:" + hex.EncodeToString(sum[:])
	t.Cleanup(func() {
		_, _ = d.cli.ImageRemove(context.Background(), archiveTagRepo+":"+hex.EncodeToString(sum[:]), client.ImageRemoveOptions{Force: true})
		_, _ = d.cli.ImageRemove(context.Background(), img.ID, client.ImageRemoveOptions{Force: true})
	})
	return data, digest, tag, img.ID
}

// archiveJob is a job of the test's that runs the archive data, which it
// names by digest.
func archiveJob(t *testing.T, data []byte, digest string) Job {
	t.Helper()
	job := dockerJob(t)
	job.Spec.Docker.Image, job.Spec.Docker.Archive = "", digest
	if err := os.WriteFile(filepath.Join(job.Dir, ArchiveFile), data, 0o444); err != nil {
		t.Fatal(err)
	}
	return job
}

// TestDockerArchiveRuns: a requester's image, sent as docker save output,
// is loaded and run by its ID; the names the archive gives it are not
// created on the provider's engine; the same archive sent again is found
// by its digest and not read at all.
func TestDockerArchiveRuns(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	data, digest, tag, id := archiveVariant(t, d)
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	if d.HoldsArchive(ctx0, digest) {
		t.Fatalf("holds archive %s before it was sent", digest)
	}
	res, logs := dockerRun(t, d, archiveJob(t, data, digest))
	if res.Status != StatusSucceeded || !strings.Contains(logs, "rank=") {
		t.Fatalf("got %s (%s), want the archive's image to run\n%s", res.Status, res.Reason, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := d.cli.ImageInspect(ctx, archiveTagRepo+":"+strings.TrimPrefix(digest, "sha256:"))
	if err != nil || got.ID != id {
		t.Fatalf("the loaded image under its digest: %v, %v; want %s", got.ID, err, id)
	}
	if _, err := d.cli.ImageInspect(ctx, tag); err == nil {
		t.Errorf("loading the archive created its tag %s on the provider's engine", tag)
	}
	if !d.HoldsArchive(ctx, digest) {
		t.Errorf("does not hold archive %s once loaded", digest)
	}
	// Again, with the archive's bytes gone: found by digest, not loaded.
	again := archiveJob(t, nil, digest)
	res, logs = dockerRun(t, d, again)
	if res.Status != StatusSucceeded {
		t.Fatalf("second run of archive %s: %s (%s)\n%s", digest, res.Status, res.Reason, logs)
	}
}

// TestDockerArchiveRefused: an archive over the limit, one that is not an
// image, and one that is not what the job's digest names are refused with
// their reason, and nothing stays loaded.
func TestDockerArchiveRefused(t *testing.T) {
	probe := dockerEngine(t, DockerConfig{})
	data, digest, _, id := archiveVariant(t, probe)
	notImage := tarOf(t, map[string]string{"hello.txt": "not an image"})
	sum := sha256.Sum256(notImage)
	notImageDigest := "sha256:" + hex.EncodeToString(sum[:])
	cases := []struct {
		name   string
		limit  int64
		data   []byte
		digest string
		want   error
		says   string
	}{
		{"over the limit", int64(len(data)) - 1, data, digest, ErrTooLarge, "at most"},
		{"not an image", 0, notImage, notImageDigest, ErrNotImage, "manifest.json"},
		{"not a tar", 0, []byte(strings.Repeat("x", 2048)), "sha256:" + strings.Repeat("0", 64), ErrNotImage, "tar"},
		{"digest does not match", 0, data, "sha256:" + strings.Repeat("1", 64), ErrDigestMismatch, "the job names"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := dockerEngine(t, DockerConfig{MaxImageBytes: c.limit})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			h, err := d.Start(ctx, archiveJob(t, c.data, c.digest))
			if err == nil {
				_ = h.Cancel(ctx)
				t.Fatal("started, want a refusal")
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
			t.Log(err)
			if _, err := d.cli.ImageInspect(ctx, id); err == nil {
				t.Errorf("image %s is loaded after a refusal", id)
			}
		})
	}
}

// dockerBuildFrom builds the Dockerfile df (no context) as tag.
func dockerBuildFrom(t *testing.T, d *Docker, tag, df string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := d.cli.ImageBuild(ctx, bytesReader(tarOf(t, map[string]string{"Dockerfile": df})), client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	defer resp.Body.Close()
	if _, err := loadedIDs(resp.Body); err != nil { // the same message stream as a load's
		t.Fatalf("build %s: %v", tag, err)
	}
}

// TestDockerArchiveCacheTrimmed: loaded archives are kept up to
// ArchiveCacheBytes; past it the least recently used goes, never the one
// just loaded.
func TestDockerArchiveCacheTrimmed(t *testing.T) {
	grace := archiveGrace
	archiveGrace = 0
	t.Cleanup(func() { archiveGrace = grace })
	d := dockerEngine(t, DockerConfig{ArchiveCacheBytes: 1})
	dataA, digestA, _, idA := archiveVariant(t, d)
	dataB, digestB, _, _ := archiveVariant(t, d)
	tagOf := func(digest string) string { return archiveTagRepo + ":" + strings.TrimPrefix(digest, "sha256:") }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, logs := dockerRun(t, d, archiveJob(t, dataA, digestA)); res.Status != StatusSucceeded {
		t.Fatalf("archive A: %s (%s)\n%s", res.Status, res.Reason, logs)
	}
	if _, err := d.cli.ImageInspect(ctx, tagOf(digestA)); err != nil {
		t.Fatalf("archive A, just loaded, was not kept: %v", err)
	}
	if res, logs := dockerRun(t, d, archiveJob(t, dataB, digestB)); res.Status != StatusSucceeded {
		t.Fatalf("archive B: %s (%s)\n%s", res.Status, res.Reason, logs)
	}
	if _, err := d.cli.ImageInspect(ctx, tagOf(digestB)); err != nil {
		t.Errorf("archive B, just loaded, was not kept: %v", err)
	}
	if _, err := d.cli.ImageInspect(ctx, tagOf(digestA)); err == nil {
		t.Errorf("archive A stayed cached past a cache of 1 byte")
	}
	if _, err := d.cli.ImageInspect(ctx, idA); err == nil {
		t.Errorf("archive A's image %s stayed on the engine", idA)
	}
}
