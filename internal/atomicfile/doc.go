// Package atomicfile writes files so that a crash leaves either the old file
// or the new one, never a torn one: a temp file in the same folder, written,
// synced, renamed over the target, then the folder synced. Every package
// that keeps state on disk writes through it (after Tailscale's atomicfile).
package atomicfile
