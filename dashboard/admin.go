package dashboard

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
)

// The admin pages of the marketplace installations and of the export targets. Each asks
// the service what the native API answers (GET /api/v1/installations and
// /api/v1/installations/{id}/billing, GET /api/v1/exports), with the signed-in key, so
// the service's permission checks decide who opens them: both need admin.

// billingWindow is the window of billing data the installations page reads: the 31 days
// up to now, as GET /api/v1/installations/{id}/billing answers by default.
const billingWindow = 31 * 86400

// installationsContent lists the installations, and for each what it submitted.
type installationsContent struct {
	From, To      string
	Installations []installationRow
}

type installationRow struct {
	ID, Partner, Currency            string
	UserID                           int64
	Installed, Uninstalled, Finalize string
	// Anchor is the id of the installation's section.
	Anchor string
	// Billing is the latest kept billing data of a day and of a month (each when there
	// is one in the window).
	Billing  []billingRow
	Invoices []invoiceRow
}

type billingRow struct {
	Figure                                  string // data-figure of the total
	Slot, Start, EOD, Period                string
	ItemsTotal, DiscountsTotal, Total, Recv string
	Items                                   int
	Anomalies                               int
}

type invoiceRow struct {
	ID, ExternalID, State, Date, Period string
	Total, Refunded                     string
	Test                                bool
}

func (h *handler) installations(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := h.svc.Installations(r.Context(), c.key, 0)
	if err != nil {
		return err
	}
	// By user, then as installed: ids are random.
	slices.SortStableFunc(list, func(a, b cloudmeter.Installation) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.CreatedAt, b.CreatedAt), strings.Compare(a.Partner, b.Partner), strings.Compare(a.ID, b.ID))
	})
	from, to := c.now-billingWindow, c.now
	ic := &installationsContent{From: timeText(from), To: timeText(to)}
	for _, in := range list {
		b, err := h.svc.Installation(r.Context(), c.key, in.ID, from, to)
		if err != nil {
			return err
		}
		row := installationRow{ID: in.ID, Partner: in.Partner, Currency: in.Currency, UserID: in.UserID, Installed: timeText(in.CreatedAt),
			Anchor: "installation-" + in.ID}
		if in.UninstalledAt != 0 {
			row.Uninstalled = timeText(in.UninstalledAt)
		}
		if in.FinalizedAt != 0 {
			row.Finalize = timeText(in.FinalizedAt)
		}
		if n := len(b.Days); n > 0 {
			row.Billing = append(row.Billing, billingRowOf("day", b.Days[n-1], in))
		}
		if n := len(b.Months); n > 0 {
			row.Billing = append(row.Billing, billingRowOf("month", b.Months[n-1], in))
		}
		for _, inv := range b.Invoices {
			row.Invoices = append(row.Invoices, invoiceRow{ID: inv.ID, ExternalID: inv.ExternalID, State: string(inv.State),
				Date: millisText(inv.InvoiceDate), Period: millisText(inv.PeriodStart) + " to " + millisText(inv.PeriodEnd),
				Total: inv.Total.String() + " " + in.Currency, Refunded: inv.Refunded.String() + " " + in.Currency, Test: inv.Test})
		}
		ic.Installations = append(ic.Installations, row)
	}
	h.render(w, r, c, http.StatusOK, "installations", "Installations", ic)
	return nil
}

// billingRowOf is the kept billing data of a slot, its amounts as the API writes them
// (the partner's, exact) with the installation's currency.
func billingRowOf(slot string, b cloudmeter.StoredBilling, in cloudmeter.Installation) billingRow {
	currency := in.Currency
	start := dayText(b.Start)
	if slot == "month" {
		start = time.Unix(b.Start, 0).UTC().Format("January 2006")
	}
	return billingRow{Figure: in.ID + ":" + slot + "_total", Slot: "of a " + slot, Start: start, EOD: millisText(b.EOD), Period: millisText(b.PeriodStart) + " to " + millisText(b.PeriodEnd),
		ItemsTotal: b.ItemsTotal.String() + " " + currency, DiscountsTotal: b.DiscountsTotal.String() + " " + currency,
		Total: b.Total().String() + " " + currency, Recv: timeText(b.ReceivedAt), Items: b.Items, Anomalies: len(b.Anomalies)}
}

// exportsContent lists the export targets (never their tokens) and their last delivery.
type exportsContent struct {
	Targets []exportRow
}

type exportRow struct {
	ID, URL, ConfigurationID        string
	Users, Infrastructures          string
	Schedule, NextRun, OpenPeriod   string
	LastSent                        string
	Sent, Failed, Pending           string
	OldestPending, OldestPendingAge string
	Failure                         *failureRow
}

type failureRow struct {
	Seq, Attempts      int64
	Kind, Period, Made string
	Reason             string
}

func (h *handler) exports(w http.ResponseWriter, r *http.Request, c *call) error {
	sts, err := h.svc.ExportStatuses(r.Context(), c.key)
	if err != nil {
		return err
	}
	ec := &exportsContent{}
	for _, st := range sts {
		t := st.Target
		// Only what the API shows: t.Token is never read here.
		row := exportRow{ID: t.ID, URL: t.URL, ConfigurationID: t.ConfigurationID, Users: idsText(t.Users), Infrastructures: idsText(t.Infrastructures),
			Schedule: fmt.Sprintf("every %s (%s s)", durationText(t.Schedule), intText(t.Schedule)), NextRun: timeText(t.NextRunAt), OpenPeriod: t.OpenPeriod,
			Sent: intText(st.Sent), Failed: intText(st.Failed), Pending: intText(st.Pending)}
		if row.Infrastructures == "" {
			row.Infrastructures = "all of theirs"
		}
		if st.LastSentAt != 0 {
			row.LastSent = timeText(st.LastSentAt)
		}
		if st.OldestPendingAt != 0 {
			row.OldestPending = timeText(st.OldestPendingAt)
			row.OldestPendingAge = durationText(max(c.now-st.OldestPendingAt, 0))
		}
		if f := st.LastFailure; f != nil {
			row.Failure = &failureRow{Seq: f.Seq, Attempts: f.Attempts, Kind: string(f.Kind), Period: f.Period, Made: timeText(f.CreatedAt), Reason: f.LastError}
		}
		ec.Targets = append(ec.Targets, row)
	}
	h.render(w, r, c, http.StatusOK, "exports", "Export targets", ec)
	return nil
}

// millisText writes unix milliseconds (the marketplace's times) in UTC with the zone
// written out; the milliseconds only when there are some.
func millisText(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04:05") + " UTC"
	}
	return t.Format("2006-01-02 15:04:05.000") + " UTC"
}

// idsText writes ids separated by commas.
func idsText(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

// durationText writes seconds as days, hours, minutes and seconds, the two largest
// units that are not zero ("2 d 3 h", "1 h", "45 s").
func durationText(s int64) string {
	units := []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}}
	var parts []string
	for _, u := range units {
		if len(parts) == 2 {
			break
		}
		if q := s / u.n; q > 0 || len(parts) > 0 {
			if q > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", q, u.name))
			} else {
				parts = append(parts, "")
			}
			s -= q * u.n
		}
	}
	out := strings.TrimSpace(strings.Join(parts, " "))
	if out == "" {
		return "0 s"
	}
	return out
}
