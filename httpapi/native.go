package httpapi

import (
	"encoding/json"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
)

type nativeRecord struct {
	ProductID         int64  `json:"product_id"`
	InfrastructureID  int64  `json:"infrastructure_id"`
	ResourceType      string `json:"resource_type"`
	Label             string `json:"label"`
	Datacenter        string `json:"datacenter"`
	State             string `json:"state"`
	Start             string `json:"start"`
	End               string `json:"end"`
	Quantity          int64  `json:"quantity"`
	MeasurementPeriod int64  `json:"measurement_period"`
	CostPerUnit       string `json:"cost_per_unit"`
	Cost              string `json:"cost"`
	PriceEntry        *int   `json:"price_entry"`
	Unpriced          string `json:"unpriced,omitempty"`
	Attributes        any    `json:"attributes"`
	ExcludeBilling    bool   `json:"exclude_billing"`
	// ReservationID names the reservation that covers the record; absent on demand.
	ReservationID int64 `json:"reservation_id,omitempty"`
}

type nativeInstallment struct {
	ReservationID  int64   `json:"reservation_id"`
	ServerTypeID   int64   `json:"server_type_id"`
	ServerTypeName *string `json:"server_type_name"`
	Datacenter     string  `json:"datacenter"`
	Number         int     `json:"installment"`
	Start          string  `json:"start"`
	End            string  `json:"end"`
	Cost           string  `json:"cost"`
}

type nativeTrafficRecord struct {
	ProductID         int64  `json:"product_id"`
	InfrastructureID  int64  `json:"infrastructure_id"`
	ResourceType      string `json:"resource_type"`
	Label             string `json:"label"`
	Datacenter        string `json:"datacenter"`
	Direction         string `json:"direction"`
	Start             string `json:"start"`
	End               string `json:"end"`
	Bytes             int64  `json:"bytes"`
	Quantity          string `json:"quantity_gbytes"`
	MeasurementPeriod int64  `json:"measurement_period"`
	CostPerUnit       string `json:"cost_per_unit"`
	Cost              string `json:"cost"`
	PriceEntry        *int   `json:"price_entry"`
	Unpriced          string `json:"unpriced,omitempty"`
}

// NativeReport encodes a utilization report in the native format: a flat list of
// records, the traffic records of the waypoints, and the total of both.
func NativeReport(u *report.Utilization) []byte {
	recs := make([]nativeRecord, len(u.Records))
	for i := range u.Records {
		r := &u.Records[i]
		recs[i] = nativeRecord{ProductID: r.ProductID, InfrastructureID: r.InfrastructureID, ResourceType: string(r.Type), Label: r.Label,
			Datacenter: r.Datacenter, State: string(r.State), Start: cloudmeter.FormatTime(r.Start), End: cloudmeter.FormatTime(r.End),
			Quantity: r.Quantity, MeasurementPeriod: r.MeasurementPeriod, CostPerUnit: r.CostPerUnit.String(), Cost: r.Cost.String(),
			Unpriced: r.Unpriced, Attributes: r.Attributes, ExcludeBilling: r.ExcludeBilling}
		if r.Entry != nil {
			idx := r.Entry.Index()
			recs[i].PriceEntry = &idx
		}
		if r.Reservation != nil {
			recs[i].ReservationID = r.Reservation.ID
		}
	}
	traffic := make([]nativeTrafficRecord, len(u.Traffic))
	for i := range u.Traffic {
		r := &u.Traffic[i]
		w := &r.Waypoint
		traffic[i] = nativeTrafficRecord{ProductID: w.ProductID, InfrastructureID: w.InfrastructureID, ResourceType: string(w.Type), Label: w.Label,
			Datacenter: w.Datacenter, Direction: string(r.Direction), Start: cloudmeter.FormatTime(r.Start), End: cloudmeter.FormatTime(r.End),
			Bytes: r.Bytes, Quantity: money.FormatGB4(r.Quantity), MeasurementPeriod: r.MeasurementPeriod, CostPerUnit: r.CostPerUnit.String(),
			Cost: r.Cost.String(), Unpriced: r.Unpriced}
		if r.Entry != nil {
			idx := r.Entry.Index()
			traffic[i].PriceEntry = &idx
		}
	}
	out := map[string]any{
		"user_id": u.UserID, "currency": currencyOrNull(u.Currency), "from": cloudmeter.FormatTime(u.Start), "to": cloudmeter.FormatTime(u.End),
		"total_cost": u.Total.String(), "records": recs, "traffic": traffic,
	}
	if len(u.Installments) > 0 {
		// Only when the window holds installments, so reports without reservations keep their shape.
		ins := make([]nativeInstallment, len(u.Installments))
		for i, in := range u.Installments {
			r := in.Reservation
			ins[i] = nativeInstallment{ReservationID: r.ID, ServerTypeID: r.ServerTypeID, Datacenter: r.Datacenter, Number: in.Number,
				Start: cloudmeter.FormatTime(in.Start), End: cloudmeter.FormatTime(in.End), Cost: in.Cost.String()}
			if r.ServerTypeName != "" {
				ins[i].ServerTypeName = &r.ServerTypeName
			}
		}
		out["reservation_installments"] = ins
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return append(b, '\n')
}

// currencyOrNull is a report's currency, null when no price book was loaded (a report
// then names no currency nobody chose).
func currencyOrNull(c string) any {
	if c == "" {
		return nil
	}
	return c
}
