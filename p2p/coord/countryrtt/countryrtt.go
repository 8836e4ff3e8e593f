// Package countryrtt is real internet round-trip times between countries,
// for tests, simulations and benchmarks: RIPE Atlas pings aggregated per
// country pair (../shared/data/country_rtt_stat.csv.gz, from the public
// input-output-hk/ouroboros-leios repository), embedded so that a clean
// clone can place simulated nodes in countries without the shared folder.
package countryrtt

import (
	"bytes"
	"cmp"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"
)

//go:embed country_rtt_stat.csv.gz
var embedded []byte

// Stat is what was measured between two countries.
type Stat struct {
	// Count is the number of pings behind the figures.
	Count int
	// Mean, Std, Min and Max are the RTT statistics.
	Mean, Std, Min, Max time.Duration
}

// Table is the RTT between countries; symmetric. Unlike what the shared
// folder's README says, the file has same-country rows for 115 countries
// (probes inside one country, often one data center: AE-AE 4 ms).
type Table struct {
	countries []string
	stats     map[[2]string]Stat
}

var (
	once    sync.Once
	loaded  *Table
	errLoad error
)

// Load returns the embedded table (parsed once).
func Load() (*Table, error) {
	once.Do(func() { loaded, errLoad = Parse(bytes.NewReader(embedded)) })
	return loaded, errLoad
}

// Parse reads the gzip-compressed CSV (columns
// cty1,cty2,rtt_cnt,rtt_avg,rtt_std,rtt_min,rtt_max; milliseconds; upper
// triangle only).
func Parse(r io.Reader) (*Table, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("country RTT data: %w", err)
	}
	rows, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("country RTT data: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("country RTT data: no rows")
	}
	t := &Table{stats: map[[2]string]Stat{}}
	pairs := map[string]int{}
	ms := func(s string) (time.Duration, error) {
		if s == "" { // no spread when a single ping was taken
			return 0, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad milliseconds %q", s)
		}
		return time.Duration(v * float64(time.Millisecond)), nil
	}
	for i, r := range rows[1:] {
		if len(r) < 7 {
			return nil, fmt.Errorf("country RTT data: row %d has %d columns", i+2, len(r))
		}
		var st Stat
		var errs [5]error
		st.Count, errs[0] = strconv.Atoi(r[2])
		st.Mean, errs[1] = ms(r[3])
		st.Std, errs[2] = ms(r[4])
		st.Min, errs[3] = ms(r[5])
		st.Max, errs[4] = ms(r[6])
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("country RTT data: row %d: %w", i+2, err)
			}
		}
		t.stats[[2]string{r[0], r[1]}] = st
		t.stats[[2]string{r[1], r[0]}] = st
		if r[0] != r[1] {
			pairs[r[0]]++
			pairs[r[1]]++
		}
	}
	for c := range pairs {
		// The file also has rows for "None" (probes without a country)
		// and "EU" (probes placed only in the union): not places to put a
		// node. Between still answers for them.
		if isCountry(c) {
			t.countries = append(t.countries, c)
		}
	}
	// Best measured first: nodes placed among the first countries have a
	// measured RTT to most others.
	slices.SortFunc(t.countries, func(a, b string) int {
		return cmp.Or(pairs[b]-pairs[a], cmp.Compare(a, b))
	})
	return t, nil
}

func isCountry(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c != "EU"
}

// Countries lists the countries (ISO 3166 alpha-2), those measured against
// the most others first.
func (t *Table) Countries() []string { return slices.Clone(t.countries) }

// Between is the measurement between two countries; ok is false when the
// pair was not measured. Same-country figures exist for some countries but
// mix metro and nationwide paths; simulations usually pick a metro-area
// value (5-20 ms) for two nodes in one country.
func (t *Table) Between(a, b string) (Stat, bool) {
	s, ok := t.stats[[2]string{a, b}]
	return s, ok
}
