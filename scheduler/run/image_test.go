package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// archiveExec is a docker executor's stand-in that takes image archives
// up to limit (ArchiveTaker, when limit > 0) and records what each job's
// folder held; its Start then refuses, which ends the rank.
type archiveExec struct {
	limit int64
	mu    sync.Mutex
	seen  []archiveSeen
}

// archiveSeen is what one Start found.
type archiveSeen struct {
	spec    executor.DockerSpec
	archive []byte   // the folder's executor.ArchiveFile
	inputs  []string // the names under inputs/
}

// errRecorded ends a rank of archiveExec.
var errRecorded = errors.New("recorded")

func (e *archiveExec) Name() string { return "docker" }

func (e *archiveExec) Start(ctx context.Context, job executor.Job) (executor.Handle, error) {
	data, _ := os.ReadFile(filepath.Join(job.Dir, executor.ArchiveFile))
	ents, _ := os.ReadDir(filepath.Join(job.Dir, "inputs"))
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	e.mu.Lock()
	e.seen = append(e.seen, archiveSeen{spec: *job.Spec.Docker, archive: data, inputs: names})
	e.mu.Unlock()
	return nil, errRecorded
}

// takerExec is archiveExec as an ArchiveTaker.
type takerExec struct{ *archiveExec }

func (e takerExec) MaxArchiveBytes() int64 { return e.limit }

// archiveProvider serves the run protocol with ex as its docker executor.
func archiveProvider(t *testing.T, ex executor.Executor) (node, *fakeAuth) {
	t.Helper()
	n := newNode(t)
	auth := newFakeAuth()
	srv := NewServer(n, map[string]executor.Executor{"docker": ex}, auth, ServerConfig{Dir: t.TempDir(), Heartbeat: time.Second}, nil)
	srv.Start(context.Background())
	t.Cleanup(func() { srv.Close() })
	return n, auth
}

// archiveRequest is a one-rank docker request on p whose archive the
// client names (Archive left empty: Run fills it in).
func archiveRequest(t *testing.T, p peer.ID) *RunRequest {
	return &RunRequest{Job: jobID(t), Ranks: []int{0}, WorldSize: 1, Peers: []string{p.String()},
		Spec: executor.Spec{Version: executor.SpecVersion, Executor: "docker", Docker: &executor.DockerSpec{}}}
}

// TestRunImageArchive: an image archive travels like an input, checked by
// digest, and lands beside the rank's inputs, not among them, named by
// the spec's Archive.
func TestRunImageArchive(t *testing.T) {
	ex := &archiveExec{limit: 1 << 20}
	prov, _ := archiveProvider(t, takerExec{ex})
	req := newNode(t)
	connect(req, prov)
	archive := strings.Repeat("an image archive ", 1000)
	files := map[string]string{ImageFile: writeFile(t, "img.tar", archive), "inputs/in.txt": writeFile(t, "in.txt", "x")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Run(ctx, req, req.key, prov.ID(), archiveRequest(t, prov.ID()), files, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Results[0]; r.Status != executor.StatusFailed || !strings.Contains(r.Reason, "recorded") {
		t.Fatalf("result %+v, want the stand-in's refusal", r)
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if len(ex.seen) != 1 {
		t.Fatalf("%d starts, want 1", len(ex.seen))
	}
	s := ex.seen[0]
	if string(s.archive) != archive || s.spec.Archive != sha([]byte(archive)) || s.spec.Image != "" {
		t.Errorf("the executor found an archive of %d bytes named %q (image %q), want the requester's %d bytes named %s",
			len(s.archive), s.spec.Archive, s.spec.Image, len(archive), sha([]byte(archive)))
	}
	if strings.Join(s.inputs, ",") != "in.txt" {
		t.Errorf("inputs/ holds %v, want in.txt only", s.inputs)
	}
}

// TestRunImageArchiveRefused: an archive over the executor's limit, or for
// an executor that takes none, is refused before a byte of it is sent.
func TestRunImageArchiveRefused(t *testing.T) {
	archive := strings.Repeat("x", 4096)
	for _, c := range []struct {
		name string
		ex   executor.Executor
		says string
	}{
		{"over the limit", takerExec{&archiveExec{limit: 4095}}, "image archive: size 4096 over the limit of 4095"},
		{"no archives taken", &archiveExec{}, "takes no image archives"},
	} {
		t.Run(c.name, func(t *testing.T) {
			prov, auth := archiveProvider(t, c.ex)
			req := newNode(t)
			connect(req, prov)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := Run(ctx, req, req.key, prov.ID(), archiveRequest(t, prov.ID()), map[string]string{ImageFile: writeFile(t, "img.tar", archive)}, t.TempDir(), nil)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want ErrRefused saying %q", err, c.says)
			}
			if begins, _ := auth.calls(); len(begins) != 0 {
				t.Errorf("the authorizer was asked %v for a refused request", begins)
			}
		})
	}
}

// TestRunRequestImageFile: the image file is there exactly when a docker
// spec names an archive, and is that archive; a provider's file limit
// does not apply to it, nor the total of the inputs.
func TestRunRequestImageFile(t *testing.T) {
	p := newNode(t)
	digest := sha([]byte("img"))
	base := func() *RunRequest {
		r := archiveRequest(t, p.ID())
		r.Seq, r.Sent = 1, time.Now()
		r.Spec.Docker.Archive = digest
		r.Files = []File{{Name: ImageFile, Digest: digest, Size: 3}}
		return r
	}
	if err := base().Validate(time.Now(), time.Minute); err != nil {
		t.Fatalf("a request with its archive: %v", err)
	}
	cases := []struct {
		name string
		edit func(r *RunRequest)
		says string
	}{
		{"no file", func(r *RunRequest) { r.Files = nil }, "no \"image\" file"},
		{"no archive", func(r *RunRequest) { r.Spec.Docker.Archive, r.Spec.Docker.Image = "", "busybox" }, "without an image archive"},
		{"other digest", func(r *RunRequest) { r.Spec.Docker.Archive = sha([]byte("other")) }, "is not the image file's"},
		{"image and archive", func(r *RunRequest) { r.Spec.Docker.Image = "busybox" }, "give one"},
		{"wasm with an image", func(r *RunRequest) {
			r.Spec = executor.Spec{Version: executor.SpecVersion, Executor: "wasm", Wasm: &executor.WasmSpec{Digest: digest}}
			r.Files = append(r.Files, File{Name: ModuleFile, Digest: digest, Size: 3})
		}, "without an image archive"},
	}
	for _, c := range cases {
		r := base()
		c.edit(r)
		if err := r.Validate(time.Now(), time.Minute); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %q", c.name, err, c.says)
		}
	}
	r := base()
	r.Files[0].Size = 1 << 30
	s := &Server{cfg: ServerConfig{MaxFileBytes: 10}.withDefaults(), execs: map[string]executor.Executor{"docker": takerExec{&archiveExec{limit: 2 << 30}}}}
	if err := s.checkFileSize(r, r.Files[0]); err != nil || r.inputsSize() != 0 {
		t.Errorf("an archive within the executor's limit: %v, inputs of %d bytes", err, r.inputsSize())
	}
}

// TestCheckEnv: names gpumesh sets, loader and GPU variables are refused
// with their reason; ordinary names pass.
func TestCheckEnv(t *testing.T) {
	if err := CheckEnv(map[string]string{"OMP_NUM_THREADS": "4", "MY_FLAG": "a b=c"}); err != nil {
		t.Fatal(err)
	}
	for name, says := range map[string]string{"GPUMESH_RANK": "reserved", "LD_PRELOAD": "never allowed", "NVIDIA_VISIBLE_DEVICES": "never allowed",
		"1BAD": "not a name", "A-B": "not a name", "PATH": "never allowed"} {
		if err := CheckEnv(map[string]string{name: "x"}); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("CheckEnv(%s): %v, want %q", name, err, says)
		}
	}
	if err := CheckEnv(map[string]string{"V": "a\x00b"}); err == nil {
		t.Error("a NUL in a value passed")
	}
}

