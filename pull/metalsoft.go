package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// RPCPath is where MetalSoft serves its JSON-RPC API; an endpoint given without it gets
// it appended.
const RPCPath = "/api/developer/developer"

// MetalSoft pulls resource_utilization_detailed from a MetalSoft-compatible endpoint.
type MetalSoft struct {
	// Endpoint is the JSON-RPC URL, or the base URL it is served under.
	Endpoint string
	// APIKey is sent as a Bearer token: a key with utilization_reports_read.
	APIKey string
	// Source tags the records (default "metalsoft " + the endpoint).
	Source string
	Client *http.Client
}

// URL is the JSON-RPC URL the connector calls.
func (m MetalSoft) URL() string {
	e := strings.TrimRight(m.Endpoint, "/")
	if strings.HasSuffix(e, RPCPath) {
		return e
	}
	return e + RPCPath
}

// SourceName is the tag of the records.
func (m MetalSoft) SourceName() string {
	if m.Source != "" {
		return m.Source
	}
	return "metalsoft " + m.URL()
}

// Pull imports the utilization of the source's user over [from, to] as the local user's,
// a calendar month per window (each month a request), reporting progress after each.
//
// Errors: KindUnavailable when the endpoint cannot be reached or fails; KindInvalid for
// an answer that is not a detailed report; KindConflict when a window overlaps one
// pulled before without being it; the source's error message otherwise.
func (m MetalSoft) Pull(ctx context.Context, svc *service.Service, sourceUser, localUser, from, to int64, progress Progress) (Result, error) {
	res := Result{Source: m.SourceName()}
	if to < from {
		return res, cloudmeter.Errorf(cloudmeter.KindInvalid, "--to: %s is before --from %s", cloudmeter.FormatTime(to), cloudmeter.FormatTime(from))
	}
	chunks := monthChunks(from, to)
	if progress != nil {
		progress(0, len(chunks))
	}
	for i, c := range chunks {
		recs, warnings, err := m.Detailed(ctx, sourceUser, c[0], c[1])
		if err != nil {
			return res, err
		}
		res.Warnings = append(res.Warnings, warnings...)
		w := cloudmeter.PullWindow{Source: res.Source, UserID: localUser, From: c[0], To: c[1]}
		for j := range recs {
			recs[j].Source, recs[j].UserID = res.Source, localUser
		}
		if err := res.imported(ctx, svc, w, recs); err != nil {
			return res, err
		}
		if progress != nil {
			progress(i+1, len(chunks))
		}
	}
	return res, nil
}

type rpcAnswer struct {
	Result *detailedAnswer `json:"result"`
	Error  *struct {
		Message string `json:"message"`
		Code    flex   `json:"code"`
	} `json:"error"`
}

type detailedAnswer struct {
	Detailed        map[string]map[string][]msRecord             `json:"detailed_report"`
	Network         map[string]map[string]map[string]msDirection `json:"network_report"`
	Infrastructures map[string]struct {
		Label string `json:"infrastructure_label"`
	} `json:"infrastructures"`
}

type msDirection struct {
	Waypoints []msRecord `json:"metered_waypoints"`
}

type msRecord struct {
	Cost              flex    `json:"cost"`
	Currency          string  `json:"cost_currency"`
	CostPerUnit       flex    `json:"cost_per_unit"`
	Start             string  `json:"start_timestamp"`
	End               string  `json:"end_timestamp"`
	MeasurementPeriod flex    `json:"measurement_period"`
	ProductID         flex    `json:"product_id"`
	Label             string  `json:"product_label"`
	Subdomain         string  `json:"product_subdomain"`
	Quantity          flex    `json:"quantity"`
	ServerTypeID      *flex   `json:"server_type_id"`
	DriveSize         *flex   `json:"drive_size_mbytes"`
	SharedDriveSize   *flex   `json:"shared_drive_size_mbytes"`
	SubnetPrefix      *flex   `json:"subnet_prefix_size"`
	SubnetType        *string `json:"subnet_type"`
	StoredGBytes      *flex   `json:"resource_utilization_gbytes"`
}

// Detailed calls resource_utilization_detailed for [from, to] and returns its records
// (usage and network waypoints), without source or user.
func (m MetalSoft) Detailed(ctx context.Context, user, from, to int64) ([]cloudmeter.PulledRecord, []string, error) {
	call, _ := json.Marshal(map[string]any{"id": 1, "jsonrpc": "2.0", "method": "resource_utilization_detailed",
		"params": []any{user, cloudmeter.FormatTime(from), cloudmeter.FormatTime(to)}})
	req, err := http.NewRequest(http.MethodPost, m.URL(), bytes.NewReader(call))
	if err != nil {
		return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "--endpoint: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+m.APIKey)
	var ans rpcAnswer
	if err := do(ctx, defaultClient(m.Client), req, &ans); err != nil {
		return nil, nil, err
	}
	if ans.Error != nil {
		return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: resource_utilization_detailed(%d, %s, %s): error %s: %s", m.URL(), user,
			cloudmeter.FormatTime(from), cloudmeter.FormatTime(to), ans.Error.Code, ans.Error.Message)
	}
	if ans.Result == nil {
		return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: the answer holds neither a result nor an error", m.URL())
	}
	return ans.Result.records()
}

