package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

// amountText writes an amount exactly as the APIs give it (8 decimal places), followed by
// its currency.
func amountText(a money.Amount, currency string) string {
	if currency == "" {
		return a.String()
	}
	return a.String() + " " + currency
}

// timeText writes a second in UTC with the zone written out; "still running" for the
// open end of a resource that lives.
func timeText(t int64) string {
	if t >= cloudmeter.OpenEnd {
		return "still running"
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// dayText writes the UTC day of t.
func dayText(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02") }

// intText writes an integer with thin groups of three digits for reading ("1,234,567").
func intText(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// month is a calendar month in UTC.
type month struct{ t time.Time }

// parseMonth reads a month parameter (YYYY-MM); empty means the month of now.
//
// Errors: KindInvalid naming the parameter.
func parseMonth(s string, now int64) (month, error) {
	if s == "" {
		u := time.Unix(now, 0).UTC()
		return month{time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	t, err := time.Parse("2006-01", s)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return month{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "month: %q must be a month as YYYY-MM, such as 2024-12", s)
	}
	return month{t}, nil
}

func (m month) Start() int64   { return m.t.Unix() }
func (m month) End() int64     { return m.t.AddDate(0, 1, 0).Unix() - 1 }
func (m month) Prev() month    { return month{m.t.AddDate(0, -1, 0)} }
func (m month) Next() month    { return month{m.t.AddDate(0, 1, 0)} }
func (m month) String() string { return m.t.Format("2006-01") }
func (m month) Title() string  { return m.t.Format("January 2006") }

// parseID reads a positive id from a path or query parameter.
//
// Errors: KindInvalid naming the parameter.
func parseID(name, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q must be an id above 0", name, s)
	}
	return id, nil
}

// attributesText describes a span's attributes that price it.
func attributesText(a cloudmeter.Attributes) string {
	var parts []string
	if a.ServerTypeName != nil {
		parts = append(parts, "server type "+*a.ServerTypeName)
	} else if a.ServerTypeID != nil {
		parts = append(parts, fmt.Sprintf("server type %d", *a.ServerTypeID))
	}
	if a.DriveSizeMBytes != nil {
		parts = append(parts, intText(*a.DriveSizeMBytes)+" MB")
	}
	if a.SharedDriveSizeMBytes != nil {
		parts = append(parts, intText(*a.SharedDriveSizeMBytes)+" MB shared")
	}
	if a.StorageType != nil {
		parts = append(parts, *a.StorageType)
	}
	if a.SubnetType != nil {
		parts = append(parts, *a.SubnetType)
	}
	if a.SubnetPrefixSize != nil {
		parts = append(parts, fmt.Sprintf("/%d", *a.SubnetPrefixSize))
	}
	if a.StoredGBytes != nil {
		parts = append(parts, intText(*a.StoredGBytes)+" GB stored")
	}
	if a.MeasurementPeriod != nil {
		parts = append(parts, fmt.Sprintf("period %d s", *a.MeasurementPeriod))
	}
	return strings.Join(parts, ", ")
}
