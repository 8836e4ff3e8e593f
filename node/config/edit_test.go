package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSetListKeepsTheFile: a price change lands in the template's
// commented-out line, the rest of the file (comments, other defaults,
// the profile) stays, and the file loads back with the new prices.
func TestSetListKeepsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	tmpl, err := Template("home")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetList(path, "offer", "prices", []string{"gpu=2.5", "A100-80GB=3"}); err != nil {
		t.Fatal(err)
	}
	if err := SetList(path, "offer", "hours", []string{"18:00-08:00"}); err != nil {
		t.Fatal(err)
	}
	// Twice: the set line is replaced, not duplicated.
	if err := SetList(path, "offer", "prices", []string{"gpu=2.75", "A100-80GB=3"}); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Offer.Prices, []string{"gpu=2.75", "A100-80GB=3"}) || !slices.Equal(c.Offer.Hours, []string{"18:00-08:00"}) {
		t.Fatalf("loaded prices %v hours %v", c.Offer.Prices, c.Offer.Hours)
	}
	after, _ := os.ReadFile(path)
	before, after2 := strings.Count(string(tmpl), "\n"), strings.Count(string(after), "\n")
	if before != after2 {
		t.Errorf("the file went from %d to %d lines: lines were added or lost", before, after2)
	}
	if !strings.Contains(string(after), "# asks per device-hour") || !strings.Contains(string(after), "# ttl = ") {
		t.Errorf("comments or commented-out defaults lost:\n%s", after)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestSetListRefusesWhatItCannotEdit: a multi-line array is not cut in
// half: the file is left alone and the error says to edit it by hand.
func TestSetListRefusesWhatItCannotEdit(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	orig := "profile = \"home\"\n[offer]\nprices = [\n  \"gpu=1\",\n]\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	err := SetList(path, "offer", "prices", []string{"gpu=2"})
	if err == nil || !strings.Contains(err.Error(), "by hand") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Fatalf("file changed to %q", b)
	}
	// A file without the table gets it.
	path2 := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path2, []byte("profile = \"test\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetList(path2, "offer", "prices", []string{"cpu=0.05"}); err != nil {
		t.Fatal(err)
	}
	if c, _, err := Load(path2, ""); err != nil || !slices.Equal(c.Offer.Prices, []string{"cpu=0.05"}) {
		t.Fatalf("loaded %v, %v", c.Offer.Prices, err)
	}
}
