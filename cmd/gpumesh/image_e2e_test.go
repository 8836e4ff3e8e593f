package main_test

import (
	"archive/tar"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireDockerCLI skips the test, saying what is missing, unless the
// docker command reaches an engine; with GPUMESH_REQUIRE_DOCKER=1 (set by
// scripts/test.sh once it has one) it fails instead.
func requireDockerCLI(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err == nil {
		return
	}
	msg := "docker: no engine answers the docker command (" + strings.TrimSpace(string(out)) + "): install docker.io and run dockerd --storage-driver=vfs, as scripts/test.sh does as root"
	if os.Getenv("GPUMESH_REQUIRE_DOCKER") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// researcherArchive builds what a researcher would: a static program in a
// FROM scratch image of their own (a fresh label makes it new to the
// engine), saved with docker save and removed from the engine again, so
// the provider has to load it. It returns the archive's path and digest.
func researcherArchive(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "hello"), "../../scheduler/executor/testdata/docker/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the job's program: %v\n%s", err, out)
	}
	var r [8]byte
	_, _ = rand.Read(r[:])
	label := hex.EncodeToString(r[:])
	df := "FROM scratch\nCOPY hello /hello\nLABEL org.example.run=" + label + "\nENTRYPOINT [\"/hello\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "researcher/job:" + label
	archive := filepath.Join(t.TempDir(), "img.tar")
	for _, args := range [][]string{{"build", "-q", "-t", tag, dir}, {"save", "-o", archive, tag}, {"rmi", tag}} {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "gpumesh-archive:"+hex.EncodeToString(sum[:])).Run() })
	return archive, "sha256:" + hex.EncodeToString(sum[:])
}

// dockerMarket starts a requester that offers nothing and one provider
// that runs docker jobs and the printenv command (MY_* variables
// allowed), and waits until the requester has heard it.
func dockerMarket(t *testing.T) string {
	t.Helper()
	reqDir, provDir := t.TempDir(), t.TempDir()
	for dir, cfg := range map[string]string{
		reqDir:  "profile = \"test\"\n[offer]\nenabled = false\n",
		provDir: "profile = \"test\"\n[offer]\nexecutors = [\"wasm\", \"docker\", \"process\"]\n[executor]\ndocker = true\ncommands = [\"printenv=/usr/bin/env\"]\ncommand_env = [\"MY_*\"]\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	startNode(t, nil, "run", "--data-dir", reqDir)
	out, _, _ := gpumesh(t, "id", "--data-dir", reqDir)
	p := startNode(t, nil, "run", "--data-dir", provDir, "--bootstrap", strings.Fields(out)[1])
	waitFor(t, "the requester hearing the docker provider", func() bool { return contains(heardPeers(t, reqDir), p.peer) })
	return reqDir
}

// TestSubmitImageArchiveAndEnv: a researcher's locally built image, sent
// as `gpumesh submit --image ./img.tar`, runs on a provider that never had
// it; --env reaches the work; an archive that is not an image and env
// names gpumesh sets are refused at submit, with exit 2 and the reason.
func TestSubmitImageArchiveAndEnv(t *testing.T) {
	requireDockerCLI(t)
	archive, digest := researcherArchive(t)
	reqDir := dockerMarket(t)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("hello image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gpumesh(t, "submit", "--image", archive, "--input", in, "--data-dir", reqDir, "--", "--lr", "0.1")
	t.Logf("gpumesh submit --image %s:\n%s%s", archive, out, errOut)
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit --image ARCHIVE = exit %d, want 0 and succeeded", code)
	}
	for _, want := range []string{"docker " + digest, `[0] rank=0 args=["--lr" "0.1"]`, "out.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("submit output lacks %q", want)
		}
	}

	out, errOut, code = gpumesh(t, "submit", "--command", "printenv", "--env", "MY_SETTING=42", "--data-dir", reqDir)
	if code != 0 || !strings.Contains(out, "[0] MY_SETTING=42") {
		t.Errorf("submit --env MY_SETTING=42 = exit %d, want the work to print it:\n%s%s", code, out, errOut)
	}

	notImage := filepath.Join(t.TempDir(), "not-an-image.tar")
	f, err := os.Create(notImage)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	_ = tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("hi"))
	_ = tw.Close()
	_ = f.Close()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--image", notImage}, "not an image archive"},
		{[]string{"--image", archive, "--env", "LD_PRELOAD=/tmp/x.so"}, "LD_PRELOAD is never allowed"},
		{[]string{"--image", archive, "--env", "GPUMESH_RANK=5"}, "GPUMESH_RANK is reserved"},
	} {
		_, errOut, code := gpumesh(t, append(append([]string{"submit"}, c.args...), "--data-dir", reqDir)...)
		if code != 2 || !strings.Contains(errOut, c.says) {
			t.Errorf("submit %v = exit %d, %q; want 2 saying %q", c.args, code, errOut, c.says)
		}
	}
}
