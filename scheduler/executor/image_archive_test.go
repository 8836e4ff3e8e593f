package executor

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tarOf is a tar of regular files, in name order.
func tarOf(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var entries []tarEntry
	for n, body := range files {
		entries = append(entries, tarEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644}, body: body})
	}
	slices.SortFunc(entries, func(a, b tarEntry) int { return strings.Compare(a.hdr.Name, b.hdr.Name) })
	return tarEntries(tb, entries...)
}

// tarEntry is one entry of a test tar.
type tarEntry struct {
	hdr  tar.Header
	body string
}

// tarEntries is a tar of entries, as given.
func tarEntries(tb testing.TB, entries ...tarEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

const testConfigHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// minimalArchive is a docker save archive's shape: manifest.json naming
// a config and a layer it holds, tagged.
func minimalArchive(tb testing.TB, extra ...tarEntry) []byte {
	tb.Helper()
	manifest := `[{"Config":"blobs/sha256/` + testConfigHex + `","RepoTags":["ubuntu:22.04"],"Layers":["blobs/sha256/aa"]}]`
	reg := func(name, body string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, body: body}
	}
	entries := []tarEntry{
		{hdr: tar.Header{Name: "blobs/", Typeflag: tar.TypeDir, Mode: 0o755}},
		reg("blobs/sha256/"+testConfigHex, "{}"), reg("blobs/sha256/aa", "layer"),
		reg("index.json", `{"schemaVersion":2,"manifests":[{"digest":"sha256:`+testConfigHex+`","annotations":{"io.containerd.image.name":"docker.io/library/ubuntu:22.04","org.opencontainers.image.ref.name":"22.04","keep":"me"}}]}`),
		reg("manifest.json", manifest), reg("repositories", `{"ubuntu":{"22.04":"x"}}`),
	}
	return tarEntries(tb, append(entries, extra...)...)
}

func TestCheckArchive(t *testing.T) {
	info, err := CheckArchive(bytesReader(minimalArchive(t)), 1<<20)
	if err != nil {
		t.Fatalf("a docker save archive: %v", err)
	}
	if info.Config != "sha256:"+testConfigHex || !slices.Equal(info.Tags, []string{"ubuntu:22.04"}) || !strings.HasPrefix(info.Digest, "sha256:") {
		t.Errorf("got %+v", info)
	}
	reg := func(name, body string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, body: body}
	}
	link := func(name, target string, typ byte) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Linkname: target, Typeflag: typ, Mode: 0o777}}
	}
	cases := []struct {
		name string
		data []byte
		says string
	}{
		{"no metadata", tarOf(t, map[string]string{"a": "b"}), "neither manifest.json nor index.json"},
		{"not a tar", []byte(strings.Repeat("\x01", 1024)), "not a tar"},
		{"gzip", append([]byte{0x1f, 0x8b, 8}, make([]byte, 100)...), "compressed"},
		{"parent path", minimalArchive(t, reg("../escape", "x")), "leaves the archive"},
		{"absolute path", minimalArchive(t, reg("/etc/passwd", "x")), "leaves the archive"},
		{"symlink out", minimalArchive(t, link("blobs/evil", "../../etc/passwd", tar.TypeSymlink)), "points out"},
		{"absolute symlink", minimalArchive(t, link("evil", "/etc/passwd", tar.TypeSymlink)), "points out"},
		{"hard link out", minimalArchive(t, link("evil", "../x", tar.TypeLink)), "points out"},
		{"device", minimalArchive(t, tarEntry{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar, Mode: 0o644}}), "not a file, folder or link"},
		{"manifest twice", minimalArchive(t, reg("manifest.json", "[]")), "twice"},
		{"two images", tarOf(t, map[string]string{"c": "{}", "l": "x", "manifest.json": `[{"Config":"c","Layers":["l"]},{"Config":"c","Layers":["l"]}]`}), "2 images"},
		{"missing layer", tarOf(t, map[string]string{"c": "{}", "manifest.json": `[{"Config":"c","Layers":["gone"]}]`}), "does not hold"},
		{"manifest not JSON", tarOf(t, map[string]string{"manifest.json": "{"}), "manifest.json"},
		{"index of two", tarOf(t, map[string]string{"index.json": `{"manifests":[{"digest":"a"},{"digest":"b"}]}`}), "2 images"},
		{"huge manifest", tarOf(t, map[string]string{"manifest.json": strings.Repeat(" ", maxArchiveMeta+1)}), "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CheckArchive(bytesReader(c.data), 1<<30)
			if !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want ErrNotImage saying %q", err, c.says)
			}
		})
	}
	t.Run("over the limit", func(t *testing.T) {
		data := minimalArchive(t)
		if _, err := CheckArchive(bytesReader(data), int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
		if _, err := CheckArchive(bytesReader(data), int64(len(data))); err != nil {
			t.Fatalf("at the limit: %v", err)
		}
	})
}

// TestArchiveWithoutNames: what the provider loads names no image: no
// RepoTags, no naming annotations, no repositories file; the rest is kept.
func TestArchiveWithoutNames(t *testing.T) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	if _, err := copyArchive(tw, bytesReader(minimalArchive(t)), 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&out)
	seen := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		seen[hdr.Name] = string(b)
	}
	if _, ok := seen["repositories"]; ok {
		t.Error("the repositories file was kept")
	}
	var m []map[string]any
	if err := json.Unmarshal([]byte(seen["manifest.json"]), &m); err != nil || len(m) != 1 {
		t.Fatalf("manifest.json %q: %v", seen["manifest.json"], err)
	}
	if _, ok := m[0]["RepoTags"]; ok || m[0]["Config"] != "blobs/sha256/"+testConfigHex {
		t.Errorf("manifest.json %q, want its Config and no RepoTags", seen["manifest.json"])
	}
	idx := seen["index.json"]
	if strings.Contains(idx, "io.containerd.image.name") || strings.Contains(idx, "ref.name") || !strings.Contains(idx, `"keep":"me"`) {
		t.Errorf("index.json %q, want its naming annotations gone and the rest kept", idx)
	}
	if seen["blobs/sha256/aa"] != "layer" {
		t.Errorf("layer %q, want it as it was", seen["blobs/sha256/aa"])
	}
}

