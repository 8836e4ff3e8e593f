package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// printProvidedNetworks writes, under the table of provided runs, the
// counters of each one's job network on this provider.
func printProvidedNetworks(w io.Writer, provided []market.Reservation) {
	first := true
	for _, r := range provided {
		if r.Network == nil {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "job network of %s here: %s\n", r.Job, fmtJobNetwork(*r.Network))
	}
}

// notRequestedHere says whether err is the API's answer for a job this
// node did not request.
func notRequestedHere(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// printProvided writes the awards this node accepted for job, as
// provider, with their job network's counters here; with --json the
// GET /api/v1/jobs answer holding only them. notHere is the error to
// return when there are none.
func (g *globals) printProvided(ctx context.Context, c *api.Client, job string, notHere error) error {
	jobs, err := c.Jobs(ctx)
	if err != nil {
		return err
	}
	mine := api.Jobs{Requested: []market.JobView{}, Provided: []market.Reservation{}}
	for _, r := range jobs.Provided {
		if r.Job == job {
			mine.Provided = append(mine.Provided, r)
		}
	}
	if len(mine.Provided) == 0 {
		return fmt.Errorf("%w, nor served by it", notHere)
	}
	if g.json {
		return g.printJSON(mine)
	}
	for i, r := range mine.Provided {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		printReservation(g.stdout, r)
	}
	return nil
}

// printReservation writes one award this node accepted as provider.
func printReservation(w io.Writer, r market.Reservation) {
	state := "holding its devices"
	switch {
	case r.Ended != "":
		state = "ended: " + r.Ended
	case r.Running:
		state = "running"
	}
	fmt.Fprintf(w, "job %s, served here for %s: ranks %s of %d, devices %s, $%.2f per hour, accepted %s, until %s; %s\n",
		r.Job, r.Requester, fmtRanks(r.Ranks), r.WorldSize, fmtDevices(r.Devices), r.Price,
		r.Accepted.Local().Format("2006-01-02 15:04:05"), r.Until.Local().Format("2006-01-02 15:04:05"), state)
	if r.Network != nil {
		fmt.Fprintf(w, "job network here: %s\n", fmtJobNetwork(*r.Network))
	}
}
