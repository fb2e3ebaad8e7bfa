package hyperstack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cloudmeter/cloudmeter/money"
)

// AppendNumber appends an amount to b as a JSON number: the literal is exactly the
// amount's decimal form, money.Amount.String (an optional minus sign, the whole part
// without leading zeros, a point and 8 decimals: 7.25925278, 0.00000000, -0.50000000).
// Nothing passes through a float, so a client that reads the literal exactly (a
// decimal type, a big.Rat, a json.Number) reads cloudmeter's exact amount, and the
// digits are those the MetalSoft and native APIs show as strings. This is the one place
// money (and a duration in minutes or hours, kept the same way) becomes a JSON number.
func AppendNumber(b []byte, a money.Amount) []byte {
	return append(b, a.String()...)
}

// Number is an amount written as a JSON number by AppendNumber.
type Number money.Amount

// MarshalJSON writes the number with AppendNumber.
func (n Number) MarshalJSON() ([]byte, error) {
	return AppendNumber(make([]byte, 0, 24), money.Amount(n)), nil
}

// TimeLayout is the layout of Hyperstack's timestamps: UTC, whole seconds, no zone.
const TimeLayout = "2006-01-02T15:04:05"

// formatTime formats unix seconds in TimeLayout, in UTC.
func formatTime(t int64) string {
	return time.Unix(t, 0).UTC().Format(TimeLayout)
}

// Time is a timestamp written as "2006-01-02T15:04:05" (UTC, no zone), or null when it
// is not set: never "" and never with a zone suffix, which Hyperstack's client refuses.
type Time struct {
	unix int64
	set  bool
}

// At returns the Time of unix seconds.
func At(unix int64) Time { return Time{unix: unix, set: true} }

// MarshalJSON writes the timestamp or null.
func (t Time) MarshalJSON() ([]byte, error) {
	return t.append(make([]byte, 0, len(TimeLayout)+2)), nil
}

func (t Time) append(b []byte) []byte {
	if !t.set {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = time.Unix(t.unix, 0).UTC().AppendFormat(b, TimeLayout)
	return append(b, '"')
}

// appender is an answer that writes itself as JSON: the fast path of an answer that may
// hold tens of thousands of items, written by hand as encoding/json would write it.
type appender interface {
	appendJSON(b []byte) []byte
}

// writeJSON answers v as compact JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if a, ok := v.(appender); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(append(a.appendJSON(nil), '\n'))
		return
	}
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every value written here marshals; this is a bug, answered in the error shape.
		status, buf = http.StatusBadRequest, bytes.Buffer{}
		json.NewEncoder(&buf).Encode(ErrorBody{Message: "internal error", ErrorReason: ReasonBadRequest})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// The answers, with the wrapper keys and types of Hyperstack's generated client (DESIGN
// 3.3). Ids are whole JSON numbers but attributes.id, a string; money, minutes and hours
// are Numbers; timestamps are Times.

// envelope is the status and message every answer but the price book carries.
type envelope struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
}

func ok() envelope { return envelope{Status: true, Message: "Successful"} }

// usageResponse answers GET /billing/billing/usage.
type usageResponse struct {
	envelope
	Data []usageItem `json:"data"`
}

type usageItem struct {
	ResourceID     int64   `json:"resource_id"`
	ResourceType   string  `json:"resource_type"`
	Name           string  `json:"name"`
	OrganizationID int64   `json:"organization_id"`
	BillPerMinute  *Number `json:"bill_per_minute"`
	CreateTime     Time    `json:"create_time"`
	TerminateTime  Time    `json:"terminate_time"`
	TotalUpTime    Number  `json:"total_up_time"`
	TotalBill      Number  `json:"total_bill"`
	Active         bool    `json:"active"`
	ExcludeBilling bool    `json:"exclude_billing"`
}

