package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// submitFlags are the flags of gpumesh submit; each one given overrides the
// job file's key of the same meaning.
type submitFlags struct {
	workers, gpus, cpus            int
	pool, class, executor, urgency string
	minVRAM, ram, maxPrice, minRep float64
	maxRTT                         msDuration
	regions, inputs, env           []string
	duration, bidWindow            time.Duration
	wasm, image, command           string
	detach                         bool
	failover                       string
	audit                          float64
	perDevice                      bool
	requesterRTTCost               float64
	staked                         bool
}

func newSubmitCmd(g *globals) *cobra.Command {
	var f submitFlags
	cmd := &cobra.Command{
		Use:   "submit [JOBFILE] [flags] [-- ARGS]",
		Short: "Ask the network for a cluster of workers and follow it forming",
		Long: `Ask the network for a cluster of K workers close to each other: the running
node publishes the job request, providers bid, the node picks the cheapest
cluster within the RTT bound, awards it and checks the winners' pings
between each other. submit follows the job's events until the cluster is
formed or the job failed, then prints the cluster and its cost.

JOBFILE is YAML (JSON when it ends in .json; '-' reads stdin) with the keys
workers, gpus, pool, class, min_vram_gb, cpu_cores, ram_gb, max_rtt,
regions, max_price, duration, executor, workload, urgency, bid_window,
min_reputation, module, image, command, args, inputs, env (a map), failover,
audit, per_device, requester_rtt_cost and staked; an unknown key is an error. A job file's image that is a
relative path to a file is read from the job file's folder. Flags given override the file.

  gpumesh submit --workers 4 --class A100-80GB --max-rtt 40ms --max-price 1.5
  gpumesh submit job.yaml --workers 8 --detach

Without --gpus a worker takes one device of any pool, and a CPU-only node's
CPU counts as one: a CPU provider can serve it. --gpus N asks for N GPUs per
worker (pool gpu, unless --pool says otherwise): CPU-only providers do not
bid, nor do providers whose executor cannot hand GPUs over (a Docker engine
without the NVIDIA Container Toolkit). Each worker gets exactly its GPUs:
device requests for a container, CUDA_VISIBLE_DEVICES and
NVIDIA_VISIBLE_DEVICES for a process. A job longer than a provider's
executor.max_wall (--duration, default 1h) gets no bid from it.

The work: --wasm FILE (a WASI module, wasm executor), --image IMAGE
(docker) or --command NAME (a command the providers allowlisted, process),
with ARGS after -- as its arguments, --input FILE (repeatable) as
/inputs/<name> and --env KEY=VALUE (repeatable) in its environment.
IMAGE is name@sha256:<digest>, which providers pull from a registry they
allow; a name the providers already hold; or an image archive file (docker
save -o img.tar IMAGE), sent with the job and loaded by each provider, so
a locally built image runs without a registry. submit then runs it on the cluster, prints its logs live,
and leaves every rank's /outputs/ under the node's results folder
(gpumesh results JOB -o DIR copies them). Without work, the cluster is
formed and held until its awards lapse.

Ctrl-C stops following; the job goes on on the node (gpumesh jobs JOB;
gpumesh cancel JOB stops it). Exit status: 0 succeeded (or formed, for a
job without work, or submitted, with --detach), 1 failed, 2 bad usage or a
bad job spec.`,
		Args: func(cmd *cobra.Command, args []string) error {
			before := args
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				before = args[:dash]
			}
			if len(before) > 1 {
				return usageError{fmt.Errorf("submit takes at most one job file, got %q (ARGS go after --)", before)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var file string
			var workArgs []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				workArgs = args[dash:]
				args = args[:dash]
			}
			if len(args) == 1 {
				file = args[0]
			}
			spec, err := buildSpec(cmd, file, f, workArgs)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.SubmitJob(cmd.Context(), spec)
			var apiErr *api.Error
			if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if f.detach {
				if g.json {
					return g.printJSON(v)
				}
				fmt.Fprintln(g.stdout, v.ID)
				return nil
			}
			return follow(cmd.Context(), g, c, v)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.workers, "workers", 0, "number of workers K (default 1)")
	fl.IntVar(&f.gpus, "gpus", 0, "GPUs per worker (pool gpu unless --pool says otherwise; default: one device of any pool, a CPU-only node's CPU included)")
	fl.StringVar(&f.pool, "pool", "", "device pool: gpu, apple or cpu (default any; gpu excludes CPU-only providers)")
	fl.StringVar(&f.class, "class", "", "device class required, e.g. A100-80GB, RTX-4090, CPU-x86")
	fl.Float64Var(&f.minVRAM, "min-vram", 0, "least memory per device, GB")
	fl.IntVar(&f.cpus, "cpus", 0, "least CPU cores per worker")
	fl.Float64Var(&f.ram, "ram", 0, "least host memory per worker, GB")
	fl.Float64Var(&f.maxPrice, "max-price", 0, "most paid per device-hour, USD (default the node's market.default_max_price)")
	fl.Var(&f.maxRTT, "max-rtt", "largest RTT between any two workers: 40ms, or a bare number of milliseconds (default no bound)")
	fl.StringSliceVar(&f.regions, "region", nil, "region or country the workers must be in (repeatable, or comma-separated)")
	fl.DurationVar(&f.duration, "duration", 0, "how long the job may run (default 1h)")
	fl.StringVar(&f.executor, "executor", "", "wasm, docker or process (default what --wasm, --image or --command imply)")
	fl.StringVar(&f.wasm, "wasm", "", "WASI module to run (wasm executor)")
	fl.StringVar(&f.image, "image", "", "container image to run (docker executor): name@sha256:<digest> (pulled by providers that allow its registry), a name the providers hold, or an image archive file (docker save -o img.tar IMAGE) sent with the job")
	fl.StringVar(&f.command, "command", "", "allowlisted command to run (process executor)")
	fl.StringArrayVar(&f.inputs, "input", nil, "input file, seen by the work as /inputs/<name> (repeatable)")
	fl.StringArrayVar(&f.env, "env", nil, "KEY=VALUE in the work's environment (repeatable); GPUMESH_*, loader, path and GPU-selection names are refused")
	fl.StringVar(&f.urgency, "urgency", "", "low, normal or high: providers charge more for high (default normal)")
	fl.DurationVar(&f.bidWindow, "bid-window", 0, "how long bidding stays open at most (default the node's market.bid_window)")
	fl.Float64Var(&f.minRep, "min-reputation", 0, "least provider reputation, 0 to 1 (default the node's market.min_reputation)")
	fl.BoolVar(&f.detach, "detach", false, "print the job ID and return without following")
	fl.Float64Var(&f.audit, "audit", 0, "share of ranks, 0 to 1, this node runs again itself to check the outputs a provider returns (wasm only; default the node's market.default_audit)")
	fl.StringVar(&f.failover, "failover", "", "what a provider lost mid-job costs: restart (its ranks start again on the next-best provider and, in a networked process job, every other rank starts again too; default), replace (only the lost ranks start again; for elastic engines) or none (the job fails)")
	fl.Float64Var(&f.requesterRTTCost, "requester-rtt-cost", 0, "weigh each worker's RTT to this node against price, for work that moves data in and out: USD per device-hour a worker's ask counts as higher per ms of RTT (0.01: 50 ms further must ask $0.50 less); ranks bids only, the ask is what is paid (default 0, ignored)")
	fl.BoolVar(&f.staked, "staked", false, "take bids only from providers whose payout wallet is staked on the settlement contract (isEligible); needs settlement with a chain client on this node")
	fl.BoolVar(&f.perDevice, "per-device", false, "run one process of the command, or one container of the image, per device a worker holds, each with its own CUDA_VISIBLE_DEVICES and LOCAL_RANK, RANK over all of them (process and docker executors)")
	return cmd
}

// buildSpec reads the job file, if any, and lays the flags the user gave
// over it. Every problem is a usage error.
func buildSpec(cmd *cobra.Command, file string, f submitFlags, workArgs []string) (market.Spec, error) {
	var spec market.Spec
	if file != "" {
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return spec, usageError{fmt.Errorf("job file: %w", err)}
		}
		if spec, err = market.ParseSpec(file, data); err != nil {
			return spec, usageError{err}
		}
	}
	set := cmd.Flags().Changed
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if set("workers") {
		if f.workers < 1 {
			bad("--workers must be at least 1, got %d", f.workers)
		}
		spec.Workers = f.workers
	}
	if set("gpus") {
		if f.gpus < 0 {
			bad("--gpus must not be negative, got %d", f.gpus)
		}
		spec.GPUs = &f.gpus
	}
	if set("pool") {
		spec.Pool = f.pool
	}
	if set("gpus") && f.gpus > 0 && !set("pool") && spec.Pool == "" {
		spec.Pool = "gpu" // --gpus N asks for GPUs: a CPU does not count as one
	}
	if set("failover") {
		spec.Failover = f.failover
	}
	if set("audit") {
		spec.Audit = &f.audit
	}
	if set("per-device") {
		spec.PerDevice = f.perDevice
	}
	if set("requester-rtt-cost") {
		spec.RequesterRTTCost = f.requesterRTTCost
	}
	if set("staked") {
		spec.Staked = f.staked
	}
	if set("class") {
		spec.Class = f.class
	}
	if set("min-vram") {
		if !(f.minVRAM >= 0) {
			bad("--min-vram must not be negative, got %v", f.minVRAM)
		}
		spec.MinVRAMGB = f.minVRAM
	}
	if set("cpus") {
		if f.cpus < 0 {
			bad("--cpus must not be negative, got %d", f.cpus)
		}
		spec.CPUCores = f.cpus
	}
	if set("ram") {
		if !(f.ram >= 0) {
			bad("--ram must not be negative, got %v", f.ram)
		}
		spec.RAMGB = f.ram
	}
	if set("max-price") {
		if !(f.maxPrice > 0) || math.IsInf(f.maxPrice, 0) {
			bad("--max-price must be a positive number of USD per device-hour, got %v", f.maxPrice)
		}
		spec.MaxPrice = f.maxPrice
	}
	if set("max-rtt") {
		spec.MaxRTT = p2p.Duration(f.maxRTT)
	}
	if set("region") {
		spec.Regions = f.regions
	}
	if set("duration") {
		if f.duration <= 0 {
			bad("--duration must be positive, got %s", f.duration)
		}
		spec.Duration = p2p.Duration(f.duration)
	}
	if set("executor") {
		spec.Executor = f.executor
	}
	if set("urgency") {
		spec.Urgency = f.urgency
	}
	if set("bid-window") {
		if f.bidWindow <= 0 {
			bad("--bid-window must be positive, got %s", f.bidWindow)
		}
		spec.BidWindow = p2p.Duration(f.bidWindow)
	}
	if set("min-reputation") {
		if !(f.minRep >= 0 && f.minRep <= 1) {
			bad("--min-reputation must be between 0 and 1, got %v", f.minRep)
		}
		spec.MinReputation = &f.minRep
	}

	// --wasm, --image and --command each name the work; the node checks
	// the files and that only one is given. Paths go to it absolute.
	abs := func(flag, p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			bad("%s: %v", flag, err)
		} else if st, err := os.Stat(a); err != nil {
			bad("%s: %v", flag, err)
		} else if !st.Mode().IsRegular() {
			bad("%s: %s is not a regular file", flag, p)
		}
		return a
	}
	if set("wasm") {
		spec.Module = abs("--wasm", f.wasm)
	}
	if set("image") {
		if strings.TrimSpace(f.image) == "" {
			bad("--image must name an image")
		}
		spec.Image = imageArg("--image", f.image, "", bad)
	} else if spec.Image != "" {
		spec.Image = imageArg("image", spec.Image, file, bad)
	}
	if err := envArgs(&spec, f.env); err != nil {
		errs = append(errs, err)
	}
	if set("command") {
		spec.Command = f.command
	}
	if len(workArgs) > 0 {
		spec.Args = workArgs
	}
	for _, in := range f.inputs {
		spec.Inputs = append(spec.Inputs, abs("--input", in))
	}
	switch spec.Executor {
	case "", "wasm", "docker", "process":
	default:
		bad("executor %q is not wasm, docker or process", spec.Executor)
	}
	if err := errors.Join(errs...); err != nil {
		return spec, usageError{err}
	}
	return spec, nil
}

