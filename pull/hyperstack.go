package pull

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// Hyperstack pulls /v1/billing/billing/usage from a Hyperstack-compatible endpoint.
//
// That answer holds each resource's totals over its whole life (total_bill, and
// total_up_time in minutes) as of the request. A pull imports, for each resource, what
// its totals grew by since the last pull of the same source: the first pull of a
// resource its whole totals, from its create_time; a later one the increase, from the
// end of the last. So the records of a resource always sum to the totals the source
// last gave, and pulling again from an unchanged source imports nothing.
type Hyperstack struct {
	// Endpoint is the base URL, with or without its /v1.
	Endpoint string
	// APIKey is sent in the api_key header.
	APIKey string
	// Source tags the records (default "hyperstack " + the endpoint).
	Source string
	// UserID, when above 0, is the local user of every record; else each record's
	// organization_id is (by default each user is its own organization).
	UserID int64
	Client *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// URL is the usage URL the connector calls.
func (h Hyperstack) URL() string {
	e := strings.TrimRight(h.Endpoint, "/")
	if !strings.HasSuffix(e, "/v1") {
		e += "/v1"
	}
	return e + "/billing/billing/usage"
}

// SourceName is the tag of the records.
func (h Hyperstack) SourceName() string {
	if h.Source != "" {
		return h.Source
	}
	return "hyperstack " + strings.TrimSuffix(h.URL(), "/billing/billing/usage")
}

type usageAnswer struct {
	Status  bool         `json:"status"`
	Message string       `json:"message"`
	Data    []usageEntry `json:"data"`
}

type usageEntry struct {
	ResourceID     flex   `json:"resource_id"`
	ResourceType   string `json:"resource_type"`
	Name           string `json:"name"`
	OrganizationID flex   `json:"organization_id"`
	BillPerMinute  *flex  `json:"bill_per_minute"`
	CreateTime     string `json:"create_time"`
	TerminateTime  string `json:"terminate_time"`
	TotalUpTime    flex   `json:"total_up_time"`
	TotalBill      flex   `json:"total_bill"`
	ExcludeBilling bool   `json:"exclude_billing"`
}

// hyperstackTime reads a Hyperstack timestamp: 2006-01-02T15:04:05 in UTC (a zone
// suffix is accepted too).
func hyperstackTime(field, s string) (int64, error) {
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Unix(), nil
		}
	}
	return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q is not a timestamp such as 2023-08-23T15:36:10", field, s)
}

