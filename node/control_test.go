package node_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// TestSetHoursRefusesTrailingText: PUT /api/v1/hours through a running
// node's API answers 400 naming the window when a valid window is followed
// by other text (the outsider's `18:00-08:00"]...` was accepted), and the
// node's hours stay as they were.
func TestSetHoursRefusesTrailingText(t *testing.T) {
	nd := nodetest.Start(t, 1, nodetest.Options{}).Nodes[0]
	ctx := context.Background()
	c := api.NewClient(nd.APIURL()).WithToken(nd.APIToken())
	if m, err := c.SetHours(ctx, []string{"18:00-08:00"}); err != nil || !slices.Equal(m.Hours, []string{"18:00-08:00"}) {
		t.Fatalf("SetHours(18:00-08:00) = %+v, %v", m, err)
	}
	for _, bad := range []string{`18:00-08:00"]...`, "18:00-08:00x", "+18:00-08:00", "18:00-08:00-09:00"} {
		_, err := c.SetHours(ctx, []string{bad})
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
			t.Fatalf("SetHours(%q) = %v, want a 400", bad, err)
		}
		t.Logf("PUT /api/v1/hours %q: %d %s", bad, apiErr.Status, apiErr.Message)
		if !strings.Contains(apiErr.Message, "offer.hours") || !strings.Contains(apiErr.Message, "HH:MM") {
			t.Errorf("SetHours(%q): message %q does not name offer.hours and the form HH:MM", bad, apiErr.Message)
		}
	}
	if m, err := c.MarketStatus(ctx); err != nil || !slices.Equal(m.Hours, []string{"18:00-08:00"}) {
		t.Fatalf("hours after refused changes = %+v, %v; want 18:00-08:00 kept", m.Hours, err)
	}
}