// appendJSON writes the answer as encoding/json writes the struct.
func (u usageResponse) appendJSON(b []byte) []byte {
	b = slices.Grow(b, 280*len(u.Data)+64)
	b = append(b, `{"status":`...)
	b = strconv.AppendBool(b, u.Status)
	b = append(b, `,"message":`...)
	b = appendString(b, u.Message)
	b = append(b, `,"data":[`...)
	for i := range u.Data {
		it := &u.Data[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"resource_id":`...)
		b = strconv.AppendInt(b, it.ResourceID, 10)
		b = append(b, `,"resource_type":`...)
		b = appendString(b, it.ResourceType)
		b = append(b, `,"name":`...)
		b = appendString(b, it.Name)
		b = append(b, `,"organization_id":`...)
		b = strconv.AppendInt(b, it.OrganizationID, 10)
		b = append(b, `,"bill_per_minute":`...)
		if it.BillPerMinute == nil {
			b = append(b, "null"...)
		} else {
			b = AppendNumber(b, money.Amount(*it.BillPerMinute))
		}
		b = append(b, `,"create_time":`...)
		b = it.CreateTime.append(b)
		b = append(b, `,"terminate_time":`...)
		b = it.TerminateTime.append(b)
		b = append(b, `,"total_up_time":`...)
		b = AppendNumber(b, money.Amount(it.TotalUpTime))
		b = append(b, `,"total_bill":`...)
		b = AppendNumber(b, money.Amount(it.TotalBill))
		b = append(b, `,"active":`...)
		b = strconv.AppendBool(b, it.Active)
		b = append(b, `,"exclude_billing":`...)
		b = strconv.AppendBool(b, it.ExcludeBilling)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendString appends s as a JSON string, byte for byte as encoding/json writes it
// without HTML escaping: plain ASCII text is copied, anything else goes through
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(s)
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// lastDayCostResponse answers GET /billing/billing/last-day-cost.
type lastDayCostResponse struct {
	envelope
	Data lastDayCost `json:"data"`
}

type lastDayCost struct {
	InstancesCost Number `json:"instances_cost"`
	VolumesCost   Number `json:"volumes_cost"`
	ClustersCost  Number `json:"clusters_cost"`
	TotalCost     Number `json:"total_cost"`
}

// historyResponse answers GET /billing/billing/history.
type historyResponse struct {
	envelope
	BillingHistory orgHistory `json:"billing_history"`
}

type orgHistory struct {
	BillingHistory []orgHistoryItem `json:"billing_history"`
	OrgID          int64            `json:"org_id"`
	TotalCount     int              `json:"total_count"`
}

type orgHistoryItem struct {
	Attributes idAttributes `json:"attributes"`
	Metrics    orgMetrics   `json:"metrics"`
}

type idAttributes struct {
	ID string `json:"id"`
}

type orgMetrics struct {
	IncurredBill      Number       `json:"incurred_bill"`
	NonDiscountedBill Number       `json:"non_discounted_bill"`
	VMCost            Number       `json:"vm_cost"`
	VolumeCost        Number       `json:"volume_cost"`
	ContractCost      Number       `json:"contract_cost"`
	SnapshotCost      Number       `json:"snapshot_cost"`
	IncurredBillGraph []graphPoint `json:"incurred_bill_graph,omitempty"`
}

type graphPoint struct {
	Datetime string `json:"datetime"`
	Value    Number `json:"value"`
}

// resourceHistory is the list of VMs or volumes with their usage in a window.
type resourceHistory struct {
	BillingHistory []resourceHistoryItem `json:"billing_history"`
	OrgID          int64                 `json:"org_id"`
	Pagination     pagination            `json:"pagination"`
	TotalCount     int                   `json:"total_count"`
}

type pagination struct {
	Page    int `json:"page"`
	Pages   int `json:"pages"`
	PerPage int `json:"per_page"`
}

type resourceHistoryItem struct {
	Attributes resourceAttributes `json:"attributes"`
	Metrics    resourceMetrics    `json:"metrics"`
}

type resourceAttributes struct {
	ID           string `json:"id"`
	InfrahubID   int64  `json:"infrahub_id"`
	ResourceName string `json:"resource_name"`
	Status       string `json:"status"`
}

type resourceMetrics struct {
	IncurredBill Number `json:"incurred_bill"`
	PricePerHour Number `json:"price_per_hour"`
	UsageTime    Number `json:"usage_time"`
}

type vmHistoryResponse struct {
	envelope
	BillingHistoryVM resourceHistory `json:"billing_history_vm"`
}

type volumeHistoryResponse struct {
	envelope
	BillingHistoryVolume resourceHistory `json:"billing_history_volume"`
}

// detailAttributes name one resource in the per-resource answers.
type detailAttributes struct {
	ID           string `json:"id"`
	InfrahubID   int64  `json:"infrahub_id"`
	ResourceName string `json:"resource_name"`
}

type vmDetailsResponse struct {
	envelope
	Details vmDetails `json:"billing_history_vm_details"`
}

type vmDetails struct {
	BillingHistory []vmDetailsItem `json:"billing_history"`
	OrgID          int64           `json:"org_id"`
	TotalCount     int             `json:"total_count"`
}

type vmDetailsItem struct {
	Attributes detailAttributes `json:"attributes"`
	Metrics    vmDetailsMetrics `json:"metrics"`
}

type vmDetailsMetrics struct {
	IncurredBill              Number `json:"incurred_bill"`
	NonDiscountedBill         Number `json:"non_discounted_bill"`
	PricePerHour              Number `json:"price_per_hour"`
	NonDiscountedPricePerHour Number `json:"non_discounted_price_per_hour"`
	UsageTime                 Number `json:"usage_time"`
	UsageTimeActive           Number `json:"usage_time_ACTIVE"`
	UsageTimeShutoff          Number `json:"usage_time_SHUTOFF"`
	UsageTimeHibernated       Number `json:"usage_time_HIBERNATED"`
}

type volumeDetailsResponse struct {
	envelope
	Details volumeDetails `json:"billing_history_volume_details"`
}

type volumeDetails struct {
	BillingHistory []volumeDetailsItem `json:"billing_history"`
	OrgID          int64               `json:"org_id"`
	TotalCount     int                 `json:"total_count"`
}

type volumeDetailsItem struct {
	Attributes detailAttributes     `json:"attributes"`
	Metrics    volumeDetailsMetrics `json:"metrics"`
}

type volumeDetailsMetrics struct {
	IncurredBill              Number `json:"incurred_bill"`
	NonDiscountedBill         Number `json:"non_discounted_bill"`
	PricePerHour              Number `json:"price_per_hour"`
	NonDiscountedPricePerHour Number `json:"non_discounted_price_per_hour"`
	UsageTime                 Number `json:"usage_time"`
}

// graphDetails is the daily graph of one resource.
type graphDetails struct {
	BillingHistory []graphItem `json:"billing_history"`
	Granularity    int64       `json:"granularity"`
	OrgID          int64       `json:"org_id"`
	TotalCount     int         `json:"total_count"`
}

type graphItem struct {
	Attributes detailAttributes `json:"attributes"`
	Metrics    graphMetrics     `json:"metrics"`
}

type graphMetrics struct {
	IncurredBill      Number       `json:"incurred_bill"`
	IncurredBillGraph []graphPoint `json:"incurred_bill_graph"`
}

type vmGraphResponse struct {
	envelope
	Details graphDetails `json:"billing_history_vm_details"`
}

// volumeGraphResponse is the volume graph: its wrapper key is spelled as Hyperstack's
// client spells it.
type volumeGraphResponse struct {
	envelope
	Details graphDetails `json:"billing_history_snapshot_details"`
}

// billingEventsResponse answers the billing-events routes.
type billingEventsResponse struct {
	envelope
	Events []billingEvent `json:"billing_events_history"`
}

type billingEvent struct {
	Event         string `json:"event"`
	EventDuration Number `json:"event_duration"`
	PricePerHour  Number `json:"price_per_hour"`
	Start         string `json:"start"`
	TotalCost     Number `json:"total_cost"`
}

// subResourceResponse answers GET /billing/billing/virtual-machine/{id}/sub-resource/graph.
type subResourceResponse struct {
	envelope
	Costs subResourceCosts `json:"sub_resources_costs"`
}

type subResourceCosts struct {
	BillingHistory []subResourceItem `json:"billing_history"`
	Granularity    int64             `json:"granularity"`
	OrgID          int64             `json:"org_id"`
	TotalCount     int               `json:"total_count"`
}

type subResourceItem struct {
	Attributes detailAttributes   `json:"attributes"`
	Metrics    subResourceMetrics `json:"metrics"`
}

type subResourceMetrics struct {
	CPUIncurredBill            Number       `json:"cpu_incurred_bill"`
	CPUIncurredBillGraph       []graphPoint `json:"cpu_incurred_bill_graph"`
	GPUIncurredBill            Number       `json:"gpu_incurred_bill"`
	GPUIncurredBillGraph       []graphPoint `json:"gpu_incurred_bill_graph"`
	RAMIncurredBill            Number       `json:"ram_incurred_bill"`
	RAMIncurredBillGraph       []graphPoint `json:"ram_incurred_bill_graph"`
	DiskIncurredBill           Number       `json:"disk_incurred_bill"`
	DiskIncurredBillGraph      []graphPoint `json:"disk_incurred_bill_graph"`
	EphemeralIncurredBill      Number       `json:"ephemeral_incurred_bill"`
	EphemeralIncurredBillGraph []graphPoint `json:"ephemeral_incurred_bill_graph"`
	PublicIPIncurredBill       Number       `json:"publicip_incurred_bill"`
	PublicIPIncurredBillGraph  []graphPoint `json:"publicip_incurred_bill_graph"`
}

// priceItem is one entry of GET /pricebook, a top-level array.
type priceItem struct {
	ID              int    `json:"id"`
	Name            string `json:"name"`
	Value           Number `json:"value"`
	OriginalValue   Number `json:"original_value"`
	DiscountApplied bool   `json:"discount_applied"`
	StartTime       Time   `json:"start_time"`
	EndTime         Time   `json:"end_time"`
}
