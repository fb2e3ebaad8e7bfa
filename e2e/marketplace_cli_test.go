package e2e

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// mpCLI runs a cloudmeter command on the server's database and returns its output.
func mpCLI(t *testing.T, e *mpEnv, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--data-dir", e.DataDir, "--database-url="+e.DatabaseURL)
	if code := cli.Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("cloudmeter %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// TestMarketplaceCLI installs a partner with the command line, lets it submit billing
// data in yen (no minor unit) with one item whose total is not price x quantity, and
// reads it back with `installations show` (golden) and in the user's report, apart from
// its total; then uninstalls it, after which its endpoints answer 410.
func TestMarketplaceCLI(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startMarketplace(t, eng)
		e.CreateKey(t, 9) // user 9 is known to reports
		out := mpCLI(t, e, "installations", "create", "--partner", "Edge Co", "--user", "9", "--currency", "JPY")
		m := regexp.MustCompile(`installation (icfg_[a-z0-9]+) of partner Edge Co for user 9 \(JPY\)\n.*\n(\S+)\n$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("installations create printed %q", out)
		}
		id, token := m[1], m[2]

		body := `{"timestamp":"2026-12-01T12:00:00.000Z","eod":"2026-12-02T00:00:00.000Z","period":{"start":"2026-12-01T00:00:00.000Z","end":"2027-01-01T00:00:00.000Z"},` +
			`"billing":[{"billingPlanId":"p","name":"Edge requests","price":"150","quantity":2.5,"units":"M","total":"375"},` +
			`{"billingPlanId":"p","name":"Edge storage","price":"100","quantity":3,"units":"GB","total":"290"}],"usage":[]}`
		r := e.mpRequest(t, http.MethodPost, "/v1/installations/"+id+"/billing", token, []byte(body))
		e2etest.MustStatus(t, r, http.StatusCreated, "billing of the CLI's installation")
		if !strings.Contains(string(r.Body), `"field":"billing.items[1].total"`) || strings.Contains(string(r.Body), "items[0]") {
			t.Errorf("anomalies: %s", r.Body)
		}

		if out := mpCLI(t, e, "installations", "list", "--user", "9"); !strings.Contains(out, id) || !strings.Contains(out, "Edge Co") {
			t.Errorf("installations list: %s", out)
		}
		show := mpCLI(t, e, "installations", "show", id, "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-01T23:59:59Z")
		testutil.Golden(t, filepath.Join("testdata", "marketplace", "cli_show.golden"), []byte(strings.ReplaceAll(show, id, "icfg_EDGE")))

		report := mpCLI(t, e, "report", "--user", "9", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-31T23:59:59Z")
		for _, want := range []string{"TOTAL 0.00000000", "PARTNER CHARGES", "PARTNER TOTAL JPY: invoiced 0, refunded 0, interim 665"} {
			if !strings.Contains(report, want) {
				t.Errorf("report does not say %q:\n%s", want, report)
			}
		}

		mpCLI(t, e, "installations", "uninstall", id)
		r = e.mpRequest(t, http.MethodPost, "/v1/installations/"+id+"/billing", token, []byte(body))
		e2etest.MustStatus(t, r, http.StatusGone, "billing after uninstall")
	})
}
