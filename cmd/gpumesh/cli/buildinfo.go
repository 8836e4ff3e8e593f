package cli

import (
	"runtime/debug"
)

// Commit and BuildDate are stamped at link time by `make release`
// (-ldflags -X github.com/gpumesh/gpumesh/cmd/gpumesh/cli.Commit=...),
// as node.Version is; a plain `go build` leaves them empty and
// buildInfo falls back to what the Go toolchain recorded.
var (
	// Commit is the git commit the binary was built from.
	Commit = ""
	// BuildDate is when the binary was built, in RFC 3339 (UTC).
	BuildDate = ""
)

// buildInfo returns the commit and build date: the stamped ones, else the
// VCS revision and time the Go toolchain embedded, else "unknown".
func buildInfo() (commit, date string) {
	commit, date = Commit, BuildDate
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return commit, date
}

// shortCommit is the first 12 hex digits of a commit, for a person.
func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
