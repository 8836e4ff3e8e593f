package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/datadir"
)

// runFlags are the flags of gpumesh run, which override the config file.
type runFlags struct {
	config       string
	profile      string
	network      string
	listen       []string
	bootstrap    []string
	api          string
	headless     bool
	noMDNS       bool
	relayService bool
}

func newRunCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start a node (the default command)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNode(cmd.Context(), g, f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "config file (default DIR/"+config.FileName+")")
	fl.StringVar(&f.profile, "profile", "", "home | datacenter | bootstrap | test (default: the file's, else home)")
	fl.StringVar(&f.network, "network", "", "network to join: main (default) or local (LAN and explicit peers only)")
	fl.StringArrayVar(&f.listen, "listen", nil, "multiaddr to listen on; repeatable; replaces the configured ones")
	fl.StringArrayVar(&f.bootstrap, "bootstrap", nil, "bootstrap peer, a full multiaddr with /p2p/<peer id>; repeatable")
	fl.StringVar(&f.api, "api", "", "HOST:PORT of the local API (port 0 = any)")
	fl.BoolVar(&f.headless, "headless", false, "JSON logs, never open a browser")
	fl.BoolVar(&f.noMDNS, "no-mdns", false, "no LAN discovery")
	fl.BoolVar(&f.relayService, "relay-service", false, "serve as a circuit relay for peers behind NAT")
	return cmd
}

// loadConfig reads the config file (writing a documented one on first run)
// and applies the flags on top.
func loadConfig(dir string, f *runFlags, cmd *cobra.Command) (config.Config, error) {
	path := f.config
	if path == "" {
		path = filepath.Join(dir, config.FileName)
	}
	c, exists, err := config.Load(path, f.profile)
	if err != nil {
		return c, err
	}
	if !exists {
		if f.config != "" {
			return c, usageError{fmt.Errorf("config file %s does not exist", path)}
		}
		if err := datadir.Ensure(dir); err != nil {
			return c, err
		}
		tmpl, err := config.Template(c.Profile)
		if err != nil {
			return c, err
		}
		if err := datadir.WriteFile(path, tmpl, 0o600); err != nil {
			return c, fmt.Errorf("write default config: %w", err)
		}
	}
	fl := cmd.Flags()
	if fl.Changed("network") {
		c.Network = f.network
	}
	if fl.Changed("listen") {
		c.P2P.Listen = f.listen
	}
	c.P2P.Bootstrap = append(c.P2P.Bootstrap, f.bootstrap...)
	if fl.Changed("api") {
		c.API.Listen = f.api
	}
	if f.headless {
		c.Headless = true
	}
	if f.noMDNS {
		c.P2P.MDNS = false
	}
	if f.relayService {
		c.P2P.RelayService = true
	}
	if err := c.Validate(); err != nil {
		return c, usageError{fmt.Errorf("flags: %w", err)}
	}
	return c, nil
}

func runNode(ctx context.Context, g *globals, f *runFlags, cmd *cobra.Command) error {
	dir, err := g.dir()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(dir, f, cmd)
	if err != nil {
		return err
	}
	json := cfg.Headless || cfg.Log.Format == "json"
	h := node.NewLogHandler(g.stderr, cfg.Log, cfg.Headless)
	node.RouteLibp2pLogs(h, node.ParseLevel(cfg.Log.Libp2pLevel), json)
	log := slog.New(h)
	slog.SetDefault(log)

	cfgFile := f.config
	if cfgFile == "" {
		cfgFile = filepath.Join(dir, config.FileName)
	}
	n, err := node.New(node.Options{DataDir: dir, Config: cfg, Log: log, Ready: g.stdout, ConfigFile: cfgFile})
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	announceDashboard(ctx, g, cmd, cfg, n, log, runtime.GOOS)
	<-ctx.Done()
	log.Info("shutting down")
	if err := n.Close(); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	log.Info("stopped")
	return nil
}
