package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
)

// TestPulledCostsWithoutCurrency: records pulled from a source that names no currency
// (Hyperstack's usage), on a database with no price book, keep their source's costs: the
// table and the CSV must not say that every record is at cost 0 beside them, while a
// report of metered usage alone still says so.
func TestPulledCostsWithoutCurrency(t *testing.T) {
	span := cloudmeter.Span{UserID: 5, ProductID: 5501, InfrastructureID: 5700, Type: cloudmeter.ResourceInstance, Label: "instance-5501"}
	rec := report.Record{Quantity: 34201, Cost: money.Amount(294508611), Source: "hyperstack http://127.0.0.1:8080/v1"}
	rec.Span, rec.CostPerUnit, rec.MeasurementPeriod = span, money.Amount(31000000), 3600
	rec.Start, rec.End = 0, 34200
	pulled := &report.Utilization{UserID: 5, Records: []report.Record{rec}, Total: rec.Cost}

	var table, csv bytes.Buffer
	if err := WriteTable(&table, pulled); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&csv, pulled); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "CSV": csv.String()} {
		if strings.Contains(out, "every record is unpriced, at cost 0") {
			t.Errorf("the %s says every record is at cost 0 beside a pulled cost of 2.94508611:\n%s", name, out)
		}
		if !strings.Contains(out, "pulled records keep their source's costs") {
			t.Errorf("the %s does not say the pulled records keep their source's costs:\n%s", name, out)
		}
	}

	var m report.Record
	m.Span = span
	metered := &report.Utilization{UserID: 5, Records: []report.Record{m}}
	table.Reset()
	if err := WriteTable(&table, metered); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), NoPriceBook) {
		t.Errorf("a report of metered usage with no price book does not say so:\n%s", table.String())
	}
}