// Pull imports the growth of every resource's totals since the last pull.
//
// Errors: KindUnavailable when the endpoint cannot be reached or fails; KindInvalid for
// an answer that is not a usage list.
func (h Hyperstack) Pull(ctx context.Context, svc *service.Service, progress Progress) (Result, error) {
	res := Result{Source: h.SourceName()}
	req, err := http.NewRequest(http.MethodGet, h.URL(), nil)
	if err != nil {
		return res, cloudmeter.Errorf(cloudmeter.KindInvalid, "--endpoint: %v", err)
	}
	req.Header.Set("api_key", h.APIKey)
	req.Header.Set("Accept", "application/json")
	var ans usageAnswer
	if err := do(ctx, defaultClient(h.Client), req, &ans); err != nil {
		return res, err
	}
	if !ans.Status {
		return res, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: status false: %s", h.URL(), ans.Message)
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	pulledAt := now().Unix()
	totals, err := svc.PulledTotals(ctx, service.SystemKey, res.Source)
	if err != nil {
		return res, err
	}
	byUser := map[int64][]cloudmeter.PulledRecord{}
	for i, e := range ans.Data {
		what := fmt.Sprintf("data[%d]", i)
		r, warn, err := h.record(what, e, totals, pulledAt)
		if err != nil {
			return res, err
		}
		res.Warnings = append(res.Warnings, warn...)
		if r != nil {
			r.Source = res.Source
			byUser[r.UserID] = append(byUser[r.UserID], *r)
		}
	}
	users := make([]int64, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	if progress != nil {
		progress(0, len(users))
	}
	for i, user := range users {
		recs := byUser[user]
		// One window per pull and user: from the end of the last one to now.
		ws, err := svc.PullWindows(ctx, service.SystemKey, res.Source, user)
		if err != nil {
			return res, err
		}
		from := int64(0)
		if len(ws) > 0 {
			from = ws[len(ws)-1].To + 1
		}
		w := cloudmeter.PullWindow{Source: res.Source, UserID: user, From: from, To: max(pulledAt, from), PulledAt: pulledAt}
		if err := res.imported(ctx, svc, w, recs); err != nil {
			return res, err
		}
		if progress != nil {
			progress(i+1, len(users))
		}
	}
	return res, nil
}

// record is the increase of one resource's totals since the last pull; nil when they
// did not grow.
func (h Hyperstack) record(what string, e usageEntry, totals map[int64]cloudmeter.PulledTotal, pulledAt int64) (*cloudmeter.PulledRecord, []string, error) {
	id, err := strconv.ParseInt(string(e.ResourceID), 10, 64)
	if err != nil {
		return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s.resource_id: %q is not an id", what, e.ResourceID)
	}
	var typ cloudmeter.ResourceType
	switch e.ResourceType {
	case "vm":
		typ = cloudmeter.ResourceInstance
	case "volume":
		typ = cloudmeter.ResourceDrive
	default:
		return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s.resource_type: %q is neither vm nor volume", what, e.ResourceType)
	}
	user := h.UserID
	if user <= 0 {
		if user, err = strconv.ParseInt(string(e.OrganizationID), 10, 64); err != nil || user <= 0 {
			return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s.organization_id: %q is not an id above 0 (or pull with --user)", what, e.OrganizationID)
		}
	}
	created, err := hyperstackTime(what+".create_time", e.CreateTime)
	if err != nil {
		return nil, nil, err
	}
	end := pulledAt
	if e.TerminateTime != "" {
		if end, err = hyperstackTime(what+".terminate_time", e.TerminateTime); err != nil {
			return nil, nil, err
		}
	}
	var warnings []string
	bill, rounded, err := amount(what+".total_bill", string(e.TotalBill))
	if err != nil {
		return nil, nil, err
	}
	if rounded {
		warnings = append(warnings, fmt.Sprintf("%s.total_bill %s has more than 8 decimal places: rounded half-up to 8", what, e.TotalBill))
	}
	upSeconds, err := minutesToSeconds(what+".total_up_time", string(e.TotalUpTime))
	if err != nil {
		return nil, nil, err
	}
	prev := totals[id]
	dCost, dSeconds := bill-prev.Cost, upSeconds-prev.Quantity
	if dCost == 0 && dSeconds == 0 {
		return nil, warnings, nil
	}
	if dCost < 0 || dSeconds < 0 {
		return nil, append(warnings, fmt.Sprintf("%s (%s %d): the totals went down since the last pull (bill %s, was %s): not imported",
			what, e.ResourceType, id, bill, prev.Cost)), nil
	}
	start := created
	if prev.LastEnd > 0 {
		start = prev.LastEnd + 1
	}
	end = max(end, start)
	r := &cloudmeter.PulledRecord{UserID: user, InfrastructureID: 0, InfrastructureLabel: "hyperstack", Type: typ, ProductID: id, Label: e.Name,
		Start: start, End: end, Quantity: dSeconds, MeasurementPeriod: 3600, Cost: dCost}
	// The hourly rate: bill_per_minute x 60 while the resource runs, else what the
	// increase averages to (shown only; the cost is the source's).
	if e.BillPerMinute != nil && *e.BillPerMinute != "" {
		if perMinute, _, err := amount(what+".bill_per_minute", string(*e.BillPerMinute)); err == nil && perMinute < (1<<63-1)/60 {
			r.CostPerUnit = perMinute * 60
		}
	} else if dSeconds > 0 && int64(dCost) < (1<<63-1)/3600 {
		r.CostPerUnit = money.Amount((int64(dCost)*3600 + dSeconds/2) / dSeconds)
	}
	return r, warnings, nil
}

// minutesToSeconds reads a number of minutes as whole seconds, rounded half-up.
func minutesToSeconds(field, s string) (int64, error) {
	v, _, err := decimalScaled(field, s, 8)
	if err != nil {
		return 0, err
	}
	// v is minutes in 1e-8; seconds = v x 60 / 1e8, rounded half-up.
	const scale = 100_000_000
	if v > (1<<63-1)/60 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q is too large", field, s)
	}
	return (v*60 + scale/2) / scale, nil
}
