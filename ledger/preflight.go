package ledger

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
)

// checkTables reads the footer of every Badger table file in dir and
// verifies its index checksum before Badger opens them. Badger v4.9.6
// crashes the process (a panic in one of its own goroutines, which no
// caller can recover) on a truncated or mangled table footer; this turns
// that into an error. The blocks themselves are checked by Badger on every
// read (ChecksumVerificationMode OnBlockRead).
func checkTables(dir string) error {
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return err
	}
	for _, path := range tables {
		if err := checkTable(path); err != nil {
			return corrupt(-1, err, "table file %s damaged", filepath.Base(path))
		}
	}
	return nil
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
