package executor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// testRegistry is an in-memory registry on 127.0.0.1, which the engine
// reaches over plain HTTP as it does every loopback registry. handler,
// when set, answers before the registry does (a registry that lies).
type testRegistry struct {
	host    string
	handler func(w http.ResponseWriter, r *http.Request) bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr := &testRegistry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tr.handler != nil && tr.handler(w, r) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

// push pushes img as repo:tag and returns repo@digest.
func (tr *testRegistry) push(t *testing.T, repo, tag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(tr.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	dg, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tr.host + "/" + repo + "@" + dg.String()
}

// savedTestImage is the hello test image as a go-containerregistry image,
// read from the engine's docker save of it.
func savedTestImage(t *testing.T, d *Docker) v1.Image {
	t.Helper()
	data := dockerSave(t, d, dockerTestImage)
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, nil)
	if err != nil {
		t.Fatalf("read the saved test image: %v", err)
	}
	return img
}

// forget removes ref from the engine after the test.
func forget(t *testing.T, d *Docker, ref string) {
	t.Cleanup(func() {
		_, _ = d.cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true})
	})
}

// TestDockerPullSucceeds: an image that is not present is pulled by its
// pinned digest from an allowed registry and then accepted. Before the
// fix the inspect after the pull assigned a shadowed err and the first
// inspect's "not found" was returned although the pull worked.
func TestDockerPullSucceeds(t *testing.T) {
	reg := newTestRegistry(t)
	d := dockerEngine(t, DockerConfig{Registries: []string{reg.host}})
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.push(t, "gpumesh/pulled", strings.ToLower(dockerSafe(t.Name())), img)
	forget(t, d, ref)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := d.image(ctx, ref)
	if err != nil {
		t.Fatalf("image %s after a successful pull: %v", ref, err)
	}
	got, err := d.cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("the pulled image is not present: %v", err)
	}
	if got.ID != id {
		t.Errorf("image returned %s, the engine holds %s as %s", id, ref, got.ID)
	}
}

// TestDockerPullByDigestRuns: a job names the hello image by digest in a
// registry the provider allows; the provider pulls it and the container
// runs it.
func TestDockerPullByDigestRuns(t *testing.T) {
	reg := newTestRegistry(t)
	d := dockerEngine(t, DockerConfig{Registries: []string{reg.host}})
	ref := reg.push(t, "gpumesh/hello", "v1", savedTestImage(t, d))
	forget(t, d, ref)
	job := dockerJob(t)
	job.Spec.Docker.Image = ref
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusSucceeded || !strings.Contains(logs, "rank=") {
		t.Fatalf("got %s (%s), want the pulled image to run\n%s", res.Status, res.Reason, logs)
	}
}

// TestDockerPullRefused: what a provider does not pull is refused with
// its reason before anything reaches the engine's image store, and a pull
// that fails says why.
func TestDockerPullRefused(t *testing.T) {
	reg := newTestRegistry(t)
	probe := dockerEngine(t, DockerConfig{})
	ref := reg.push(t, "gpumesh/refused", "v1", savedTestImage(t, probe))
	other, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	otherRef := reg.push(t, "gpumesh/other", "v1", other)
	otherDigest := otherRef[strings.LastIndex(otherRef, "@")+1:]
	// The digest the lying registry is asked for is of an image the
	// engine never saw: it has to fetch and check the manifest.
	fresh, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	freshRef := reg.push(t, "gpumesh/fresh", "v1", fresh)
	freshDigest := freshRef[strings.LastIndex(freshRef, "@")+1:]
	cases := []struct {
		name       string
		registries []string
		image      string
		want       error
		says       string
	}{
		{"registry not allowed", []string{"registry.example:5000"}, ref, ErrRegistryRefused, "pulls only from registry.example:5000"},
		{"no registry allowed", nil, ref, ErrRegistryRefused, "pulls from no registry"},
		{"tag without digest", []string{reg.host}, reg.host + "/gpumesh/refused:v1", ErrDigestRequired, "pinned digest"},
		{"digest not in the registry", []string{reg.host}, reg.host + "/gpumesh/refused@sha256:" + strings.Repeat("ab", 32), ErrPull, "pull"},
		// The registry serves other content under the digest asked for:
		// the engine checks what it got against the digest.
		{"digest does not match", []string{reg.host}, reg.host + "/gpumesh/lying@" + freshDigest, ErrDigestMismatch, "other content"},
	}
	// The lying registry answers for gpumesh/lying with the other image's
	// manifest, whatever digest is asked.
	reg.handler = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v2/gpumesh/lying/manifests/") {
			return false
		}
		resp, err := http.Get("http://" + reg.host + "/v2/gpumesh/other/manifests/" + otherDigest)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set("Docker-Content-Digest", freshDigest) // the lie
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return true
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := dockerEngine(t, DockerConfig{Registries: c.registries})
			forget(t, d, c.image)
			job := dockerJob(t)
			job.Spec.Docker.Image = c.image
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			h, err := d.Start(ctx, job)
			if err == nil {
				_ = h.Cancel(ctx)
				t.Fatalf("%s started, want %v", c.image, c.want)
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
			t.Log(err)
			if _, err := d.cli.ImageInspect(ctx, c.image); err == nil {
				t.Errorf("%s is present after a refusal", c.image)
			}
		})
	}
}
