package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/service"
)

// resourceContent is one resource over a month: its segments as the Hyperstack
// per-resource view prices them (service.ProductUsage), what began each, and its cost.
type resourceContent struct {
	ProductID                int64
	UserID, InfrastructureID int64
	Type                     cloudmeter.ResourceType
	Label, Datacenter, State string
	Provisioned, Deleted     string
	Month, MonthTitle        string
	Prev, Next               string
	From, To                 string
	Cost                     figure
	Segments                 []segmentRow
	Chart                    any
	TrafficHref, LinesHref   string
	Seconds                  []stateSeconds
}

type segmentRow struct {
	Cause, State, Attributes string
	Start, End, Quantity     string
	CostPerUnit, Cost        string
	Unpriced                 string
}

type stateSeconds struct {
	State   cloudmeter.State
	Seconds string
}

func (h *handler) resource(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := parseID("product_id", r.PathValue("product_id"))
	if err != nil {
		return err
	}
	m, err := parseMonth(r.URL.Query().Get("month"), c.now)
	if err != nil {
		return err
	}
	p, err := h.svc.ProductUsage(r.Context(), c.key, id, m.Start(), m.End())
	if err != nil {
		return err
	}
	res := p.Resource
	rc := &resourceContent{ProductID: id, UserID: res.UserID, InfrastructureID: res.InfrastructureID, Type: res.Type, Label: res.Label,
		Datacenter: res.Datacenter, State: string(res.State), Provisioned: timeText(res.ProvisionedAt), Month: m.String(), MonthTitle: m.Title(),
		Prev: m.Prev().String(), Next: m.Next().String(), From: timeText(m.Start()), To: timeText(m.End()),
		Cost:      figure{"resource_cost", amountText(p.Cost, p.Currency)},
		LinesHref: fmt.Sprintf("%susers/%d/infrastructures/%d/lines?month=%s", Prefix, res.UserID, res.InfrastructureID, m)}
	if res.DeletedAt != 0 {
		rc.Deleted = timeText(res.DeletedAt)
		rc.State = "deleted (" + rc.State + " until then)"
	}
	if res.Type.Waypoint() {
		rc.TrafficHref = fmt.Sprintf("%susers/%d/traffic?month=%s#waypoint-%d", Prefix, res.UserID, m, id)
	}
	for _, st := range []cloudmeter.State{cloudmeter.StateActive, cloudmeter.StateStopped, cloudmeter.StateHibernated} {
		if n := p.Seconds.Of(st); n > 0 {
			rc.Seconds = append(rc.Seconds, stateSeconds{st, intText(n) + " s"})
		}
	}
	var segs []segment
	for i := range p.Records {
		rec := &p.Records[i]
		row := segmentRow{Cause: strings.ReplaceAll(string(p.Causes[i]), "_", " "), State: string(rec.State), Attributes: attributesText(rec.Attributes),
			Start: timeText(rec.Start), End: timeText(rec.End), Quantity: intText(rec.Quantity) + " s",
			CostPerUnit: amountText(rec.CostPerUnit, p.Currency), Cost: amountText(rec.Cost, p.Currency), Unpriced: rec.Unpriced}
		rc.Segments = append(rc.Segments, row)
		what := row.State
		if row.Attributes != "" {
			what += ", " + row.Attributes
		}
		segs = append(segs, segment{Start: rec.Start, End: rec.End, Class: "state-" + string(rec.State),
			Label: fmt.Sprintf("%s %s", dayText(rec.Start), row.Cause),
			Text:  fmt.Sprintf("%s to %s: %s, %s", row.Start, row.End, what, row.Cost)})
	}
	rc.Chart = timeline(chart{ID: "timeline", Title: fmt.Sprintf("Timeline of product %d in %s", id, m.Title()),
		Desc: "One bar per segment of the resource's life in the month, placed on the month's time axis and coloured by power state " +
			"(active, stopped, hibernated); each row is named by the day it began and what began it (a provision, a change of type or size, " +
			"a power event, a price change). The table below lists the segments."}, m.Start(), min(m.End(), c.now), segs, timeText(m.Start()), timeText(min(m.End(), c.now)))
	h.render(w, r, c, http.StatusOK, "resource", fmt.Sprintf("Product %d: %s", id, m.Title()), rc)
	return nil
}

