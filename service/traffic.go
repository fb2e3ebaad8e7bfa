package service

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// Granularities of a waypoint's traffic series, in seconds per bucket.
var Granularities = map[string]int64{"hour": 3600, "day": 86400}

// maxSeriesPoints bounds the buckets of one series: a leap year of hours.
const maxSeriesPoints = 366 * 24

// TrafficRequest asks for one waypoint's traffic as a time series.
type TrafficRequest struct {
	ProductID int64
	// From and To bound the sample times (closed); 0 means the waypoint's provision and
	// its deletion (or now).
	From, To    int64
	Granularity string // hour (default) or day
}

// TrafficView is a waypoint's traffic by bucket of UTC hours or days: every bucket of
// the window, those without samples at zero.
type TrafficView struct {
	Resource    cloudmeter.Resource
	Granularity string
	Bucket      int64
	From, To    int64
	Points      []cloudmeter.TrafficPoint
	// Download and Upload total the points, in bytes.
	Download, Upload int64
}

// Traffic returns a waypoint's traffic series: its samples summed by bucket of their own
// time (billing groups them by the waypoint's measurement period instead).
//
// Errors: KindNotFound, also when the key may not read the owner; KindInvalid
// for a product that is no waypoint, an unknown granularity, a window that ends before
// it starts or holds more than 8,784 buckets.
func (s *Service) Traffic(ctx context.Context, key cloudmeter.APIKey, req TrafficRequest) (*TrafficView, error) {
	now := s.Now()
	if req.Granularity == "" {
		req.Granularity = "hour"
	}
	bucket, ok := Granularities[req.Granularity]
	if !ok {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "granularity: %q must be hour or day", req.Granularity)
	}
	res, _, err := s.store.Resource(ctx, req.ProductID)
	if err != nil {
		return nil, err
	}
	if !key.CanReadUser(res.UserID) {
		return nil, cloudmeter.ProductNotFound(req.ProductID)
	}
	if !res.Type.Waypoint() {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "product %d is a %s, not a waypoint (network or data_lake): it meters no traffic", req.ProductID, res.Type)
	}
	if req.From == 0 {
		req.From = res.ProvisionedAt
	}
	if req.To == 0 {
		req.To = now
		if res.DeletedAt != 0 {
			req.To = res.DeletedAt
		}
	}
	if req.To < req.From {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "to: %s is before from %s", cloudmeter.FormatTime(req.To), cloudmeter.FormatTime(req.From))
	}
	first, last := req.From-req.From%bucket, req.To-req.To%bucket
	if n := (last-first)/bucket + 1; n > maxSeriesPoints {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "the window from %s to %s holds %d %ss, more than %d: ask for a shorter window or granularity=day",
			cloudmeter.FormatTime(req.From), cloudmeter.FormatTime(req.To), n, req.Granularity, maxSeriesPoints)
	}
	pts, err := s.store.TrafficSeries(ctx, cloudmeter.TrafficSeriesQuery{ProductID: req.ProductID, From: req.From, To: req.To, Bucket: bucket})
	if err != nil {
		return nil, err
	}
	v := &TrafficView{Resource: res, Granularity: req.Granularity, Bucket: bucket, From: req.From, To: req.To}
	for at, i := first, 0; at <= last; at += bucket {
		p := cloudmeter.TrafficPoint{Start: at}
		if i < len(pts) && pts[i].Start == at {
			p = pts[i]
			i++
		}
		down, ok1 := rating.AddBytes(v.Download, p.Download)
		up, ok2 := rating.AddBytes(v.Upload, p.Upload)
		if !ok1 || !ok2 {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
				"product %d: its traffic from %s to %s totals more than %d bytes in one direction, more than a report can hold: ask for a shorter window",
				req.ProductID, cloudmeter.FormatTime(first), cloudmeter.FormatTime(last), int64(rating.MaxTotalBytes))
		}
		v.Download, v.Upload = down, up
		v.Points = append(v.Points, p)
	}
	return v, nil
}
