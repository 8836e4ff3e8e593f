package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// ErrConflict marks a request the node cannot honour in its current state
// (answered 409), such as pausing a node that offers nothing.
var ErrConflict = errors.New("conflict")

// ErrTrailingData marks a request body with text after its JSON value.
var ErrTrailingData = errors.New("trailing data")

// Ask is this node's price for one device class, as GET /api/v1/market shows it.
type Ask struct {
	// Class and Pool are the devices' class and incentive pool.
	Class string `json:"class"`
	Pool  string `json:"pool"`
	// Devices counts the node's devices of the class; Free those not held
	// by an accepted award.
	Devices int `json:"devices"`
	Free    int `json:"free"`
	// Price is the floor ask in USD per device-hour (offer.prices).
	Price float64 `json:"price"`
}

// Clearing is one price a job cleared at that this node saw: a cluster
// member it chose as requester, or an award it accepted as provider.
type Clearing struct {
	// At is when the cluster formed or the award was accepted.
	At time.Time `json:"at"`
	// Job is the job request.
	Job string `json:"job"`
	// Role is this node's side: requester or provider.
	Role string `json:"role"`
	// Peer is the other side.
	Peer string `json:"peer"`
	// Class is the device class, when known.
	Class string `json:"class,omitempty"`
	// Devices is how many devices the price applied to.
	Devices int `json:"devices"`
	// Price is per device-hour, USD.
	Price float64 `json:"price"`
}

// MarketStatus is the answer to GET /api/v1/market (and to pause, resume,
// prices and hours): what this node offers now and how its market goes.
type MarketStatus struct {
	// Offering is offer.enabled: the node advertises its devices.
	Offering bool `json:"offering"`
	// Published says the latest record reached the DHT with its keys.
	Published bool `json:"published"`
	// Paused says offering is paused: no bids, every device shown busy.
	Paused bool `json:"paused"`
	// PausedAt is when it was paused; PauseReason what the user said.
	PausedAt    *time.Time `json:"paused_at,omitempty"`
	PauseReason string     `json:"pause_reason,omitempty"`
	// Available says the node takes jobs now: offering, not paused and
	// within its hours.
	Available bool `json:"available"`
	// Prices are the offer.prices entries in force (CLASS=PRICE or POOL=PRICE).
	Prices []string `json:"prices"`
	// Asks are the resulting prices per device class of this node.
	Asks []Ask `json:"asks"`
	// Hours are the local-time windows in which jobs are taken; none = always.
	Hours []string `json:"hours"`
	// Executors are those advertised; Region and Country what requesters filter on.
	Executors []string `json:"executors"`
	Region    string   `json:"region,omitempty"`
	Country   string   `json:"country,omitempty"`
	// RecordSeq and RecordExpires describe the latest published record.
	RecordSeq     uint64     `json:"record_seq,omitempty"`
	RecordExpires *time.Time `json:"record_expires,omitempty"`
	// SelfTest is offer.self_test; Proofs the proof-of-compute results the
	// record carries (the measured class and throughput).
	SelfTest bool             `json:"self_test"`
	Proofs   []capacity.Proof `json:"proofs"`
	// Stats are the provider side's counts: bids, declines by check, awards.
	Stats market.Stats `json:"stats"`
	// Clearing are the recent prices this node's jobs and awards cleared at, newest first.
	Clearing []Clearing `json:"clearing"`
	// ConfigFile is where price and hour changes are saved; Saved says
	// whether the last change was, and SaveError why not.
	ConfigFile string `json:"config_file,omitempty"`
	Saved      bool   `json:"saved,omitempty"`
	SaveError  string `json:"save_error,omitempty"`
}

// Nearby is one peer in GET /api/v1/coordinate.
type Nearby struct {
	// Peer is the peer's ID.
	Peer string `json:"peer"`
	// MeasuredMS is libp2p's smoothed ping RTT, 0 if none.
	MeasuredMS float64 `json:"measured_ms"`
	// EstimatedMS is the RTT the two network coordinates predict, 0 if the
	// peer's coordinate is unknown.
	EstimatedMS float64 `json:"estimated_ms"`
}

// Coordinate is the answer to GET /api/v1/coordinate: the node's network
// coordinate and its nearest peers.
type Coordinate struct {
	// Known is false until the node has a coordinate.
	Known bool `json:"known"`
	// Coordinate is the node's Vivaldi coordinate.
	Coordinate coord.Coordinate `json:"coordinate"`
	// Samples counts the RTT samples it was fitted from.
	Samples int `json:"samples"`
	// Nearest are the closest connected peers, nearest first (by measured
	// RTT, else estimated), at most 10.
	Nearest []Nearby `json:"nearest"`
}

// ControlBackend is the part of Backend behind the market's controls and
// the dashboard's network view. Errors wrapping ErrBadRequest answer 400,
// ErrConflict 409.
type ControlBackend interface {
	// MarketStatus is what the node offers now.
	MarketStatus() MarketStatus
	// Pause stops offering (no bids, devices shown busy) until Resume.
	Pause(reason string) (MarketStatus, error)
	// Resume offers again.
	Resume() (MarketStatus, error)
	// SetPrices replaces offer.prices and republishes the record.
	SetPrices(prices []string) (MarketStatus, error)
	// SetHours replaces offer.hours and republishes the record.
	SetHours(hours []string) (MarketStatus, error)
	// Coordinate is the node's network coordinate and nearest peers.
	Coordinate() Coordinate
}

// PauseRequest is the optional body of POST /api/v1/pause.
type PauseRequest struct {
	// Reason is shown in the dashboard and status ("gaming tonight").
	Reason string `json:"reason,omitempty"`
}