// trafficContent is the traffic of a user's waypoints per UTC day of a month, as the
// native traffic series (GET /api/v1/resources/{id}/traffic?granularity=day) gives it.
type trafficContent struct {
	UserID            int64
	Month, MonthTitle string
	Prev, Next        string
	Waypoints         []waypointTraffic
}

type waypointTraffic struct {
	ProductID        int64
	Label            string
	Type             cloudmeter.ResourceType
	Download, Upload string
	Days             []trafficDay
	Chart            any
	ResourceHref     string
}

type trafficDay struct {
	Day, Download, Upload string
}

func (h *handler) traffic(w http.ResponseWriter, r *http.Request, c *call) error {
	user, err := parseID("user_id", r.PathValue("user_id"))
	if err != nil {
		return err
	}
	m, err := parseMonth(r.URL.Query().Get("month"), c.now)
	if err != nil {
		return err
	}
	u, err := h.svc.Utilization(r.Context(), c.key, service.ReportRequest{UserID: user, Start: m.Start(), End: m.End()})
	if err != nil {
		return err
	}
	// The waypoints of the month: those the report bills traffic or time for.
	var ids []int64
	for _, t := range u.Traffic {
		ids = append(ids, t.Waypoint.ProductID)
	}
	for _, rec := range u.Records {
		if rec.Type.Waypoint() {
			ids = append(ids, rec.ProductID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	tc := &trafficContent{UserID: user, Month: m.String(), MonthTitle: m.Title(), Prev: m.Prev().String(), Next: m.Next().String()}
	to := min(m.End(), c.now)
	for _, id := range ids {
		if to < m.Start() {
			break
		}
		v, err := h.svc.Traffic(r.Context(), c.key, service.TrafficRequest{ProductID: id, From: m.Start(), To: to, Granularity: "day"})
		if err != nil {
			return err
		}
		wt := waypointTraffic{ProductID: id, Label: v.Resource.Label, Type: v.Resource.Type,
			Download: intText(v.Download) + " bytes", Upload: intText(v.Upload) + " bytes", ResourceHref: fmt.Sprintf("%sresources/%d?month=%s", Prefix, id, m)}
		var bars []bar
		for _, p := range v.Points {
			d := trafficDay{dayText(p.Start), intText(p.Download) + " bytes", intText(p.Upload) + " bytes"}
			wt.Days = append(wt.Days, d)
			bars = append(bars, bar{Label: d.Day[8:], Values: []int64{p.Download, p.Upload}, Texts: []string{"download " + d.Download, "upload " + d.Upload}})
		}
		wt.Chart = columns(chart{ID: fmt.Sprintf("traffic-%d", id), Title: fmt.Sprintf("Traffic of %s (product %d) per day, %s", v.Resource.Label, id, m.Title()),
			Desc:   "For each UTC day, the bytes downloaded and uploaded, side by side. The table below gives each day's figures.",
			Series: []string{"download", "upload"}}, bars, "")
		tc.Waypoints = append(tc.Waypoints, wt)
	}
	h.render(w, r, c, http.StatusOK, "traffic", fmt.Sprintf("User %d: traffic of %s", user, m.Title()), tc)
	return nil
}

// anomaliesContent is what was not billed and why, newest first (GET /api/v1/anomalies).
type anomaliesContent struct {
	UserID    int64 // 0: every user the key may read
	Anomalies []anomalyRow
}

type anomalyRow struct {
	Time, Kind, Message, Event string
	UserID, ProductID          int64
}

func (h *handler) anomalies(w http.ResponseWriter, r *http.Request, c *call) error {
	var q cloudmeter.AnomalyQuery
	if s := r.URL.Query().Get("user"); s != "" {
		id, err := parseID("user", s)
		if err != nil {
			return err
		}
		q.UserID = id
	}
	list, err := h.svc.Anomalies(r.Context(), c.key, q)
	if err != nil {
		return err
	}
	slices.SortStableFunc(list, func(a, b cloudmeter.Anomaly) int { return cmp.Compare(b.Time, a.Time) })
	ac := &anomaliesContent{UserID: q.UserID}
	for _, a := range list {
		row := anomalyRow{Time: timeText(a.Time), Kind: strings.ReplaceAll(string(a.Kind), "_", " "), Message: a.Message, UserID: a.UserID, ProductID: a.ProductID}
		if a.EventID != "" {
			row.Event = a.EventSource + " " + a.EventID
		}
		ac.Anomalies = append(ac.Anomalies, row)
	}
	h.render(w, r, c, http.StatusOK, "anomalies", "Anomalies", ac)
	return nil
}

// usersContent is the key's own user and organization, and for a key that reads every
// user a form to open any.
type usersContent struct {
	CSRF           string
	Own            int64
	OrganizationID int64
	Users          []int64
	ReadsAll       bool
	Month          string
}

func (h *handler) users(w http.ResponseWriter, r *http.Request, c *call) error {
	mem, err := h.svc.Organization(r.Context(), c.key, c.key.UserID)
	if err != nil {
		return err
	}
	uc := &usersContent{CSRF: c.sess.csrf, Own: c.key.UserID, OrganizationID: mem.OrganizationID, Users: mem.Users,
		ReadsAll: c.key.Has(cloudmeter.PermUtilizationReportsRead), Month: parseMonthOrNow(c.now)}
	h.render(w, r, c, http.StatusOK, "users", "Users", uc)
	return nil
}

// openUser answers the form of the users page (a POST, with its CSRF token, like every
// form): it sends the browser to the overview of the user and month asked for, which the
// service then allows or refuses.
func (h *handler) openUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := parseID("user", r.PostFormValue("user"))
	if err != nil {
		return err
	}
	m, err := parseMonth(r.PostFormValue("month"), c.now)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("%soverview?user=%d&month=%s", Prefix, id, m), http.StatusSeeOther)
	return nil
}

func parseMonthOrNow(now int64) string {
	m, _ := parseMonth("", now)
	return m.String()
}

// pricesContent lists the kept price book versions and the difference between two.
type pricesContent struct {
	CSRF     string
	Versions []versionRow
	From, To int64
	Diff     *bookDiff
}

type versionRow struct {
	Version int64
	Created string
}

type bookDiff struct {
	FromCurrency, ToCurrency string
	Removed, Added           []entryRow
	Unchanged                int
}

type entryRow struct {
	ResourceType, Conditions, Price, Unit, Period, ValidFrom, ValidUntil string
}

func (h *handler) prices(w http.ResponseWriter, r *http.Request, c *call) error {
	versions, err := h.svc.PriceBookVersions(r.Context(), c.key)
	if err != nil {
		return err
	}
	pc := &pricesContent{CSRF: c.sess.csrf}
	for _, v := range versions {
		pc.Versions = append(pc.Versions, versionRow{v.Version, timeText(v.CreatedAt)})
	}
	q := r.URL.Query()
	if len(versions) > 0 {
		pc.To = versions[0].Version
		pc.From = pc.To
		if len(versions) > 1 {
			pc.From = versions[1].Version
		}
	}
	if s := q.Get("from"); s != "" {
		if pc.From, err = parseID("from", s); err != nil {
			return err
		}
	}
	if s := q.Get("to"); s != "" {
		if pc.To, err = parseID("to", s); err != nil {
			return err
		}
	}
	if pc.To > 0 {
		if pc.Diff, err = h.diff(r, c, pc.From, pc.To); err != nil {
			return err
		}
	}
	h.render(w, r, c, http.StatusOK, "prices", "Price books", pc)
	return nil
}

// comparePrices answers the form of the price books page: it sends the browser to the
// difference between the two versions chosen.
func (h *handler) comparePrices(w http.ResponseWriter, r *http.Request, c *call) error {
	from, err := parseID("from", r.PostFormValue("from"))
	if err != nil {
		return err
	}
	to, err := parseID("to", r.PostFormValue("to"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("%sadmin/prices?from=%d&to=%d#diff-heading", Prefix, from, to), http.StatusSeeOther)
	return nil
}

// diff compares two versions entry by entry: an entry of one that the other does not
// hold, field for field, is removed or added.
func (h *handler) diff(r *http.Request, c *call, from, to int64) (*bookDiff, error) {
	books := make([]*pricebook.Book, 2)
	for i, v := range []int64{from, to} {
		stored, err := h.svc.PriceBookAt(r.Context(), c.key, v)
		if err != nil {
			return nil, err
		}
		if books[i], err = pricebook.Parse(stored.Body); err != nil {
			return nil, cloudmeter.Internal(fmt.Errorf("price book version %d: %w", v, err))
		}
	}
	lines := func(b *pricebook.Book) map[string]int {
		out := map[string]int{}
		for _, e := range b.Entries {
			j, _ := json.Marshal(e)
			out[string(j)]++
		}
		return out
	}
	a, b := lines(books[0]), lines(books[1])
	d := &bookDiff{FromCurrency: books[0].Currency, ToCurrency: books[1].Currency}
	for _, e := range books[0].Entries {
		j, _ := json.Marshal(e)
		if b[string(j)] > 0 {
			b[string(j)]--
			d.Unchanged++
		} else {
			d.Removed = append(d.Removed, entryRowOf(e))
		}
	}
	b = lines(books[1])
	for _, e := range books[1].Entries {
		j, _ := json.Marshal(e)
		if a[string(j)] > 0 {
			a[string(j)]--
		} else {
			d.Added = append(d.Added, entryRowOf(e))
		}
	}
	return d, nil
}

func entryRowOf(e *pricebook.Entry) entryRow {
	var cond []string
	add := func(name string, v *string) {
		if v != nil {
			cond = append(cond, name+" "+*v)
		}
	}
	if e.ServerTypeID != nil {
		cond = append(cond, fmt.Sprintf("server type %d", *e.ServerTypeID))
	}
	add("storage", e.StorageType)
	add("subnet", e.SubnetType)
	add("state", e.State)
	add("direction", e.Direction)
	add("datacenter", e.Datacenter)
	if e.UserID != nil {
		cond = append(cond, fmt.Sprintf("user %d", *e.UserID))
	}
	row := entryRow{ResourceType: string(e.ResourceType), Conditions: strings.Join(cond, ", "), Price: e.Price.String(), Unit: string(e.Unit)}
	if e.PeriodSeconds > 0 {
		row.Period = fmt.Sprintf("%d s", e.PeriodSeconds)
	}
	if e.ValidFrom != nil {
		row.ValidFrom = timeText(e.From())
	}
	if e.ValidUntil != nil {
		row.ValidUntil = timeText(e.Until())
	}
	return row
}

// keysContent lists the API keys by user, without their secrets (only ids, never hashes).
type keysContent struct {
	Keys []keyRow
}

type keyRow struct {
	ID, Label, Permissions, Created, Revoked string
	UserID                                   int64
}

func (h *handler) keys(w http.ResponseWriter, r *http.Request, c *call) error {
	keys, err := h.svc.Keys(r.Context(), c.key)
	if err != nil {
		return err
	}
	slices.SortStableFunc(keys, func(a, b cloudmeter.APIKey) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.CreatedAt, b.CreatedAt), strings.Compare(a.Label, b.Label), strings.Compare(a.ID, b.ID))
	})
	kc := &keysContent{}
	for _, k := range keys {
		row := keyRow{ID: k.ID, Label: k.Label, UserID: k.UserID, Permissions: permissionsText(k), Created: timeText(k.CreatedAt)}
		if k.RevokedAt != 0 {
			row.Revoked = timeText(k.RevokedAt)
		}
		kc.Keys = append(kc.Keys, row)
	}
	h.render(w, r, c, http.StatusOK, "keys", "API keys", kc)
	return nil
}
