package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// oneJob is the Args check of the commands that take one job ID.
func oneJob(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one job ID", cmd.Name())}
	}
	return nil
}

// jobError turns a 404 from the API into a plain "no job" error.
func jobError(id string, err error) error {
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return fmt.Errorf("no job %s on this node", id)
	}
	return err
}

func newLogsCmd(g *globals) *cobra.Command {
	var followLogs bool
	cmd := &cobra.Command{
		Use:   "logs JOB",
		Short: "Print a job's logs (every rank's stdout and stderr)",
		Long: `Print the log lines of a job this node requested, each prefixed with its
rank. With -f, keep printing them as they come until the job ends. The node
keeps up to market.job_log_mb MiB of lines per job; later lines are counted
as dropped, which logs reports. Control characters and bidirectional
overrides in the lines are shown escaped (\x1b, \r, \u202e); --json prints
the raw lines.`,
		Args: oneJob,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			last, err := c.FollowLogs(cmd.Context(), args[0], 0, followLogs, func(l market.LogLine) {
				if g.json {
					_ = g.printJSON(l)
				} else {
					fmt.Fprintf(g.stdout, "[%d] %s\n", l.Rank, l.Text)
				}
			})
			if err != nil {
				return jobError(args[0], err)
			}
			if d := last.Counts.Dropped; d > 0 && !g.json {
				fmt.Fprintf(g.stderr, "gpumesh: %s dropped past the cap of %d MiB of logs per job (market.job_log_mb on the node)\n",
					human.Plural(int(d), "later line"), last.Counts.Cap>>20)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&followLogs, "follow", "f", false, "keep printing lines until the job ends")
	return cmd
}

func newResultsCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "results JOB -o DIR",
		Short: "Copy a job's outputs into a folder",
		Long: `Copy the outputs of a job this node requested into DIR: one folder per rank,
rank-<r>/, holding what that rank wrote under /outputs/ (digests checked as
they arrived from the providers).`,
		Args: oneJob,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{errors.New("results needs -o DIR")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.Job(cmd.Context(), args[0])
			if err != nil {
				return jobError(args[0], err)
			}
			if v.Results == "" {
				return fmt.Errorf("job %s has no outputs (it is %s: it ran no work)", v.ID, v.State)
			}
			n, err := copyTree(v.Results, out)
			if err != nil {
				return fmt.Errorf("copy the outputs of job %s: %w", v.ID, err)
			}
			if g.json {
				return g.printJSON(map[string]any{"job": v.ID, "dir": out, "files": n})
			}
			fmt.Fprintf(g.stdout, "%s of job %s copied to %s\n", human.Plural(n, "file"), v.ID, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "folder to copy the outputs into (created)")
	return cmd
}

func newCancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel JOB",
		Short: "Stop a job this node requested",
		Long:  `Stop a job this node requested: bidding ends, held awards are released and running work is cancelled on every provider.`,
		Args:  oneJob,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.CancelJob(cmd.Context(), args[0])
			if err != nil {
				return jobError(args[0], err)
			}
			if g.json {
				return g.printJSON(v)
			}
			fmt.Fprintf(g.stdout, "job %s: %s (%s)\n", v.ID, v.State, v.Error)
			return nil
		},
	}
}

// copyTree copies the regular files under src into dst, keeping their
// relative paths, and returns how many it copied. Links are not followed.
func copyTree(src, dst string) (int, error) {
	n := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		n++
		return o.Close()
	})
	return n, err
}