func (d *detailedAnswer) records() ([]cloudmeter.PulledRecord, []string, error) {
	var out []cloudmeter.PulledRecord
	var warnings []string
	label := func(infra string) string { return d.Infrastructures[infra].Label }
	for _, infra := range sortedKeys(d.Detailed) {
		infraID, err := strconv.ParseInt(infra, 10, 64)
		if err != nil {
			return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "detailed_report: %q is not an infrastructure id", infra)
		}
		for _, typ := range sortedKeys(d.Detailed[infra]) {
			for i, rec := range d.Detailed[infra][typ] {
				what := fmt.Sprintf("detailed_report[%s][%s][%d]", infra, typ, i)
				r, warn, err := rec.pulled(what, infraID, label(infra), cloudmeter.ResourceType(typ), "", false)
				if err != nil {
					return nil, nil, err
				}
				warnings = append(warnings, warn...)
				out = append(out, r)
			}
		}
	}
	for _, infra := range sortedKeys(d.Network) {
		infraID, err := strconv.ParseInt(infra, 10, 64)
		if err != nil {
			return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "network_report: %q is not an infrastructure id", infra)
		}
		for _, typ := range sortedKeys(d.Network[infra]) {
			for _, dir := range sortedKeys(d.Network[infra][typ]) {
				if dir != string(cloudmeter.DirectionDownload) && dir != string(cloudmeter.DirectionUpload) {
					return nil, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "network_report[%s][%s]: %q is not a direction", infra, typ, dir)
				}
				for i, rec := range d.Network[infra][typ][dir].Waypoints {
					what := fmt.Sprintf("network_report[%s][%s][%s].metered_waypoints[%d]", infra, typ, dir, i)
					r, warn, err := rec.pulled(what, infraID, label(infra), cloudmeter.ResourceType(typ), cloudmeter.Direction(dir), true)
					if err != nil {
						return nil, nil, err
					}
					warnings = append(warnings, warn...)
					out = append(out, r)
				}
			}
		}
	}
	return out, warnings, nil
}

func (rec *msRecord) pulled(what string, infra int64, infraLabel string, typ cloudmeter.ResourceType, dir cloudmeter.Direction,
	traffic bool) (cloudmeter.PulledRecord, []string, error) {
	r := cloudmeter.PulledRecord{InfrastructureID: infra, InfrastructureLabel: infraLabel, Type: typ, Direction: dir, Label: rec.Label,
		Subdomain: rec.Subdomain, Currency: rec.Currency}
	var warnings []string
	var err error
	if r.ProductID, err = strconv.ParseInt(string(rec.ProductID), 10, 64); err != nil {
		return r, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s.product_id: %q is not an id", what, rec.ProductID)
	}
	if r.Start, err = cloudmeter.ParseTime(what+".start_timestamp", rec.Start); err != nil {
		return r, nil, err
	}
	if r.End, err = cloudmeter.ParseTime(what+".end_timestamp", rec.End); err != nil {
		return r, nil, err
	}
	mp := string(rec.MeasurementPeriod)
	if mp == "" {
		mp = "3600"
	}
	if r.MeasurementPeriod, err = strconv.ParseInt(mp, 10, 64); err != nil || r.MeasurementPeriod <= 0 {
		return r, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s.measurement_period: %q is not a number of seconds above 0", what, rec.MeasurementPeriod)
	}
	scale := 0 // seconds
	if traffic {
		scale = 4 // GB, to 4 places
	}
	var rounded bool
	if r.Quantity, rounded, err = decimalScaled(what+".quantity", string(rec.Quantity), scale); err != nil {
		return r, nil, err
	}
	if rounded {
		warnings = append(warnings, fmt.Sprintf("%s.quantity %s has more places than kept: rounded", what, rec.Quantity))
	}
	var r1, r2 bool
	if r.Cost, r1, err = amount(what+".cost", string(rec.Cost)); err != nil {
		return r, nil, err
	}
	if r.CostPerUnit, r2, err = amount(what+".cost_per_unit", string(rec.CostPerUnit)); err != nil {
		return r, nil, err
	}
	if r1 || r2 {
		warnings = append(warnings, fmt.Sprintf("%s: an amount has more than 8 decimal places: rounded half-up to 8", what))
	}
	a := &r.Attributes
	for _, f := range []struct {
		v    *flex
		dst  **int64
		name string
	}{{rec.ServerTypeID, &a.ServerTypeID, "server_type_id"}, {rec.DriveSize, &a.DriveSizeMBytes, "drive_size_mbytes"},
		{rec.SharedDriveSize, &a.SharedDriveSizeMBytes, "shared_drive_size_mbytes"}, {rec.SubnetPrefix, &a.SubnetPrefixSize, "subnet_prefix_size"},
		{rec.StoredGBytes, &a.StoredGBytes, "resource_utilization_gbytes"}} {
		if f.v == nil || *f.v == "" {
			continue
		}
		n, err := strconv.ParseInt(string(*f.v), 10, 64)
		if err != nil {
			return r, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s.%s: %q is not an integer", what, f.name, *f.v)
		}
		*f.dst = &n
	}
	a.SubnetType = rec.SubnetType
	if traffic {
		mp := r.MeasurementPeriod
		a.MeasurementPeriod = &mp
	}
	return r, warnings, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, errA := strconv.ParseInt(out[i], 10, 64)
		b, errB := strconv.ParseInt(out[j], 10, 64)
		if errA == nil && errB == nil {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}
