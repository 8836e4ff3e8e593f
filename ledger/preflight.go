package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
)

// checkTables reads the footer of every Badger table file in dir and
// verifies its index checksum before Badger opens them. Badger v4.9.6
// crashes the process (a panic in one of its own goroutines, which no
// caller can recover) on a truncated or mangled table footer; this turns
// that into an error. The blocks themselves are checked by Badger on every
// read (ChecksumVerificationMode OnBlockRead).
//
// Only the tables the MANIFEST references are checked: a process killed
// while it wrote a table (a flush or a compaction) leaves a file the
// manifest never took in, often empty, which Badger deletes as it opens.
func checkTables(dir string) error {
	live, err := manifestTables(dir)
	if err != nil || live == nil {
		return nil // no manifest yet, or one Badger itself reports on
	}
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return err
	}
	for _, path := range tables {
		id, perr := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), ".sst"), 10, 64)
		if perr != nil || !live[id] {
			continue
		}
		if err := checkTable(path); err != nil {
			return corrupt(-1, err, "table file %s damaged", filepath.Base(path))
		}
	}
	return nil
}

// manifestTables are the IDs of the tables dir's MANIFEST references; nil
// when there is no manifest.
func manifestTables(dir string) (map[uint64]bool, error) {
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		return nil, err
	}
	live := make(map[uint64]bool, len(m.Tables))
	for id := range m.Tables {
		live[id] = true
	}
	return live, nil
}

func checkTable(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// Footer, from the end: checksum length (4), checksum (protobuf),
	// index length (4), index.
	pos := len(data) - 4
	if pos < 0 {
		return fmt.Errorf("%d bytes", len(data))
	}
	clen := int(binary.BigEndian.Uint32(data[pos:]))
	if clen > pos-4 {
		return fmt.Errorf("checksum length %d past the start", clen)
	}
	pos -= clen
	chk, err := parseChecksum(data[pos : pos+clen])
	if err != nil {
		return err
	}
	pos -= 4
	ilen := int(binary.BigEndian.Uint32(data[pos:]))
	if ilen > pos {
		return fmt.Errorf("index length %d past the start", ilen)
	}
	return y.VerifyChecksum(data[pos-ilen:pos], chk)
}

// parseChecksum decodes Badger's pb.Checksum (field 1 algo, field 2 sum,
// both varints) without a protobuf dependency.
func parseChecksum(b []byte) (*pb.Checksum, error) {
	var c pb.Checksum
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 || tag&7 != 0 {
			return nil, fmt.Errorf("bad checksum record")
		}
		b = b[n:]
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("bad checksum record")
		}
		b = b[n:]
		switch tag >> 3 {
		case 1:
			c.Algo = pb.Checksum_Algorithm(v)
		case 2:
			c.Sum = v
		}
	}
	return &c, nil
}