// PricesRequest is the body of PUT /api/v1/prices.
type PricesRequest struct {
	// Prices replace offer.prices: CLASS=PRICE or POOL=PRICE, USD per device-hour.
	Prices []string `json:"prices"`
}

// HoursRequest is the body of PUT /api/v1/hours.
type HoursRequest struct {
	// Hours replace offer.hours: local HH:MM-HH:MM windows; empty = always.
	Hours []string `json:"hours"`
}

// maxControlBytes bounds a control request's body.
const maxControlBytes = 16 << 10

// decodeBody decodes a JSON body strictly into v; an empty body is allowed
// when optional.
func decodeBody(r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxControlBytes+1))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", ErrBadRequest, err)
	}
	if len(body) > maxControlBytes {
		return fmt.Errorf("%w: body over %d bytes", ErrBadRequest, maxControlBytes)
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrBadRequest, err)
	}
	if err := wholeJSON(dec); err != nil {
		return fmt.Errorf("%w: body: %v", ErrBadRequest, err)
	}
	return nil
}

// wholeJSON fails when dec, having decoded one value, holds anything but
// white space after it: a body is one JSON value, whole.
func wholeJSON(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: text after the JSON value at byte %d", ErrTrailingData, dec.InputOffset())
	}
	return nil
}

// handleControl adds the market controls and the network view to mux.
func handleControl(mux *http.ServeMux, b ControlBackend) {
	mux.HandleFunc("GET /api/v1/market", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.MarketStatus())
	})
	mux.HandleFunc("GET /api/v1/coordinate", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.Coordinate())
	})
	mux.HandleFunc("POST /api/v1/pause", func(w http.ResponseWriter, r *http.Request) {
		var req PauseRequest
		if err := decodeBody(r, &req, true); err != nil {
			writeControlResult(w, nil, err)
			return
		}
		if len(req.Reason) > 200 {
			writeControlResult(w, nil, fmt.Errorf("%w: reason over 200 bytes", ErrBadRequest))
			return
		}
		v, err := b.Pause(req.Reason)
		writeControlResult(w, v, err)
	})
	mux.HandleFunc("POST /api/v1/resume", func(w http.ResponseWriter, r *http.Request) {
		v, err := b.Resume()
		writeControlResult(w, v, err)
	})
	mux.HandleFunc("PUT /api/v1/prices", func(w http.ResponseWriter, r *http.Request) {
		var req PricesRequest
		if err := decodeBody(r, &req, false); err != nil {
			writeControlResult(w, nil, err)
			return
		}
		if req.Prices == nil {
			writeControlResult(w, nil, fmt.Errorf("%w: body needs \"prices\": [\"CLASS=PRICE\", ...]", ErrBadRequest))
			return
		}
		v, err := b.SetPrices(req.Prices)
		writeControlResult(w, v, err)
	})
	mux.HandleFunc("PUT /api/v1/hours", func(w http.ResponseWriter, r *http.Request) {
		var req HoursRequest
		if err := decodeBody(r, &req, false); err != nil {
			writeControlResult(w, nil, err)
			return
		}
		v, err := b.SetHours(req.Hours)
		writeControlResult(w, v, err)
	})
}

// writeControlResult answers v, or the error: 409 for one wrapping
// ErrConflict, else as writeResult.
func writeControlResult(w http.ResponseWriter, v any, err error) {
	if errors.Is(err, ErrConflict) {
		writeJSON(w, http.StatusConflict, errorBody{Error: strings.TrimPrefix(err.Error(), ErrConflict.Error()+": ")})
		return
	}
	writeResult(w, http.StatusOK, v, err)
}

// MarketStatus fetches GET /api/v1/market.
func (c *Client) MarketStatus(ctx context.Context) (MarketStatus, error) {
	var m MarketStatus
	err := c.get(ctx, "/api/v1/market", requestTimeout, &m)
	return m, err
}

// Coordinate fetches GET /api/v1/coordinate.
func (c *Client) Coordinate(ctx context.Context) (Coordinate, error) {
	var v Coordinate
	err := c.get(ctx, "/api/v1/coordinate", requestTimeout, &v)
	return v, err
}

// Pause posts to /api/v1/pause (needs the token).
func (c *Client) Pause(ctx context.Context, reason string) (MarketStatus, error) {
	return c.control(ctx, http.MethodPost, "/api/v1/pause", PauseRequest{Reason: reason})
}

// Resume posts to /api/v1/resume (needs the token).
func (c *Client) Resume(ctx context.Context) (MarketStatus, error) {
	return c.control(ctx, http.MethodPost, "/api/v1/resume", nil)
}

// SetPrices puts prices to /api/v1/prices (needs the token). A malformed
// price is an *Error with Status 400.
func (c *Client) SetPrices(ctx context.Context, prices []string) (MarketStatus, error) {
	if prices == nil {
		prices = []string{}
	}
	return c.control(ctx, http.MethodPut, "/api/v1/prices", PricesRequest{Prices: prices})
}

// SetHours puts hours to /api/v1/hours (needs the token); none = always.
func (c *Client) SetHours(ctx context.Context, hours []string) (MarketStatus, error) {
	if hours == nil {
		hours = []string{}
	}
	return c.control(ctx, http.MethodPut, "/api/v1/hours", HoursRequest{Hours: hours})
}

func (c *Client) control(ctx context.Context, method, path string, body any) (MarketStatus, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return MarketStatus{}, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return MarketStatus{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var m MarketStatus
	err = c.do(req, http.StatusOK, &m)
	return m, err
}
