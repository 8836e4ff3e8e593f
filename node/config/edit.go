package config

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/gpumesh/gpumesh/node/datadir"
)

// SetList sets table.key to values in the config file at path, keeping the
// rest of the file as it is (comments, commented-out defaults, the user's
// layout): the line that sets the key, or the commented-out line the
// template wrote for it, is replaced; a key with neither is added under its
// table. The result must parse back to values, or nothing is written. The
// file is replaced atomically, readable only by its owner.
func SetList(path, table, key string, values []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	out, err := setList(data, table, key, values)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := datadir.WriteFile(path, out, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// setList is SetList on the file's bytes.
func setList(data []byte, table, key string, values []string) ([]byte, error) {
	if values == nil {
		values = []string{}
	}
	enc, err := toml.Marshal(map[string][]string{key: values})
	if err != nil {
		return nil, err
	}
	assign := strings.TrimSpace(string(enc))
	header := regexp.MustCompile(`^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$`)
	keyLine := regexp.MustCompile(`^(\s*)#?\s*` + regexp.QuoteMeta(key) + `\s*=`)
	lines := strings.Split(string(data), "\n")
	in, start, at := false, -1, -1
	for i, l := range lines {
		if m := header.FindStringSubmatch(l); m != nil {
			in = m[1] == table
			if in {
				start = i
			}
			continue
		}
		if in && keyLine.MatchString(l) {
			// A set key wins over a commented-out one.
			if at < 0 || !strings.HasPrefix(strings.TrimSpace(l), "#") {
				at = i
			}
		}
	}
	switch {
	case at >= 0:
		indent := keyLine.FindStringSubmatch(lines[at])[1]
		lines[at] = indent + assign
	case start >= 0:
		lines = slices.Insert(lines, start+1, "  "+assign)
	default:
		lines = append(lines, "", "["+table+"]", "  "+assign)
	}
	out := []byte(strings.Join(lines, "\n"))
	// The edit must mean what was asked, and nothing else may break.
	var check map[string]any
	if err := toml.NewDecoder(bytes.NewReader(out)).Decode(&check); err != nil {
		return nil, fmt.Errorf("cannot set %s.%s in this file's layout (%v); edit it by hand", table, key, err)
	}
	t, _ := check[table].(map[string]any)
	got, ok := t[key].([]any)
	if !ok || len(got) != len(values) {
		return nil, fmt.Errorf("cannot set %s.%s in this file's layout; edit it by hand", table, key)
	}
	for i, v := range got {
		if s, _ := v.(string); s != values[i] {
			return nil, fmt.Errorf("cannot set %s.%s in this file's layout; edit it by hand", table, key)
		}
	}
	// A line that only looks like the key (inside a multi-line string) must
	// not have been the one replaced: every other key keeps its value.
	var before map[string]any
	if toml.Unmarshal(data, &before) == nil && !sameExcept(before, check, table, key) {
		return nil, fmt.Errorf("cannot set %s.%s in this file's layout without changing other keys; edit it by hand", table, key)
	}
	return out, nil
}

// sameExcept reports whether two decoded files hold the same values apart
// from table.key (and table itself when b added it holding only the key).
func sameExcept(a, b map[string]any, table, key string) bool {
	a, b = maps.Clone(a), maps.Clone(b)
	for _, m := range []map[string]any{a, b} {
		if t, ok := m[table].(map[string]any); ok {
			t = maps.Clone(t)
			delete(t, key)
			m[table] = t
		}
	}
	if _, had := a[table]; !had {
		if t, ok := b[table].(map[string]any); ok && len(t) == 0 {
			delete(b, table)
		}
	}
	return reflect.DeepEqual(a, b)
}
