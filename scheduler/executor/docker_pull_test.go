package executor

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
)

// TestDockerPullSucceeds: an image that is not present is pulled from a
// registry (an in-memory one on 127.0.0.1, which the engine reaches over
// plain HTTP as it does every loopback registry) and then accepted. Before
// the fix the inspect after the pull assigned a shadowed err and the
// first inspect's "not found" was returned although the pull worked.
func TestDockerPullSucceeds(t *testing.T) {
	d := dockerEngine(t, DockerConfig{Pull: true})
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/gpumesh/pulled:" + strings.ToLower(dockerSafe(t.Name()))
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() {
		_, _ = d.cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true})
	})
	if err := d.image(ctx, ref); err != nil {
		t.Fatalf("image %s after a successful pull: %v", ref, err)
	}
	if _, err := d.cli.ImageInspect(ctx, ref); err != nil {
		t.Errorf("the pulled image is not present: %v", err)
	}
}
