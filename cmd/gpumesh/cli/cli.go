// Package cli is gpumesh's command line: the run command that starts a node,
// and the client commands that read a running node's local API. Run returns
// the exit status: 0 success, 1 failure, 2 bad usage.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/datadir"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// usageError marks an error caused by how the command was called.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// globals are the flags every command takes.
type globals struct {
	dataDir string
	json    bool
	stdout  io.Writer
	stderr  io.Writer
	// flush writes what the terminal-safe stdout still holds (terminal);
	// nil until a command runs.
	flush func()
}

// Run executes the command line args and returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	code := runArgs(ctx, args, stdout, stderr)
	holdConsole(args, code, stderr)
	return code
}

// runArgs is Run before a double-click's console window is held open.
func runArgs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if g.flush != nil {
		g.flush()
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "gpumesh: %s\n", termSafe(err.Error())) // errors may quote what providers said
	var u usageError
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintln(stderr, "Run 'gpumesh --help' for usage.")
		return ExitUsage
	}
	return ExitFailure
}

func newRoot(g *globals) *cobra.Command {
	run := newRunCmd(g)
	root := &cobra.Command{
		Use:   "gpumesh",
		Short: "gpumesh: a decentralized GPU compute network in one binary",
		Long: "gpumesh runs a node of the gpumesh network, and talks to a running node.\n" +
			"With no command it runs a node, as a double-click does.",
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          run.RunE,
		// Every command's human output passes through termSafe: peers'
		// agents, offers, receipts, job logs and reasons all come from the
		// network. JSON output stays raw (its encoding escapes them).
		PersistentPreRun: func(*cobra.Command, []string) { g.flush = g.terminal() },
	}
	root.Flags().AddFlagSet(run.Flags())
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", "", "node home (default $"+datadir.EnvVar+" or the OS convention)")
	root.PersistentFlags().BoolVar(&g.json, "json", false, "machine-readable JSON output")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(run, newIDCmd(g), newStatusCmd(g), newPeersCmd(g), newGPUCmd(g), newOffersCmd(g), newSubmitCmd(g), newJobsCmd(g), newLogsCmd(g), newResultsCmd(g), newCancelCmd(g), newReceiptsCmd(g), newDemoCmd(g), newBenchCmd(g), newVersionCmd(g))
	root.AddCommand(newPauseCmd(g), newResumeCmd(g), newPricesCmd(g))
	root.AddCommand(newProverCmd(g), newWalletCmd(g), newEscrowCmd(g), newStakeCmd(g), newUnstakeCmd(g), newSettleCmd(g))
	return root
}

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
	}
	return nil
}

// dir returns the data dir from the flag, the environment or the OS convention.
func (g *globals) dir() (string, error) {
	if g.dataDir != "" {
		return g.dataDir, nil
	}
	return datadir.Default()
}

// client returns an API client for the node running on the data dir.
func (g *globals) client() (*api.Client, error) {
	dir, err := g.dir()
	if err != nil {
		return nil, err
	}
	url, err := api.ReadAddrFile(dir)
	if err != nil {
		return nil, err
	}
	tok, _ := api.ReadToken(dir) // without it, the controls answer 401 and say where it is
	return api.NewClient(url).WithToken(tok), nil
}

// printJSON writes v as indented JSON.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
