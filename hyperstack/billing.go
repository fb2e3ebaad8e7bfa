package hyperstack

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
)

// The Hyperstack view of cloudmeter's resource types: instances are virtual machines
// ("vm"), drives and shared drives are volumes ("volume"). Other types have no place in
// this API.
const (
	typeVM     = "vm"
	typeVolume = "volume"
)

var (
	vmTypes     = []cloudmeter.ResourceType{cloudmeter.ResourceInstance}
	volumeTypes = []cloudmeter.ResourceType{cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive}
	allTypes    = append(slices.Clone(vmTypes), volumeTypes...)
)

func wireType(t cloudmeter.ResourceType) string {
	if t == cloudmeter.ResourceInstance {
		return typeVM
	}
	return typeVolume
}

// Paging of the resource lists.
const (
	DefaultPerPage = 10
	MaxPerPage     = 1000
)

// ---------------------------------------------------------------------------------------
// Query parameters.

// orgParam reads organization_id, cloudmeter's own parameter: a key with
// utilization_reports_read narrows its view to one organization with it; any key may
// name its own.
func orgParam(q url.Values) (int64, error) {
	s := q.Get("organization_id")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "organization_id: %s must be a whole number above 0", strconv.Quote(s))
	}
	return n, nil
}

// parseDate reads a start_date or end_date: YYYY-MM-DDTHH:MM:SS in UTC (a fraction of a
// second is truncated).
func parseDate(name, s string) (int64, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %s is not a date and time such as 2026-11-01T00:00:00 (YYYY-MM-DDTHH:MM:SS, UTC, no zone)",
			name, strconv.Quote(s)).About(cloudmeter.SubjectTimestamp)
	}
	return t.Unix(), nil
}

// window reads start_date and end_date: by default the current UTC month up to now.
func (a *api) window(q url.Values) (start, end int64, err error) {
	now := a.svc.Now()
	start, end = service.MonthStart(now), now
	if s := q.Get("start_date"); s != "" {
		if start, err = parseDate("start_date", s); err != nil {
			return 0, 0, err
		}
	}
	if s := q.Get("end_date"); s != "" {
		if end, err = parseDate("end_date", s); err != nil {
			return 0, 0, err
		}
	}
	if end < start {
		return 0, 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "end_date: %s is before start_date %s", formatTime(end), formatTime(start))
	}
	return start, end, nil
}

// boolParam reads an optional true or false.
func boolParam(q url.Values, name string) (value, set bool, err error) {
	switch s := q.Get(name); strings.ToLower(s) {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	default:
		return false, false, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %s must be true or false", name, strconv.Quote(s))
	}
}

// intParam reads an optional whole number of at least lo and at most hi.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %s must be a whole number from %d to %d", name, strconv.Quote(s), lo, hi)
	}
	return n, nil
}

// pathID reads the {id} of a route.
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "id: %s must be a whole number above 0", strconv.Quote(s))
	}
	return n, nil
}

// ---------------------------------------------------------------------------------------
// Amounts derived from a record.

// perPeriod is what length seconds of a record's price cost: the cost of that many
// seconds by the rating rule (DESIGN 2.3).
func perPeriod(rec *report.Record, length int64) money.Amount {
	if rec == nil {
		return 0
	}
	c, err := money.Cost(length, rec.MeasurementPeriod, rec.CostPerUnit)
	if err != nil {
		return money.Amount(1<<63 - 1)
	}
	return c
}

func hours(seconds int64) Number   { return Number(service.Duration(seconds, 3600)) }
func minutes(seconds int64) Number { return Number(service.Duration(seconds, 60)) }

// status is a resource's Hyperstack status at the end of a window.
func status(r *cloudmeter.Resource) string {
	switch {
	case r.DeletedAt != 0:
		return "DELETED"
	case r.State == cloudmeter.StateStopped:
		return "SHUTOFF"
	case r.State == cloudmeter.StateHibernated:
		return "HIBERNATED"
	}
	return "ACTIVE"
}

