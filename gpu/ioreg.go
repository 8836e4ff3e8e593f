package gpu

// Apple silicon's live GPU figures without root: the AGX accelerator's
// IORegistry entry carries "PerformanceStatistics", which
// `ioreg -r -d 1 -w 0 -c IOAccelerator` prints for any user. Running the
// tool is apple_darwin.go's; reading its output is here, pure and built on
// every OS so that it is tested and fuzzed everywhere.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxIORegOutput bounds what parseIOReg reads: an accelerator's entry,
// with its IOReportLegend, is tens of KiB.
const maxIORegOutput = 4 << 20

// ErrNoGPUStats: ioreg listed no accelerator with a "Device Utilization %".
var ErrNoGPUStats = errors.New("no IOAccelerator with PerformanceStatistics")

// agxStats is what one accelerator's PerformanceStatistics say.
type agxStats struct {
	// class is the accelerator's IOKit class, such as "AGXAcceleratorG14X".
	class string
	// utilization is "Device Utilization %", 0 to 100.
	utilization float64
	// memUsed is "In use system memory" in bytes (the GPU's share of the
	// unified memory); memOK says it was there.
	memUsed uint64
	memOK   bool
}

// parseIOReg reads `ioreg -r -d 1 -w 0 -c IOAccelerator` and returns the
// statistics of the first accelerator that reports its utilisation. An
// out-of-range utilisation is refused; a malformed memory figure is left
// out.
func parseIOReg(data []byte) (agxStats, error) {
	if len(data) > maxIORegOutput {
		return agxStats{}, fmt.Errorf("parse ioreg: output of %d bytes is over %d", len(data), maxIORegOutput)
	}
	class := ""
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "+-o "); ok {
			class = ioregClass(rest)
			continue
		}
		body, ok := strings.CutPrefix(line, `"PerformanceStatistics" = `)
		if !ok {
			continue
		}
		stats, err := parsePerformanceStatistics(body)
		if errors.Is(err, ErrNoGPUStats) {
			continue
		}
		if err != nil {
			return agxStats{}, fmt.Errorf("parse ioreg: %s: %w", class, err)
		}
		stats.class = class
		return stats, nil
	}
	return agxStats{}, fmt.Errorf("parse ioreg: %w", ErrNoGPUStats)
}

// ioregClass is the class in an object line's "Name  <class X, id ...>",
// else the name.
func ioregClass(s string) string {
	name, rest, _ := strings.Cut(s, " ")
	if _, after, ok := strings.Cut(rest, "<class "); ok {
		if c, _, ok := strings.Cut(after, ","); ok {
			return strings.TrimSpace(c)
		}
	}
	return name
}

// parsePerformanceStatistics reads one {"key"=value,...} dictionary.
func parsePerformanceStatistics(body string) (agxStats, error) {
	pairs, err := ioregDict(body)
	if err != nil {
		return agxStats{}, err
	}
	var s agxStats
	util, ok := pairs["Device Utilization %"]
	if !ok {
		return agxStats{}, ErrNoGPUStats
	}
	u, err := strconv.ParseUint(util, 10, 64)
	if err != nil || u > 100 {
		return agxStats{}, fmt.Errorf("device utilization %q is not a percentage", util)
	}
	s.utilization = float64(u)
	if m, ok := pairs["In use system memory"]; ok {
		if n, err := strconv.ParseUint(m, 10, 64); err == nil {
			s.memUsed, s.memOK = n, true
		}
	}
	return s, nil
}

// ioregDict splits a {"key"=value,...} dictionary into its keys and the
// text of their values, keeping nested dictionaries, arrays, data and
// strings whole.
func ioregDict(body string) (map[string]string, error) {
	body = strings.TrimSpace(body)
	inner, ok := strings.CutPrefix(body, "{")
	if !ok {
		return nil, errors.New("performance statistics are not a dictionary")
	}
	inner, ok = strings.CutSuffix(inner, "}")
	if !ok {
		return nil, errors.New("performance statistics dictionary is not closed")
	}
	pairs := map[string]string{}
	for _, item := range splitTopLevel(inner) {
		key, value, ok := strings.Cut(item, "=")
		key = strings.TrimSpace(key)
		if !ok || len(key) < 2 || key[0] != '"' || key[len(key)-1] != '"' {
			continue // not a "key"=value pair: skip it
		}
		pairs[key[1:len(key)-1]] = strings.TrimSpace(value)
	}
	return pairs, nil
}

// splitTopLevel splits s at the commas outside quotes and brackets.
func splitTopLevel(s string) []string {
	var out []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '{' || c == '(' || c == '<':
			depth++
		case c == '}' || c == ')' || c == '>':
			depth = max(depth-1, 0)
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
