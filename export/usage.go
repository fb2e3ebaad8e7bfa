package export

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
)

// metricKey identifies one usage metric of one resource.
type metricKey struct {
	product int64
	name    string
}

type metric struct {
	usage       Usage
	day, period int64 // seconds, or 1e-4 GB, or MB (storage)
	kind        int
}

const (
	kindHours = iota
	kindGB4
	kindStorageMB
)

// UsageMetrics returns the usage metrics of the month's reports, with the day's values from
// today's: instance hours (interval), storage GB (total: the size at the end) and
// traffic GB per direction (interval).
func UsageMetrics(month, today []*report.Utilization) []Usage {
	ms := map[metricKey]*metric{}
	var order []metricKey
	add := func(k metricKey, kind int, units, typ string) *metric {
		m, ok := ms[k]
		if !ok {
			m = &metric{kind: kind, usage: Usage{ResourceID: strconv.FormatInt(k.product, 10), Name: k.name, Type: typ, Units: units}}
			ms[k] = m
			order = append(order, k)
		}
		return m
	}
	for pass, us := range [][]*report.Utilization{month, today} {
		for _, u := range us {
			for i := range u.Records {
				r := &u.Records[i]
				switch r.Type {
				case cloudmeter.ResourceInstance:
					m := add(metricKey{r.ProductID, "instance hours"}, kindHours, "hour", "interval")
					if pass == 0 {
						m.period += r.Quantity
					} else {
						m.day += r.Quantity
					}
				case cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive, cloudmeter.ResourceDataLake:
					mb := storageMB(&r.Attributes, r.Type)
					if mb < 0 {
						continue
					}
					m := add(metricKey{r.ProductID, "storage"}, kindStorageMB, "GB", "total")
					// A total: the size the resource has at the end of the period (of the day).
					if pass == 0 {
						m.period = mb
					} else {
						m.day = mb
					}
				}
			}
			for i := range u.Traffic {
				r := &u.Traffic[i]
				m := add(metricKey{r.Waypoint.ProductID, "traffic " + string(r.Direction)}, kindGB4, "GB", "interval")
				if pass == 0 {
					m.period += r.Quantity
				} else {
					m.day += r.Quantity
				}
			}
		}
	}
	slices.SortStableFunc(order, func(a, b metricKey) int {
		if a.product != b.product {
			if a.product < b.product {
				return -1
			}
			return 1
		}
		return 0
	})
	out := make([]Usage, 0, len(order))
	for _, k := range order {
		m := ms[k]
		m.usage.DayValue, m.usage.PeriodValue = m.value(m.day), m.value(m.period)
		out = append(out, m.usage)
	}
	return out
}

func (m *metric) value(v int64) json.Number {
	switch m.kind {
	case kindHours:
		return periods(v, 3600)
	case kindGB4:
		return gb(v)
	}
	a, err := money.Cost(v, 1024, money.Amount(money.AmountScale))
	if err != nil {
		return json.Number(strconv.FormatInt(v/1024, 10))
	}
	return number(a)
}

// storageMB is the size of a storage resource in MB (-1 when unknown).
func storageMB(a *cloudmeter.Attributes, typ cloudmeter.ResourceType) int64 {
	switch {
	case typ == cloudmeter.ResourceDrive && a.DriveSizeMBytes != nil:
		return *a.DriveSizeMBytes
	case typ == cloudmeter.ResourceSharedDrive && a.SharedDriveSizeMBytes != nil:
		return *a.SharedDriveSizeMBytes
	case typ == cloudmeter.ResourceDataLake && a.StoredGBytes != nil:
		return *a.StoredGBytes * 1024
	}
	return -1
}
