package cloudmeter

import (
	"strconv"
	"time"
)

// FormatTime formats unix seconds as an RFC 3339 UTC timestamp ("2016-02-01T12:58:00Z").
func FormatTime(t int64) string {
	return string(AppendTime(nil, t))
}

// AppendTime appends FormatTime(t) to b.
func AppendTime(b []byte, t int64) []byte {
	u := time.Unix(t, 0).UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(b, "2006-01-02T15:04:05Z")
	}
	hour, minute, sec := u.Clock()
	return append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), 'Z')
}

// ParseTime parses an RFC 3339 timestamp into whole UTC seconds, truncating any
// fraction (DESIGN 2.1).
//
// Errors: KindInvalid about SubjectTimestamp, naming field.
func ParseTime(field, s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, Errorf(KindInvalid, "%s: %s is not an RFC 3339 timestamp such as 2024-01-31T23:59:59Z", field, strconv.Quote(s)).About(SubjectTimestamp)
	}
	// The range is checked in UTC: 1970-01-01T00:00:00+01:00 is still 1969.
	if t = t.UTC(); t.Year() < 1970 || t.Year() > 9999 {
		return 0, Errorf(KindInvalid, "%s: %s is outside the years 1970 to 9999", field, strconv.Quote(s)).About(SubjectTimestamp)
	}
	return t.Unix(), nil
}
