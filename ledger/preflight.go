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
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
)

// checkTables reads the footer of every Badger table file in dir, verifies
// its index checksum and opens the table in memory before Badger opens
// them. Badger v4.9.6 crashes the process (a panic in one of its own
// goroutines, which no caller can recover) on a truncated or mangled table
// footer, or on an index that checksums but does not parse (a file of
// zeros); this turns that into an error. The blocks themselves are checked
// by Badger on every read (ChecksumVerificationMode OnBlockRead).
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
		tm, ok := live[id]
		if perr != nil || !ok {
			continue
		}
		if err := checkTable(path, tm.Compression); err != nil {
			return corrupt(-1, err, "table file %s damaged", filepath.Base(path))
		}
	}
	return nil
}

// manifestTables are the tables dir's MANIFEST references, by ID; nil
// when there is no manifest.
func manifestTables(dir string) (map[uint64]badger.TableManifest, error) {
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
	return m.Tables, nil
}

// checkTable checks the table file at path, whose blocks are compressed with c.
func checkTable(path string, c options.CompressionType) error {
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
	if err := y.VerifyChecksum(data[pos-ilen:pos], chk); err != nil {
		return err
	}
	return openTable(data, c)
}

// openTable opens the table in memory as Badger will (its index, first
// and last block), turning Badger's panic on a table that does not parse
// into an error.
func openTable(data []byte, c options.CompressionType) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("index does not parse (Badger panics opening the table)")
		}
	}()
	_, err = table.OpenInMemoryTable(data, 0, &table.Options{BlockSize: 4 << 10, ChkMode: options.OnBlockRead, Compression: c})
	return err
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
	// Badger panics on any other algorithm (y.CalculateChecksum).
	if c.Algo != pb.Checksum_CRC32C && c.Algo != pb.Checksum_XXHash64 {
		return nil, fmt.Errorf("checksum algorithm %d unknown", c.Algo)
	}
	return &c, nil
}
