package merkle

import "fmt"

// MemStore is a HashStore held in memory, for tests, benchmarks and small
// trees built on the fly (an epoch's receipts). Its zero value is an empty tree.
type MemStore struct {
	hashes []Hash
	n      int64
}

// Append adds data as the next leaf and returns its index.
func (m *MemStore) Append(data []byte) (int64, error) {
	hs, err := StoredHashes(m.n, data, m)
	if err != nil {
		return 0, err
	}
	m.hashes = append(m.hashes, hs...)
	m.n++
	return m.n - 1, nil
}

// Size is the number of leaves appended.
func (m *MemStore) Size() int64 { return m.n }

// ReadHashes implements HashStore.
func (m *MemStore) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("merkle: stored hash %d not in memory store of %d: %w", x, len(m.hashes), ErrRange)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}
