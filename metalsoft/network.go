package metalsoft

import (
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
)

// appendNetworkReport writes the network_report member in the seed's shape:
//
//	{"3688":{"network":{"download":{"cost":0,"cost_currency":"GBP","measurement_unit":"gbytes",
//	 "quantity":0,"metered_waypoints":[{...record...}]},"upload":{...}}}}
//
// A direction's cost and quantity are JSON numbers (as in the seed), its records' are
// strings like every other record's.
func appendNetworkReport(b []byte, u *report.Utilization, totals []report.TrafficTotal) []byte {
	b = append(b, '{')
	for i := 0; i < len(totals); {
		infra := totals[i].InfrastructureID
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, strconv.FormatInt(infra, 10))
		b = append(b, '{')
		firstType := true
		for i < len(totals) && totals[i].InfrastructureID == infra {
			typ := totals[i].Type
			if !firstType {
				b = append(b, ',')
			}
			firstType = false
			b = appendKey(b, string(typ))
			b = append(b, '{')
			for j := i; i < len(totals) && totals[i].InfrastructureID == infra && totals[i].Type == typ; i++ {
				t := &totals[i]
				if i > j {
					b = append(b, ',')
				}
				b = appendKey(b, string(t.Direction))
				b = append(b, `{"cost":`...)
				b = appendNumber(b, t.Cost.String())
				b = append(b, `,"cost_currency":`...)
				b = appendCurrency(b, u.Currency)
				b = append(b, `,"measurement_unit":"gbytes","quantity":`...)
				b = appendNumber(b, money.FormatGB4(t.Quantity))
				b = append(b, `,"metered_waypoints":[`...)
				for k := t.From; k < t.To; k++ {
					if k > t.From {
						b = append(b, ',')
					}
					b = appendWaypointRecord(b, &u.Traffic[k], u.Currency)
				}
				b = append(b, "]}"...)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendNumber writes an exact decimal as a JSON number without trailing zeros: "0" for
// 0.00000000, "1.5" for 1.50000000.
func appendNumber(b []byte, dec string) []byte {
	if strings.IndexByte(dec, '.') >= 0 {
		dec = strings.TrimRight(strings.TrimRight(dec, "0"), ".")
	}
	if dec == "" || dec == "-0" {
		dec = "0"
	}
	return append(b, dec...)
}

// appendWaypointRecord writes one metered_waypoints record, fields in the seed's order.
func appendWaypointRecord(b []byte, r *report.TrafficRecord, currency string) []byte {
	b = append(b, `{"cost":`...)
	b = appendAmount(b, r.Cost)
	b = append(b, `,"cost_currency":`...)
	b = appendCurrency(b, currency)
	b = append(b, `,"cost_per_unit":`...)
	b = appendAmount(b, r.CostPerUnit)
	b = append(b, `,"end_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.End)
	b = append(b, `","is_reservation":"0","measurement_period":"`...)
	b = strconv.AppendInt(b, r.MeasurementPeriod, 10)
	b = append(b, `","measurement_unit":"gbytes","product_id":`...)
	b = strconv.AppendInt(b, r.Waypoint.ProductID, 10)
	b = append(b, `,"product_label":`...)
	b = jsonrpc.AppendString(b, r.Waypoint.Label)
	b = append(b, `,"product_subdomain":`...)
	b = jsonrpc.AppendString(b, r.Waypoint.Subdomain)
	b = append(b, `,"quantity":"`...)
	b = append(b, money.FormatGB4(r.Quantity)...)
	b = append(b, `","start_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.Start)
	return append(b, `"}`...)
}
