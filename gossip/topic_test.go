package gossip

import (
	"context"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p"
)

// TestTopicPrefix: a router of another network joins its topics under the
// network's prefix, main's router joins the names gpumesh always used, and
// both publish and handle by the names in Topics.
func TestTopicPrefix(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want []string
	}{
		{nil, []string{"gpumesh/anchors/2", "gpumesh/capacity/2", "gpumesh/jobs/2"}},
		{[]Option{WithTopicPrefix("gpumesh")}, []string{"gpumesh/anchors/2", "gpumesh/capacity/2", "gpumesh/jobs/2"}},
		{[]Option{WithTopicPrefix("gpumesh-blue")}, []string{"gpumesh-blue/anchors/2", "gpumesh-blue/capacity/2", "gpumesh-blue/jobs/2"}},
	} {
		key, _ := newKey(t)
		h, err := libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs)
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(DefaultConfig(), h, key, "test", nil, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := r.PubSub().GetTopics()
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("topics %q, want %q", got, tc.want)
		}
		if r.TopicPeers(TopicJobs) == nil && r.topics[TopicJobs] == nil {
			t.Errorf("no topic under the name %s", TopicJobs)
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		h.Close()
	}
}
