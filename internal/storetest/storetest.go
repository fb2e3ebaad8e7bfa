// Package storetest is the behaviour suite every cloudmeter.Store engine runs: the same
// tests, against a real database, hold SQLite and PostgreSQL to one behaviour. It is
// split as cloudmeter.Store is, by role, one file and one entry point each:
//
//   - ledger.go, RunLedger: EventLedger (ledger idempotency and atomicity, order-free
//     re-rating, concurrent writers);
//   - usage.go, RunUsage: UsageStore (span queries, anomalies);
//   - pricebooks.go, RunPriceBooks: PriceBookStore (price book versions);
//   - keys.go, RunKeys: KeyStore (API keys);
//   - traffic.go, RunTraffic: TrafficStore (metered traffic);
//   - organizations.go, RunOrganizations: OrganizationStore (users' organizations);
//   - credit.go, RunCredit: CreditStore (prepaid credit accounts and their audit);
//   - exports.go, RunExports: ExportStore (export targets and the outbox of deliveries);
//   - pulled.go, RunPulled: PulledStore (records imported by pull connectors);
//   - installations.go, RunInstallations: InstallationStore (marketplace installations,
//     latest-wins billing data, partners' invoices, balances and resources);
//   - incremental.go, RunIncremental: EventLedger and UsageStore together (incremental
//     rating and chunked spans hold what rating every event from scratch gives).
//
// helpers.go holds the helpers the roles share and events.go the suite's events. A new
// role adds its file and one line in Run.
//
// An engine's tests call Run with a function that opens a new, empty store; each case
// runs as a subtest of the caller, under the same name whichever entry point runs it.
package storetest

import (
	"testing"

	"github.com/cloudmeter/cloudmeter"
)

// Run runs the suite: the cases of Store's own methods, then those of every role. open
// must return a new, empty store each time it is called; Run closes it when the subtest
// ends.
func Run(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{{"Ping", testPing}})
	RunLedger(t, open)
	RunUsage(t, open)
	RunPriceBooks(t, open)
	RunKeys(t, open)
	RunSigningKeys(t, open)
	RunTraffic(t, open)
	RunOrganizations(t, open)
	RunCredit(t, open)
	RunExports(t, open)
	RunPulled(t, open)
	RunInstallations(t, open)
	RunReservations(t, open)
	RunIncremental(t, open)
}

func testPing(t *testing.T, s cloudmeter.Store) {
	if err := s.Ping(ctxOf(t)); err != nil {
		t.Fatal(err)
	}
}
