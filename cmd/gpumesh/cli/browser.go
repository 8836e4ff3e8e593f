package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
)

// doubleClicked reports whether gpumesh was started as a double-click
// starts it: the root command with no arguments and no flags.
func doubleClicked(cmd *cobra.Command) bool {
	return cmd == cmd.Root() && cmd.Flags().NFlag() == 0
}

// ciVars are environment variables CI systems set; any of them set (and
// not "false" or "0") means no browser is opened.
var ciVars = []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD", "TEAMCITY_VERSION", "GPUMESH_NO_BROWSER"}

// shouldOpenBrowser decides whether the dashboard opens in a browser: only
// for a double-click, never headless, never in CI, and only where there is
// a display to show it on. The reason says why not, for the log.
func shouldOpenBrowser(doubleClick, headless bool, goos string, getenv func(string) string) (bool, string) {
	switch {
	case !doubleClick:
		return false, "started with arguments (only a double-click opens the browser)"
	case headless:
		return false, "headless"
	}
	for _, v := range ciVars {
		if s := strings.ToLower(getenv(v)); s != "" && s != "false" && s != "0" {
			return false, "running in CI ($" + v + ")"
		}
	}
	switch goos {
	case "windows":
		return true, ""
	case "darwin":
		if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
			return false, "in an SSH session"
		}
		return true, ""
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return false, "no display ($DISPLAY and $WAYLAND_DISPLAY unset)"
		}
		return true, ""
	}
}

// browserCommand is the command that opens url in the default browser:
// $BROWSER when set, else the platform's opener.
func browserCommand(goos, url string, getenv func(string) string) []string {
	if b := getenv("BROWSER"); b != "" {
		return append(strings.Fields(b), url)
	}
	switch goos {
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", url}
	case "darwin":
		return []string{"open", url}
	default:
		return []string{"xdg-open", url}
	}
}

// startBrowser runs argv without waiting for the browser to close.
func startBrowser(argv []string) error {
	c := exec.Command(argv[0], argv[1:]...)
	if err := c.Start(); err != nil {
		return err
	}
	go func() { _ = c.Wait() }() // reap the opener; browsers detach from it
	return nil
}

// announceDashboard prints where the dashboard is (always) and opens it in
// the browser when gpumesh was double-clicked on a machine with a display.
// The link with the API token goes to the terminal only, never to the logs.
func announceDashboard(ctx context.Context, g *globals, cmd *cobra.Command, cfg config.Config, n *node.Node, log *slog.Logger, goos string) {
	if n.APIURL() == "" {
		return
	}
	log.Info("dashboard", "url", n.APIURL()+"/", "token_file", filepath.Join(n.DataDir(), api.TokenFile))
	if !cfg.Headless {
		fmt.Fprintf(g.stderr, "gpumesh: dashboard: %s\n", n.DashboardURL())
	}
	open, why := shouldOpenBrowser(doubleClicked(cmd), cfg.Headless, goos, os.Getenv)
	if !open {
		log.Debug("not opening a browser", "why", why)
		return
	}
	if ctx.Err() != nil {
		return
	}
	if err := startBrowser(browserCommand(goos, n.DashboardURL(), os.Getenv)); err != nil {
		log.Warn("could not open a browser; open the dashboard link above", "err", err)
	}
}