func TestPullable(t *testing.T) {
	dg := "sha256:" + strings.Repeat("a", 64)
	allowed := []string{"docker.io", "127.0.0.1:5000"}
	cases := []struct {
		ref  string
		want error
		name string // the reference pulled
	}{
		{"ubuntu@" + dg, nil, "docker.io/library/ubuntu@" + dg},
		{"ubuntu:22.04@" + dg, nil, "docker.io/library/ubuntu@" + dg},
		{"127.0.0.1:5000/team/img@" + dg, nil, "127.0.0.1:5000/team/img@" + dg},
		{"ubuntu:22.04", ErrDigestRequired, ""},
		{"ubuntu", ErrDigestRequired, ""},
		{"ghcr.io/x/y@" + dg, ErrRegistryRefused, ""},
		{"127.0.0.1:5001/team/img@" + dg, ErrRegistryRefused, ""},
		{"sha256:" + strings.Repeat("a", 64), ErrUnavailable, ""},
		{"Bad Ref!@" + dg, ErrBadSpec, ""},
		{"UPPER/case@" + dg, ErrRegistryRefused, ""},
	}
	for _, c := range cases {
		p, err := pullable(c.ref, allowed)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("pullable(%q): %v, want %v", c.ref, err, c.want)
			continue
		}
		if c.want == nil && p.named.String() != c.name {
			t.Errorf("pullable(%q) pulls %s, want %s", c.ref, p.named, c.name)
		}
	}
	if _, err := pullable("ubuntu@"+dg, nil); !errors.Is(err, ErrRegistryRefused) || !strings.Contains(err.Error(), "docker_registries is empty") {
		t.Errorf("no registries: %v", err)
	}
	for _, r := range []string{"docker.io", "127.0.0.1:5000", "registry.example.com"} {
		if err := ValidRegistry(r); err != nil {
			t.Errorf("ValidRegistry(%q): %v", r, err)
		}
	}
	for _, r := range []string{"", "https://docker.io", "docker.io/library", "a b", "ubuntu"} {
		if err := ValidRegistry(r); err == nil {
			t.Errorf("ValidRegistry(%q) accepted it", r)
		}
	}
}

// FuzzCheckArchive: an archive is a requester's bytes; reading one never
// panics, and one it accepts stays acceptable once its names are dropped.
func FuzzCheckArchive(f *testing.F) {
	f.Add(minimalArchive(f))
	f.Add(tarOf(f, map[string]string{"manifest.json": `[{"Config":"c","Layers":[]}]`, "c": "{}"}))
	f.Add(tarOf(f, map[string]string{"index.json": `{"manifests":[{"digest":"x","annotations":{"io.containerd.image.name":"a"}}]}`}))
	f.Add([]byte("not a tar"))
	f.Add(append(sparsePAX(f), minimalArchive(f)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := CheckArchive(bytesReader(data), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrNotImage nor ErrTooLarge", err)
			}
			return
		}
		if info.Size != int64(len(data)) {
			t.Fatalf("size %d of %d bytes", info.Size, len(data))
		}
		var out bytes.Buffer
		tw := tar.NewWriter(&out)
		if _, err := copyArchive(tw, bytesReader(data), 1<<20); err != nil {
			t.Fatalf("copy of an accepted archive: %v", err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckArchive(&out, 2<<20); err != nil {
			t.Fatalf("the copy without names is refused: %v", err)
		}
	})
}

// TestCheckArchiveSparse: a sparse entry, which reads as its logical
// size (here 1 TiB from a few blocks), is refused in both GNU forms.
func TestCheckArchiveSparse(t *testing.T) {
	pax := append(sparsePAX(t), minimalArchive(t)...)
	if _, err := CheckArchive(bytesReader(pax), 1<<20); !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("PAX sparse: %v, want ErrNotImage: sparse", err)
	}
	old := tarEntries(t, tarEntry{hdr: tar.Header{Name: "big", Typeflag: tar.TypeGNUSparse, Mode: 0o644, Format: tar.FormatGNU}})
	if _, err := CheckArchive(bytesReader(old), 1<<20); !errors.Is(err, ErrNotImage) {
		t.Errorf("old GNU sparse: %v, want ErrNotImage", err)
	}
}

// sparsePAX is one PAX GNU sparse 1.0 entry, "big", of 1 TiB logical size
// and one block of data, without the tar's end: archive/tar writes no
// sparse files, so its PAX header is written by hand.
func sparsePAX(t testing.TB) []byte {
	t.Helper()
	record := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		for n := len(s) + 1; ; n++ {
			if len(strconv.Itoa(n))+len(s) == n {
				return strconv.Itoa(n) + s
			}
		}
	}
	recs := record("GNU.sparse.major", "1") + record("GNU.sparse.minor", "0") + record("GNU.sparse.name", "big") +
		record("GNU.sparse.realsize", "1099511627776")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "PaxHeaders/big", Typeflag: tar.TypeReg, Size: int64(len(recs)), Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(tw, recs)
	sparseMap := "1\n0\n0\n" + strings.Repeat("\x00", 512-6) // one hole-less entry of length 0, a block
	if err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 512, Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(tw, sparseMap)
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	b[156] = tar.TypeXHeader // the first header becomes the PAX header of the second
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
