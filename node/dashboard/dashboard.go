// Package dashboard is the node's web dashboard: plain HTML, CSS and
// JavaScript embedded in the binary (no build step, no CDN, works offline),
// served by the node's local API on loopback. The page reads the same JSON
// API as the CLI; the calls that change the node (pause, resume, prices,
// hours, cancel) carry the node's API token, which the page takes from its
// URL fragment (#token=...) once and keeps in the browser's local storage.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed ui
var files embed.FS

// Files are the dashboard's static files (index.html at the root).
var Files, _ = fs.Sub(files, "ui")

// Prefix is the path under which the dashboard's assets are served; the
// page itself is served at "/".
const Prefix = "/ui/"

// csp allows the page only its own scripts, styles, images and API:
// nothing from elsewhere runs or is fetched, and no other site may frame it.
// Inline style attributes are allowed (the page sets a few); inline
// scripts are not.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the dashboard: index.html at "/" and the assets under
// Prefix. Mount it at "GET /{$}" and "GET /ui/".
func Handler() http.Handler {
	static := http.StripPrefix(Prefix, http.FileServerFS(Files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if strings.HasPrefix(r.URL.Path, Prefix) {
			static.ServeHTTP(w, r)
			return
		}
		http.ServeFileFS(w, r, Files, "index.html")
	})
}
