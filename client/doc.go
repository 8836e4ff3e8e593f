// Package client is gpumesh as a library, for researchers who want to
// use the network from Go without running a full node: connect, search the
// network's offers, submit a job, follow its events and logs, fetch its
// results and verify its receipts.
//
// Dial starts a light participant inside the calling process: a gpumesh
// node configured as a requester only. It offers nothing, asks the DHT
// without serving it (client mode), runs no HTTP API and no dashboard, and
// uses mDNS only when asked. Its identity and ledger live in
// Options.DataDir, or in a temporary folder removed by Close.
//
// A sketch (errors elided):
//
//	c, _ := client.Dial(ctx, client.Options{Network: "main"})
//	defer c.Close()
//	res, _ := c.Offers(ctx, "pool=cpu")             // what `gpumesh offers` shows
//	job, _ := c.SubmitWasm(ctx, market.Spec{Workers: 2}, module)
//	for u, err := range c.Follow(ctx, job.ID) {     // events and log lines
//		...
//	}
//	v, _ := c.Wait(ctx, job.ID)
//	_ = c.Results(ctx, job.ID, "out")               // out/rank-0, out/rank-1
//	proofs, _ := c.Receipts(ctx, job.ID)
//	rep, err := c.Verify(ctx, proofs[0])            // as `gpumesh receipts verify`
//
// The types returned are the market's own (market.JobView, market.Event,
// market.LogLine, offers.Result) and the API's receipt proofs
// (api.ReceiptProof): what the CLI prints with --json.
package client