// msDuration is a duration flag that also reads a bare number as milliseconds.
type msDuration time.Duration

func (d *msDuration) String() string {
	if *d == 0 {
		return "" // no default shown in help
	}
	return time.Duration(*d).String()
}

func (d *msDuration) Type() string { return "duration" }

func (d *msDuration) Set(s string) error {
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		if !(ms >= 0) || math.IsInf(ms, 0) {
			return fmt.Errorf("%q is not a number of milliseconds", s)
		}
		*d = msDuration(time.Duration(ms * float64(time.Millisecond)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither a duration (40ms) nor a number of milliseconds", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*d = msDuration(v)
	return nil
}

// follow prints the job's events as they happen, then its outcome. A
// failed job returns an error (exit 1).
func follow(ctx context.Context, g *globals, c *api.Client, v market.JobView) error {
	if !g.json {
		fmt.Fprintf(g.stdout, "job %s submitted; following it (Ctrl-C stops following, the job goes on)\n", v.ID)
	}
	var mu sync.Mutex // the events and the log lines share the output
	logs := make(chan struct{})
	lctx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	go func() {
		defer close(logs)
		// A node without the logs endpoint, or a broken page, only stops
		// the log lines; the events go on.
		_, _ = c.FollowLogs(lctx, v.ID, 0, true, func(l market.LogLine) {
			if !g.json {
				mu.Lock()
				printEvent(g.stdout, market.Event{At: l.At, Kind: "log", Text: fmt.Sprintf("[%d] %s", l.Rank, l.Text)})
				mu.Unlock()
			}
		})
	}()
	err := c.FollowJob(ctx, v.ID, func(e market.Event) {
		if !g.json {
			mu.Lock()
			printEvent(g.stdout, e)
			mu.Unlock()
		}
	})
	if err != nil {
		stopLogs()
	}
	<-logs // the job ended (its logs end with it), or following it did
	if ctx.Err() != nil {
		return fmt.Errorf("stopped following job %s; it goes on on the node: gpumesh jobs %s", v.ID, v.ID)
	}
	if err != nil {
		return fmt.Errorf("follow job %s: %w", v.ID, err)
	}
	final, err := c.Job(ctx, v.ID)
	if err != nil {
		return err
	}
	if g.json {
		if err := g.printJSON(final); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(g.stdout)
		printOutcome(g.stdout, final)
	}
	if final.State == market.StateFailed {
		return fmt.Errorf("job %s failed: %s", final.ID, final.Error)
	}
	return nil
}

// printEvent writes one event as a line: time, kind, text.
func printEvent(w io.Writer, e market.Event) {
	fmt.Fprintf(w, "%s  %-9s %s\n", e.At.Local().Format("15:04:05.000"), e.Kind, e.Text)
}

// printOutcome writes what a job came to: its cluster and cost when formed,
// why it failed, or how far it got.
func printOutcome(w io.Writer, v market.JobView) {
	switch v.State {
	case market.StateFormed:
		printCluster(w, v)
	case market.StateSucceeded:
		printCluster(w, v)
		fmt.Fprintf(w, "job %s succeeded in %s\n", v.ID, v.Updated.Sub(v.Created).Round(time.Millisecond))
		printWorkers(w, v)
	case market.StateFailed:
		fmt.Fprintf(w, "job %s failed after %s, %s: %s\n", v.ID, v.Updated.Sub(v.Created).Round(time.Millisecond),
			human.Plural(v.Bids, "bid"), v.Error)
		printWorkers(w, v)
		if len(v.Rejected) > 0 {
			fmt.Fprintf(w, "bids not chosen: %s\n", reasons(v.Rejected))
		}
		if v.Invited > 0 {
			fmt.Fprintf(w, "invited %s directly", human.Plural(v.Invited, "provider"))
			if len(v.InviteRefusals) > 0 {
				fmt.Fprintf(w, "; would not bid: %s", detailedReasons(v.InviteRefusals, v.InviteReasons))
			}
			fmt.Fprintln(w)
		}
	default:
		fmt.Fprintf(w, "job %s is %s, %s so far\n", v.ID, v.State, human.Plural(v.Bids, "bid"))
	}
}

// printCluster writes a formed cluster: its providers, RTTs, cost and
// placement's explanation.
func printCluster(w io.Writer, v market.JobView) {
	took := ""
	if v.FormedAt != nil {
		took = " in " + v.FormedAt.Sub(v.Created).Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "job %s formed%s: %s on %s, from %s\n", v.ID, took,
		human.Plural(v.Spec.Workers, "worker"), human.Plural(len(v.Cluster), "provider"), human.Plural(v.Bids, "bid"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tRANKS\tCLASS\tDEVICES\tPRICE/H\tRTT FROM YOU")
	for _, m := range v.Cluster {
		rtt := "-"
		if m.RTTFromYouMS > 0 {
			rtt = fmtMS(m.RTTFromYouMS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t$%.2f\t%s\n", m.Peer, fmtRanks(m.Ranks), m.Class, m.Devices, m.Price, rtt)
	}
	tw.Flush()
	// Winners ping each other only for a job with an RTT bound.
	switch {
	case len(v.Cluster) < 2:
	case v.Spec.MaxRTT <= 0:
		fmt.Fprintln(w, "max RTT between workers: not measured (no bound; --max-rtt sets one)")
	default:
		bound := fmtMS(float64(time.Duration(v.Spec.MaxRTT)) / float64(time.Millisecond))
		fmt.Fprintf(w, "max RTT between workers: %s measured, bound %s\n", fmtMS(v.MaxPairRTTMS), bound)
	}
	if c := v.Cost; c != nil {
		fmt.Fprintf(w, "cost: %s per hour; for %s: %s + %s requester fee (0.25 %%) = %s\n",
			c.PerHour, fmtDuration(time.Duration(v.Spec.Duration)), c.Gross, c.RequesterFee, c.RequesterPays)
	}
	if v.Placement != "" {
		fmt.Fprintf(w, "placement: %s\n", v.Placement)
	}
}

// printWorkers writes each rank's result and where its outputs are.
func printWorkers(w io.Writer, v market.JobView) {
	if len(v.Workers) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tPEER\tSTATUS\tEXIT\tTIME\tOUTPUTS")
	for _, r := range v.Workers {
		status := string(r.Result.Status)
		if r.Error != "" && status == "" {
			status = "lost: " + clip(r.Error, 60)
		} else if r.Result.Reason != "" {
			status += " (" + r.Result.Reason + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%.2fs\t%s\n", r.Rank, shortPeer(r.Peer), status, r.Result.ExitCode, r.Seconds, strings.Join(r.Outputs, " "))
	}
	tw.Flush()
	if v.Results != "" {
		fmt.Fprintf(w, "outputs: %s (gpumesh results %s -o DIR copies them)\n", v.Results, v.ID)
	}
	printUsage(w, v)
}

// printUsage writes each provider's time served and what it costs; only
// time served is charged, a lost provider's until it was last heard from.
func printUsage(w io.Writer, v market.JobView) {
	if len(v.Usage) == 0 || v.Charged == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tRANKS\tATTEMPT\tSTATUS\tSERVED\tDEVICES\tCHARGE")
	for _, u := range v.Usage {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", shortPeer(u.Peer), fmtRanks(u.Ranks), u.Attempt, u.Status,
			u.End.Sub(u.Start).Round(time.Millisecond), u.Devices, u.Amount)
	}
	tw.Flush()
	c := v.Charged
	fmt.Fprintf(w, "charged for time served: %s + %s requester fee = %s", c.Gross, c.RequesterFee, c.RequesterPays)
	if v.Failovers > 0 {
		fmt.Fprintf(w, " (%s replaced)", human.Plural(v.Failovers, "lost provider"))
	}
	fmt.Fprintln(w)
	printGPUUsage(w, v)
}

func newJobsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "jobs [JOB]",
		Short: "List the jobs this node asked for and the awards it holds, or show one job",
		Long: `List the jobs this node asked for (as requester) and the awards it accepted
(as provider), with the counters of each served run's job network on this
provider. With a job ID, show that job's events and outcome; for a job this
node only serves, its awards here and their job network's counters.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("jobs takes at most one job ID, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				v, err := c.Job(cmd.Context(), args[0])
				if notRequestedHere(err) { // a job this node serves, if any
					return g.printProvided(cmd.Context(), c, args[0], err)
				}
				if err != nil {
					return err
				}
				if g.json {
					return g.printJSON(v)
				}
				printJob(g.stdout, v)
				return nil
			}
			jobs, err := c.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(jobs)
			}
			printJobs(g.stdout, jobs, time.Now())
			return nil
		},
	}
}

// printJob writes one job: what it asked for, its events and its outcome.
func printJob(w io.Writer, v market.JobView) {
	s := v.Spec
	fmt.Fprintf(w, "job %s (%s), created %s\n", v.ID, v.State, v.Created.Local().Format("2006-01-02 15:04:05"))
	gpus := 1
	if s.GPUs != nil {
		gpus = *s.GPUs
	}
	fmt.Fprintf(w, "asked for %s, %s each", human.Plural(s.Workers, "worker"), human.Plural(gpus, "device"))
	if s.Pool != "" {
		fmt.Fprintf(w, ", pool %s", s.Pool)
	}
	if s.Class != "" {
		fmt.Fprintf(w, ", class %s", s.Class)
	}
	if s.MaxRTT > 0 {
		fmt.Fprintf(w, ", max RTT %s", time.Duration(s.MaxRTT))
	}
	if len(s.Regions) > 0 {
		fmt.Fprintf(w, ", regions %s", strings.Join(s.Regions, ","))
	}
	fmt.Fprintf(w, ", up to $%.2f per device-hour, for %s\n\n", s.MaxPrice, fmtDuration(time.Duration(s.Duration)))
	for _, e := range v.Events {
		printEvent(w, e)
	}
	if len(v.Events) > 0 {
		fmt.Fprintln(w)
	}
	if l := v.Logs; l != nil && l.Lines+l.Dropped > 0 {
		fmt.Fprintf(w, "logs: %s (%d bytes) kept", human.Plural(int(l.Lines), "line"), l.Bytes)
		if l.Dropped > 0 {
			fmt.Fprintf(w, ", %d dropped past the cap of %d MiB", l.Dropped, l.Cap>>20)
		}
		fmt.Fprintf(w, "; gpumesh logs %s prints them\n\n", v.ID)
	}
	printJobNetwork(w, v.Network)
	printOutcome(w, v)
}

// printJobs writes the requested jobs, then the provided reservations.
func printJobs(w io.Writer, jobs api.Jobs, now time.Time) {
	fmt.Fprintf(w, "requested (%d)\n", len(jobs.Requested))
	if len(jobs.Requested) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tWORKERS\tBIDS\tCLUSTER\tMAX RTT\tPRICE/H\tCREATED")
		for _, v := range jobs.Requested {
			cluster, rtt, price := "-", "-", "-"
			if len(v.Cluster) > 0 {
				cluster = human.Plural(len(v.Cluster), "provider")
			}
			if v.State == market.StateFormed && v.Spec.MaxRTT > 0 && len(v.Cluster) > 1 {
				rtt = fmtMS(v.MaxPairRTTMS)
			}
			if v.Cost != nil {
				price = v.Cost.PerHour.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", v.ID, v.State, v.Spec.Workers, v.Bids, cluster, rtt, price, ago(now, v.Created))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nprovided (%d)\n", len(jobs.Provided))
	if len(jobs.Provided) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tREQUESTER\tRANKS\tDEVICES\tPRICE/H\tUNTIL\tSTATE")
		for _, r := range jobs.Provided {
			state := "holding"
			if r.Ended != "" {
				state = r.Ended
			}
			fmt.Fprintf(tw, "%s\t%s\t%s of %d\t%s\t$%.2f\t%s\t%s\n", r.Job, shortPeer(r.Requester), fmtRanks(r.Ranks), r.WorldSize,
				fmtDevices(r.Devices), r.Price, r.Until.Local().Format("15:04:05"), state)
		}
		tw.Flush()
		printProvidedNetworks(w, jobs.Provided)
	}
}

// fmtRanks writes sorted integers with runs as ranges: 0-3,6.
func fmtRanks(xs []int) string {
	if len(xs) == 0 {
		return "-"
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		} else {
			parts = append(parts, strconv.Itoa(s[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// fmtDevices writes how many devices and which: 2 (#0-1).
func fmtDevices(idx []int) string {
	if len(idx) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d (#%s)", len(idx), fmtRanks(idx))
}

// fmtMS writes milliseconds with the precision their size deserves.
func fmtMS(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.0f ms", ms)
	}
}

// fmtDuration writes d without zero tails: 1h, 1h30m, 45s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// reasons writes counts by reason, most first: 3 over price, 1 too far.
func reasons(m map[string]int) string { return detailedReasons(m, nil) }

// detailedReasons is reasons with each reason's example detail where
// details has one: "1 duration (the job asks for 2h0m0s, ...)".
func detailedReasons(m map[string]int, details map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
		if d := details[k]; d != "" {
			parts[i] += " (" + d + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// shortPeer is the tail of a peer ID, enough to tell peers apart in a table.
func shortPeer(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-8:]
	}
	return id
}

// ago writes how long before now t was.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return d.Round(time.Second).String() + " ago"
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
