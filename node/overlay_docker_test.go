package node_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// netTestImage is the image TestContainerJobNetwork builds FROM scratch
// from scheduler/executor's test program.
const netTestImage = "gpumesh-nettest:latest"

// TestContainerJobNetwork submits a 2-worker container job through the
// market to two providers on a real libp2p network: each rank's
// container sees the job network's interface and environment, rank 0's
// datagram reaches rank 1 and the echo comes back over the overlay, and
// rank 0 cannot reach a listener on the host.
func TestContainerJobNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: three nodes and two containers")
	}
	if err := overlay.Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	buildNetTestImage(t)
	f := nodetest.Start(t, 3, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyOff
			if i > 0 {
				c.Offer.Executors = []string{"wasm", "docker"}
				c.Executor.Docker = true
			}
		},
	})
	f.WaitHeard(t, 30*time.Second)
	for _, p := range f.Nodes[1:] {
		nodetest.WaitFor(t, 30*time.Second, p.Offering, func() string { return "a provider did not publish its record" })
	}
	host := netip.MustParseAddr("127.0.0.1") // the container's own loopback: refused
	if lan := lanAddr(); lan.IsValid() {
		host = lan // a listener the host itself reaches on its LAN address
	}
	ln, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	target := ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := f.Nodes[0].Market()
	v, err := m.Submit(ctx, market.Spec{Workers: 2, Pool: "cpu", Executor: "docker", Image: netTestImage,
		Args: []string{"overlay", target}, Failover: market.FailoverNone})
	if err != nil {
		t.Fatal(err)
	}
	v, err = m.Wait(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := m.Logs(v.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	said := map[int]string{}
	for _, l := range page.Lines {
		said[l.Rank] += l.Text + "\n"
		all.WriteString(l.Text + "\n")
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("job %s: %s\n%s", v.State, v.Error, all.String())
	}
	for rk := range 2 {
		if !strings.Contains(said[rk], "iface gpumesh0 [10.") || !strings.Contains(said[rk], ":29500 rank=") {
			t.Errorf("rank %d said:\n%s\nwant gpumesh0 with a job address, and MASTER_PORT 29500", rk, said[rk])
		}
	}
	if !strings.Contains(said[0], "got ping from 10.") || !strings.Contains(said[1], "echoed to 10.") {
		t.Errorf("no echo over the job network:\n%s", all.String())
	}
	if !strings.Contains(said[0], "host=failed") {
		t.Errorf("rank 0 reached %s:\n%s", target, said[0])
	}
	t.Logf("\n%s", all.String())
}

// buildNetTestImage builds scheduler/executor's test program static and
// an image of it FROM scratch, netTestImage, or skips saying what is
// missing.
func buildNetTestImage(t *testing.T) {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Skipf("skipped: docker client: %v", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		msg := "skipped: no Docker engine answers: " + err.Error()
		if os.Getenv("GPUMESH_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("skipped: no go command to build the test program: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "hello")
	cmd := exec.Command(goCmd, "build", "-trimpath", "-o", bin, "../scheduler/executor/testdata/docker/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the test program: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"Dockerfile", []byte("FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n")}, {"hello", prog}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{netTestImage}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("build %s: %v", netTestImage, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatalf("build %s: %v", netTestImage, err)
		}
		if m.Error != nil {
			t.Fatalf("build %s: %s", netTestImage, m.Error.Message)
		}
	}
}
