// Package demo holds cloudmeter's demo cloud: the seed example of the MetalSoft
// documentation (four records that must be reproduced to the last digit) and a
// generator of a few hundred resources with type changes, resizes, power cycles and
// deletions over a month. It is used by `cloudmeter demo`, `cloudmeter bench` and the
// tests.
package demo

import _ "embed"

// SeedEvents are the CloudEvents (a JSON array) that reproduce the seed example's four
// records: shared drive 779, drive 3727, instance 2416 and subnet 6378 of user 1,
// infrastructure 3668.
//
//go:embed seed_events.json
var SeedEvents []byte

// SeedPrices is the price book (native format) the seed example was priced with.
//
//go:embed seed_prices.json
var SeedPrices []byte
