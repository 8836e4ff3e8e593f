// Package human writes numbers for people the same way in every message:
// counted nouns ("1 worker", "3 bids", "2 entries") and round-trip times in
// milliseconds ("12.3 ms"). Placement, the market and the CLI share it.
package human