func details(r *cloudmeter.Resource) detailAttributes {
	return detailAttributes{ID: strconv.FormatInt(r.ProductID, 10), InfrahubID: r.ProductID, ResourceName: r.Label}
}

// ---------------------------------------------------------------------------------------
// The routes.

// usage answers GET /billing/billing/usage: every VM and volume of the caller's view
// over its whole life up to now. deleted=true keeps the terminated ones, deleted=false
// the others; environment keeps those of one infrastructure (id or label).
func (a *api) usage(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	q := r.URL.Query()
	deleted, filter, err := boolParam(q, "deleted")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	org, err := orgParam(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Usage(r.Context(), key, service.UsageQuery{Organization: org, Types: allTypes, Environment: q.Get("environment"), Unbounded: true})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := usageResponse{envelope: ok(), Data: []usageItem{}}
	for i := range v.Resources {
		ru := &v.Resources[i]
		res := &ru.Resource
		terminated := res.DeletedAt != 0
		if filter && terminated != deleted {
			continue
		}
		item := usageItem{ResourceID: res.ProductID, ResourceType: wireType(res.Type), Name: res.Label, OrganizationID: ru.OrgID,
			CreateTime: At(res.ProvisionedAt), TotalUpTime: minutes(ru.Seconds.Active), TotalBill: Number(ru.Cost),
			Active: !terminated && res.State == cloudmeter.StateActive && res.ProvisionedAt <= v.Now, ExcludeBilling: res.ExcludeBilling}
		if terminated {
			item.TerminateTime = At(res.DeletedAt)
		} else if last := ru.Last(); last != nil {
			perMinute := Number(perPeriod(last, 60))
			item.BillPerMinute = &perMinute
		}
		out.Data = append(out.Data, item)
	}
	writeJSON(w, http.StatusOK, out)
}

// lastDayCost answers GET /billing/billing/last-day-cost: the cost of the previous UTC
// day, by type.
func (a *api) lastDayCost(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	org, err := orgParam(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	today := service.DayStart(a.svc.Now())
	v, err := a.svc.Usage(r.Context(), key, service.UsageQuery{Organization: org, Types: allTypes, Start: today - service.SecondsPerDay, End: today - 1})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var vm, volume []money.Amount
	for _, ru := range v.Resources {
		if ru.Resource.Type == cloudmeter.ResourceInstance {
			vm = append(vm, ru.Cost)
		} else {
			volume = append(volume, ru.Cost)
		}
	}
	vmCost, volumeCost, total, err := sums(vm, volume)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, lastDayCostResponse{envelope: ok(), Data: lastDayCost{InstancesCost: Number(vmCost), VolumesCost: Number(volumeCost),
		TotalCost: Number(total)}})
}

// sums returns the sum of each list and of both.
func sums(a, b []money.Amount) (sa, sb, total money.Amount, err error) {
	if sa, err = money.SumAmounts(a...); err == nil {
		if sb, err = money.SumAmounts(b...); err == nil {
			total, err = sa.Add(sb)
		}
	}
	if err != nil {
		err = cloudmeter.Errorf(cloudmeter.KindInvalid, "the total does not fit: %v", err)
	}
	return
}

// history answers GET /billing/billing/history: the bill of each organization in view
// over the window (the caller's own, or with utilization_reports_read every
// organization with usage and the caller's), by type; graph=true adds the daily
// incurred_bill_graph.
func (a *api) history(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	q := r.URL.Query()
	start, end, err := a.window(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	graph, _, err := boolParam(q, "graph")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	org, err := orgParam(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Usage(r.Context(), key, service.UsageQuery{Organization: org, Types: allTypes, Start: start, End: end})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type orgUsage struct {
		vm, volume []money.Amount
		records    []report.Record
	}
	shown := v.Scope.OrgID
	if v.Scope.Asked != 0 {
		shown = v.Scope.Asked
	}
	byOrg := map[int64]*orgUsage{shown: {}}
	for _, ru := range v.Resources {
		o := byOrg[ru.OrgID]
		if o == nil {
			o = &orgUsage{}
			byOrg[ru.OrgID] = o
		}
		if ru.Resource.Type == cloudmeter.ResourceInstance {
			o.vm = append(o.vm, ru.Cost)
		} else {
			o.volume = append(o.volume, ru.Cost)
		}
		if graph {
			o.records = append(o.records, ru.Records...)
		}
	}
	orgs := make([]int64, 0, len(byOrg))
	for id := range byOrg {
		orgs = append(orgs, id)
	}
	slices.Sort(orgs)
	out := historyResponse{envelope: ok(), BillingHistory: orgHistory{BillingHistory: []orgHistoryItem{}, OrgID: shown}}
	for _, id := range orgs {
		o := byOrg[id]
		vm, volume, total, err := sums(o.vm, o.volume)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		item := orgHistoryItem{Attributes: idAttributes{ID: strconv.FormatInt(id, 10)},
			Metrics: orgMetrics{IncurredBill: Number(total), NonDiscountedBill: Number(total), VMCost: Number(vm), VolumeCost: Number(volume)}}
		if graph {
			if item.Metrics.IncurredBillGraph, err = dailyGraph(o.records, start, min(end, v.Now)); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		out.BillingHistory.BillingHistory = append(out.BillingHistory.BillingHistory, item)
	}
	out.BillingHistory.TotalCount = len(out.BillingHistory.BillingHistory)
	writeJSON(w, http.StatusOK, out)
}

// dailyGraph is the daily cost of records over [from, to], one point per UTC day.
func dailyGraph(recs []report.Record, from, to int64) ([]graphPoint, error) {
	days, err := service.DailyCosts(recs, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]graphPoint, len(days))
	for i, d := range days {
		out[i] = graphPoint{Datetime: formatTime(d.Day), Value: Number(d.Cost)}
	}
	return out, nil
}

func (a *api) vmHistory(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	h, err := a.resourceHistory(r, key, vmTypes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vmHistoryResponse{envelope: ok(), BillingHistoryVM: h})
}

func (a *api) volumeHistory(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	h, err := a.resourceHistory(r, key, volumeTypes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, volumeHistoryResponse{envelope: ok(), BillingHistoryVolume: h})
}

// resourceHistory lists the resources of types in view that were billed in the window,
// by id, one page of them: search keeps those whose name holds it (in any case) or whose
// id it is.
func (a *api) resourceHistory(r *http.Request, key cloudmeter.APIKey, types []cloudmeter.ResourceType) (resourceHistory, error) {
	q := r.URL.Query()
	var h resourceHistory
	start, end, err := a.window(q)
	if err != nil {
		return h, err
	}
	perPage, err := intParam(q, "per_page", DefaultPerPage, 1, MaxPerPage)
	if err != nil {
		return h, err
	}
	page, err := intParam(q, "page", 1, 1, 1<<31-1)
	if err != nil {
		return h, err
	}
	search := q.Get("search")
	if err := cloudmeter.CheckText("search", search, cloudmeter.MaxTextBytes); err != nil {
		return h, err
	}
	org, err := orgParam(q)
	if err != nil {
		return h, err
	}
	v, err := a.svc.Usage(r.Context(), key, service.UsageQuery{Organization: org, Types: types, Start: start, End: end})
	if err != nil {
		return h, err
	}
	h.OrgID = v.Scope.OrgID
	if v.Scope.Asked != 0 {
		h.OrgID = v.Scope.Asked
	}
	needle := strings.ToLower(search)
	var matched []*service.ResourceUsage
	for i := range v.Resources {
		ru := &v.Resources[i]
		if len(ru.Records) == 0 {
			continue // overlaps the window only after now
		}
		if search == "" || strings.Contains(strings.ToLower(ru.Resource.Label), needle) || strconv.FormatInt(ru.Resource.ProductID, 10) == search {
			matched = append(matched, ru)
		}
	}
	h.TotalCount = len(matched)
	h.Pagination = pagination{Page: page, PerPage: perPage, Pages: (len(matched) + perPage - 1) / perPage}
	h.BillingHistory = []resourceHistoryItem{}
	first := min(len(matched), (page-1)*perPage)
	for _, ru := range matched[first:min(len(matched), first+perPage)] {
		res := &ru.Resource
		h.BillingHistory = append(h.BillingHistory, resourceHistoryItem{
			Attributes: resourceAttributes{ID: strconv.FormatInt(res.ProductID, 10), InfrahubID: res.ProductID, ResourceName: res.Label, Status: status(res)},
			Metrics:    resourceMetrics{IncurredBill: Number(ru.Cost), PricePerHour: Number(perPeriod(ru.Last(), 3600)), UsageTime: hours(ru.Seconds.Total())},
		})
	}
	return h, nil
}

// product reads the {id} and the window of a per-resource route and returns the
// resource's usage, which must be of one of types (named what in the error).
func (a *api) product(r *http.Request, key cloudmeter.APIKey, types []cloudmeter.ResourceType, what string) (*service.ProductUsage, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	start, end, err := a.window(r.URL.Query())
	if err != nil {
		return nil, err
	}
	p, err := a.svc.ProductUsage(r.Context(), key, id, start, end)
	if cloudmeter.KindOf(err) == cloudmeter.KindNotFound || (err == nil && !slices.Contains(types, p.Resource.Type)) {
		return nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "%s %d not found", what, id)
	}
	return p, err
}

func (a *api) vmDetails(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	p, err := a.product(r, key, vmTypes, "virtual machine")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	price := Number(perPeriod(p.Last(), 3600))
	s := p.Seconds
	item := vmDetailsItem{Attributes: details(&p.Resource), Metrics: vmDetailsMetrics{IncurredBill: Number(p.Cost), NonDiscountedBill: Number(p.Cost),
		PricePerHour: price, NonDiscountedPricePerHour: price, UsageTime: hours(p.Seconds.Total()),
		UsageTimeActive: hours(s.Active), UsageTimeShutoff: hours(s.Stopped), UsageTimeHibernated: hours(s.Hibernated)}}
	writeJSON(w, http.StatusOK, vmDetailsResponse{envelope: ok(), Details: vmDetails{BillingHistory: []vmDetailsItem{item}, OrgID: p.OrgID, TotalCount: 1}})
}

func (a *api) volumeDetails(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	p, err := a.product(r, key, volumeTypes, "volume")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	price := Number(perPeriod(p.Last(), 3600))
	item := volumeDetailsItem{Attributes: details(&p.Resource), Metrics: volumeDetailsMetrics{IncurredBill: Number(p.Cost), NonDiscountedBill: Number(p.Cost),
		PricePerHour: price, NonDiscountedPricePerHour: price, UsageTime: hours(p.Seconds.Total())}}
	writeJSON(w, http.StatusOK, volumeDetailsResponse{envelope: ok(), Details: volumeDetails{BillingHistory: []volumeDetailsItem{item}, OrgID: p.OrgID, TotalCount: 1}})
}

// graph is the daily graph of one resource over the window (up to now).
func graph(p *service.ProductUsage) (graphDetails, error) {
	points, err := dailyGraph(p.Records, p.Start, min(p.End, p.Now))
	if err != nil {
		return graphDetails{}, err
	}
	return graphDetails{BillingHistory: []graphItem{{Attributes: details(&p.Resource), Metrics: graphMetrics{IncurredBill: Number(p.Cost), IncurredBillGraph: points}}},
		Granularity: service.SecondsPerDay, OrgID: p.OrgID, TotalCount: 1}, nil
}

func (a *api) vmGraph(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	p, err := a.product(r, key, vmTypes, "virtual machine")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := graph(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vmGraphResponse{envelope: ok(), Details: g})
}

func (a *api) volumeGraph(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	p, err := a.product(r, key, volumeTypes, "volume")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := graph(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, volumeGraphResponse{envelope: ok(), Details: g})
}

// events is one entry per segment of the resource in the window: what began it, how
// long it lasted in the window (hours), its price per hour and its cost.
func events(p *service.ProductUsage) []billingEvent {
	out := make([]billingEvent, len(p.Records))
	for i := range p.Records {
		rec := &p.Records[i]
		out[i] = billingEvent{Event: string(p.Causes[i]), EventDuration: hours(rec.Quantity), PricePerHour: Number(perPeriod(rec, 3600)),
			Start: formatTime(rec.Start), TotalCost: Number(rec.Cost)}
	}
	return out
}

// productEvents answers the billing-events route of one kind of resource (what names it
// in a not-found answer).
func (a *api) productEvents(types []cloudmeter.ResourceType, what string) keyHandler {
	return func(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
		p, err := a.product(r, key, types, what)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, billingEventsResponse{envelope: ok(), Events: events(p)})
	}
}

// vmSubResources answers the sub-resource graph of a VM. cloudmeter prices an instance
// as one item of its server type, with no split into CPU, GPU, RAM, disk, ephemeral disk
// and public IP; the VM's whole cost is in its own graph, and its volumes and subnets
// are resources of their own. So every sub-resource is answered at zero, with a daily
// graph of zeros over the window, rather than a made-up split.
func (a *api) vmSubResources(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	p, err := a.product(r, key, vmTypes, "virtual machine")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	zeros, err := dailyGraph(nil, p.Start, min(p.End, p.Now))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m := subResourceMetrics{CPUIncurredBillGraph: zeros, GPUIncurredBillGraph: zeros, RAMIncurredBillGraph: zeros, DiskIncurredBillGraph: zeros,
		EphemeralIncurredBillGraph: zeros, PublicIPIncurredBillGraph: zeros}
	writeJSON(w, http.StatusOK, subResourceResponse{envelope: ok(), Costs: subResourceCosts{BillingHistory: []subResourceItem{{Attributes: details(&p.Resource), Metrics: m}},
		Granularity: service.SecondsPerDay, OrgID: p.OrgID, TotalCount: 1}})
}

// pricebook answers GET /pricebook: the entries of the price book in force that have not
// ended, as a top-level array. value is the price of one hour per unit (per GB for
// traffic), rounded half-up to 8 places; name says what the entry prices.
func (a *api) pricebook(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	pl, err := a.svc.PriceList(r.Context(), key)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]priceItem, 0, len(pl.Entries))
	for _, e := range pl.Entries {
		v, err := service.PerHour(e)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		item := priceItem{ID: e.Index(), Name: priceName(e), Value: Number(v), OriginalValue: Number(v)}
		if e.ValidFrom != nil {
			item.StartTime = At(e.From())
		}
		if e.ValidUntil != nil {
			item.EndTime = At(e.Until())
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, out)
}

// priceName names what an entry prices: its resource type, its discriminators and
// scope as name=value, and its unit: "instance server_type_id=4 state=stopped, per
// item-hour", "drive storage_type=iscsi_ssd, per GiB-hour", "network direction=upload,
// per GB".
func priceName(e *pricebook.Entry) string {
	parts := []string{string(e.ResourceType)}
	add := func(name string, v *string) {
		if v != nil {
			parts = append(parts, name+"="+*v)
		}
	}
	if e.ServerTypeID != nil {
		parts = append(parts, "server_type_id="+strconv.FormatInt(*e.ServerTypeID, 10))
	}
	add("storage_type", e.StorageType)
	add("subnet_type", e.SubnetType)
	add("state", e.State)
	add("direction", e.Direction)
	add("datacenter", e.Datacenter)
	if e.UserID != nil {
		parts = append(parts, "user_id="+strconv.FormatInt(*e.UserID, 10))
	}
	unit := map[pricebook.Unit]string{pricebook.UnitItem: "item-hour", pricebook.UnitGiB: "GiB-hour", pricebook.UnitIP: "IP-hour", pricebook.UnitGB: "GB"}[e.Unit]
	return strings.Join(parts, " ") + ", per " + unit
}
