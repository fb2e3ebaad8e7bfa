package metalsoft

import (
	"strconv"

	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
)

// ExportJSON is the detailed report as the command line exports it: the
// resource_utilization_detailed result (detailed_report and network_report carry every
// line) with a "totals" member that says how its costs add up: usage_cost is the sum of
// the detailed_report records' cost, traffic_cost the sum of the network_report
// metered_waypoints' cost, installments_cost (when the window holds reservation
// installments) the sum of the reservation_installments' cost, and total_cost their sum. cost_currency is null when no price
// book was loaded.
func ExportJSON(u *report.Utilization) []byte {
	b := DetailedJSON(u)
	b = b[:len(b)-1] // the closing brace, reopened for the totals
	var usage, traffic money.Amount
	for i := range u.Records {
		usage, _ = usage.Add(u.Records[i].Cost) // parts of u.Total, which fitted
	}
	for i := range u.Traffic {
		traffic, _ = traffic.Add(u.Traffic[i].Cost)
	}
	b = append(b, `,"totals":{"usage_records":`...)
	b = strconv.AppendInt(b, int64(len(u.Records)), 10)
	b = append(b, `,"usage_cost":"`...)
	b = append(b, usage.String()...)
	b = append(b, `","traffic_records":`...)
	b = strconv.AppendInt(b, int64(len(u.Traffic)), 10)
	b = append(b, `,"traffic_cost":"`...)
	b = append(b, traffic.String()...)
	if len(u.Installments) > 0 {
		b = append(b, `","installments":`...)
		b = strconv.AppendInt(b, int64(len(u.Installments)), 10)
		b = append(b, `,"installments_cost":"`...)
		b = append(b, u.InstallmentsCost.String()...)
	}
	b = append(b, `","total_cost":"`...)
	b = append(b, u.Total.String()...)
	b = append(b, `","cost_currency":`...)
	b = appendCurrency(b, u.Currency)
	if len(u.Installments) > 0 {
		b = append(b, `,"adds_up":"total_cost = usage_cost (the detailed_report records) + traffic_cost (the network_report metered_waypoints) + installments_cost (the reservation_installments)"}}`...)
		return b
	}
	b = append(b, `,"adds_up":"total_cost = usage_cost (the detailed_report records) + traffic_cost (the network_report metered_waypoints)"}}`...)
	return b
}

// appendCurrency writes a report's currency, null when no price book was loaded.
func appendCurrency(b []byte, currency string) []byte {
	if currency == "" {
		return append(b, "null"...)
	}
	return jsonrpc.AppendString(b, currency)
}