// holdingExec is archiveExec that already holds every archive.
type holdingExec struct{ takerExec }

func (holdingExec) HoldsArchive(ctx context.Context, digest string) bool { return true }

// TestRunImageArchiveCached: a provider whose executor holds the archive
// says so in its Ack, and the requester leaves it out: the executor gets
// the job with its Archive named and no file; the other inputs still come.
func TestRunImageArchiveCached(t *testing.T) {
	ex := &archiveExec{limit: 1 << 20}
	prov, _ := archiveProvider(t, holdingExec{takerExec{ex}})
	req := newNode(t)
	connect(req, prov)
	archive := strings.Repeat("held ", 100)
	files := map[string]string{ImageFile: writeFile(t, "img.tar", archive), "inputs/in.txt": writeFile(t, "in.txt", "x")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Run(ctx, req, req.key, prov.ID(), archiveRequest(t, prov.ID()), files, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if len(ex.seen) != 1 {
		t.Fatalf("%d starts, want 1", len(ex.seen))
	}
	if s := ex.seen[0]; s.archive != nil || s.spec.Archive != sha([]byte(archive)) || strings.Join(s.inputs, ",") != "in.txt" {
		t.Errorf("the executor found an archive of %d bytes, named %q, inputs %v; want none sent, %s named, in.txt",
			len(s.archive), s.spec.Archive, s.inputs, sha([]byte(archive)))
	}
}

// TestCachedFilesOnlyWhenAsked: a requester that did not say it leaves
// cached files out (an older one) gets no Cached list and sends them all;
// an Ack's list is checked like file names.
func TestCachedFilesOnlyWhenAsked(t *testing.T) {
	s := &Server{execs: map[string]executor.Executor{"docker": holdingExec{takerExec{&archiveExec{limit: 1 << 20}}}}}
	r := archiveRequest(t, newNode(t).ID())
	r.Spec.Docker.Archive = sha([]byte("img"))
	r.Files = []File{{Name: ImageFile, Digest: r.Spec.Docker.Archive, Size: 3}}
	if cached, recv := s.cachedFiles(context.Background(), r); cached != nil || recv != r {
		t.Errorf("without SkipCached: cached %v, want none and the request as it is", cached)
	}
	r.SkipCached = true
	cached, recv := s.cachedFiles(context.Background(), r)
	if len(cached) != 1 || cached[0] != ImageFile || len(recv.Files) != 0 || len(r.Files) != 1 {
		t.Errorf("with SkipCached: cached %v, received files %v (request's %v); want the image left out of a copy", cached, recv.Files, r.Files)
	}
	if _, err := decodeAck([]byte(`{"ok":true,"heartbeat_ns":1000000000,"cached":["../../etc/passwd"]}`)); err == nil {
		t.Error("an Ack caching a path out of the job was accepted")
	}
}
