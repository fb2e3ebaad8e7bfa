package metalsoft

import (
	"slices"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
)

// detailedReport writes a Utilization in MetalSoft's resource_utilization_detailed
// shape. It is written by hand, keys in the seed's order, because reports of tens of
// thousands of records are on the hot path. traffic are u's traffic totals.
type detailedReport struct {
	u       *report.Utilization
	traffic []report.TrafficTotal
}

// AppendJSON implements jsonrpc.JSONAppender.
func (d detailedReport) AppendJSON(b []byte) []byte {
	u := d.u
	// A record takes about 400 bytes: room for them all up front, not by doubling.
	b = slices.Grow(b, 420*len(u.Records)+1024)
	b = append(b, `{"detailed_report":{`...)
	for i := 0; i < len(u.Records); {
		infra := u.Records[i].InfrastructureID
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, strconv.FormatInt(infra, 10))
		b = append(b, '{')
		firstType := true
		for i < len(u.Records) && u.Records[i].InfrastructureID == infra {
			typ := u.Records[i].Type
			if !firstType {
				b = append(b, ',')
			}
			firstType = false
			b = appendKey(b, string(typ))
			b = append(b, '[')
			for j := i; i < len(u.Records) && u.Records[i].InfrastructureID == infra && u.Records[i].Type == typ; i++ {
				if i > j {
					b = append(b, ',')
				}
				b = appendRecord(b, &u.Records[i], u.Currency)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `},"network_report":`...)
	b = appendNetworkReport(b, u, d.traffic)
	b = appendInstallments(b, u)
	b = appendInfrastructures(b, u)
	return appendWindow(b, u)
}

func appendInfrastructures(b []byte, u *report.Utilization) []byte {
	b = append(b, `,"infrastructures":{`...)
	for i, inf := range u.Infrastructures {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, strconv.FormatInt(inf.ID, 10))
		b = append(b, `{"infrastructure_id":`...)
		b = strconv.AppendInt(b, inf.ID, 10)
		b = append(b, `,"infrastructure_label":`...)
		b = jsonrpc.AppendString(b, inf.Label)
		b = append(b, `,"infrastructure_service_status":`...)
		b = jsonrpc.AppendString(b, inf.ServiceStatus)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendWindow(b []byte, u *report.Utilization) []byte {
	b = append(b, `,"start_timestamp":"`...)
	b = cloudmeter.AppendTime(b, u.Start)
	b = append(b, `","end_timestamp":"`...)
	b = cloudmeter.AppendTime(b, u.End)
	return append(b, `"}`...)
}

func appendKey(b []byte, k string) []byte {
	b = jsonrpc.AppendString(b, k)
	return append(b, ':')
}

func appendAmount(b []byte, a money.Amount) []byte {
	b = append(b, '"')
	b = append(b, a.String()...)
	return append(b, '"')
}

// appendRecord writes one record with the seed's fields in alphabetical order.
func appendRecord(b []byte, r *report.Record, currency string) []byte {
	a := &r.Attributes
	b = append(b, `{"cost":`...)
	b = appendAmount(b, r.Cost)
	b = append(b, `,"cost_currency":`...)
	b = appendCurrency(b, currency)
	b = append(b, `,"cost_per_unit":`...)
	b = appendAmount(b, r.CostPerUnit)
	if r.Type == cloudmeter.ResourceDrive {
		b = append(b, `,"drive_size_mbytes":`...)
		b = appendOptInt(b, a.DriveSizeMBytes)
	}
	b = append(b, `,"end_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.End)
	b = append(b, `","is_reservation":"`...)
	b = append(b, isReservation(r)...)
	b = append(b, `","measurement_period":"`...)
	b = strconv.AppendInt(b, r.MeasurementPeriod, 10)
	b = append(b, `","measurement_unit":"seconds","product_id":`...)
	b = strconv.AppendInt(b, r.ProductID, 10)
	b = append(b, `,"product_label":`...)
	b = jsonrpc.AppendString(b, r.Label)
	b = append(b, `,"product_subdomain":`...)
	b = jsonrpc.AppendString(b, r.Subdomain)
	b = append(b, `,"quantity":"`...)
	b = strconv.AppendInt(b, r.Quantity, 10)
	b = append(b, '"')
	if r.Type == cloudmeter.ResourceDataLake {
		b = append(b, `,"resource_utilization_gbytes":`...)
		b = appendOptInt(b, a.StoredGBytes)
	}
	if r.Type == cloudmeter.ResourceInstance {
		b = append(b, `,"server_type_id":`...)
		b = appendOptInt(b, a.ServerTypeID)
	}
	if r.Type == cloudmeter.ResourceSharedDrive {
		b = append(b, `,"shared_drive_size_mbytes":`...)
		b = appendOptInt(b, a.SharedDriveSizeMBytes)
	}
	b = append(b, `,"start_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.Start)
	b = append(b, '"')
	if r.Type == cloudmeter.ResourceSubnet {
		b = append(b, `,"subnet_prefix_size":`...)
		b = appendOptInt(b, a.SubnetPrefixSize)
		b = append(b, `,"subnet_type":`...)
		if a.SubnetType == nil {
			b = append(b, "null"...)
		} else {
			b = jsonrpc.AppendString(b, *a.SubnetType)
		}
	}
	return append(b, '}')
}

func appendOptInt(b []byte, p *int64) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *p, 10)
}

// summaryReport writes the totals per infrastructure and resource type:
//
//	{"summary_report":{"3668":{"instance":{"cost":"7.25925278","cost_currency":"GBP",
//	 "measurement_unit":"seconds","quantity":"84301","record_count":1,"resource_count":1}}},
//	 "total_cost":"7.25925278","cost_currency":"GBP","internet_download_cost":"0.00000000",
//	 "internet_download_gbytes":"0.0000","internet_upload_cost":"0.00000000",
//	 "internet_upload_gbytes":"0.0000","infrastructures":{...},
//	 "start_timestamp":"...","end_timestamp":"..."}
type summaryReport struct {
	u                *report.Utilization
	totals           []report.TypeTotal
	download, upload report.DirectionTotal
}

// AppendJSON implements jsonrpc.JSONAppender.
func (s summaryReport) AppendJSON(b []byte) []byte {
	b = append(b, `{"summary_report":{`...)
	for i := 0; i < len(s.totals); {
		infra := s.totals[i].InfrastructureID
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, strconv.FormatInt(infra, 10))
		b = append(b, '{')
		for j := i; i < len(s.totals) && s.totals[i].InfrastructureID == infra; i++ {
			t := &s.totals[i]
			if i > j {
				b = append(b, ',')
			}
			b = appendKey(b, string(t.Type))
			b = append(b, `{"cost":`...)
			b = appendAmount(b, t.Cost)
			b = append(b, `,"cost_currency":`...)
			b = appendCurrency(b, s.u.Currency)
			b = append(b, `,"measurement_unit":"seconds","quantity":"`...)
			b = strconv.AppendInt(b, t.Quantity, 10)
			b = append(b, `","record_count":`...)
			b = strconv.AppendInt(b, int64(t.Records), 10)
			b = append(b, `,"resource_count":`...)
			b = strconv.AppendInt(b, int64(t.Resources), 10)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `},"total_cost":`...)
	b = appendAmount(b, s.u.Total)
	b = append(b, `,"cost_currency":`...)
	b = appendCurrency(b, s.u.Currency)
	if len(s.u.Installments) > 0 {
		// The reservation installments due in the window (included in total_cost).
		b = append(b, `,"reservation_installments_cost":`...)
		b = appendAmount(b, s.u.InstallmentsCost)
	}
	// The internet traffic of every waypoint of the report, per direction (included in
	// total_cost).
	for _, d := range []struct {
		name string
		t    report.DirectionTotal
	}{{"download", s.download}, {"upload", s.upload}} {
		b = append(b, `,"internet_`+d.name+`_cost":`...)
		b = appendAmount(b, d.t.Cost)
		b = append(b, `,"internet_`+d.name+`_gbytes":"`...)
		b = append(b, money.FormatGB4(d.t.Quantity)...)
		b = append(b, '"')
	}
	b = appendInfrastructures(b, s.u)
	return appendWindow(b, s.u)
}

// DetailedJSON encodes u as the result of resource_utilization_detailed.
func DetailedJSON(u *report.Utilization) []byte {
	// Costs are never negative, so no traffic total exceeds u.Total, which fitted.
	totals, _ := u.TrafficTotals()
	return detailedReport{u, totals}.AppendJSON(nil)
}
