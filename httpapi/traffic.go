package httpapi

import (
	"net/http"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

type trafficPointJSON struct {
	Start          string `json:"start"`
	DownloadBytes  int64  `json:"download_bytes"`
	UploadBytes    int64  `json:"upload_bytes"`
	DownloadGBytes string `json:"download_gbytes"`
	UploadGBytes   string `json:"upload_gbytes"`
	Samples        int64  `json:"samples"`
}

type trafficJSON struct {
	ProductID         int64              `json:"product_id"`
	ResourceType      string             `json:"resource_type"`
	MeasurementPeriod int64              `json:"measurement_period"`
	Granularity       string             `json:"granularity"`
	From              string             `json:"from"`
	To                string             `json:"to"`
	DownloadBytes     int64              `json:"download_bytes"`
	UploadBytes       int64              `json:"upload_bytes"`
	DownloadGBytes    string             `json:"download_gbytes"`
	UploadGBytes      string             `json:"upload_gbytes"`
	Points            []trafficPointJSON `json:"points"`
}

// getTraffic answers GET /api/v1/resources/{product_id}/traffic?from=&to=&granularity=.
func (a *API) getTraffic(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	id, err := pathInt(r, "product_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	req := service.TrafficRequest{ProductID: id, Granularity: q.Get("granularity")}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from", &req.From}, {"to", &req.To}} {
		if s := q.Get(p.name); s != "" {
			if *p.dst, err = cloudmeter.ParseTime(p.name, s); err != nil {
				a.fail(w, r, err)
				return
			}
		}
	}
	v, err := a.svc.Traffic(r.Context(), key, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	period := cloudmeter.DefaultMeasurementPeriod
	if p := v.Resource.Attributes.MeasurementPeriod; p != nil {
		period = *p
	}
	out := trafficJSON{ProductID: v.Resource.ProductID, ResourceType: string(v.Resource.Type), MeasurementPeriod: period, Granularity: v.Granularity,
		From: cloudmeter.FormatTime(v.From), To: cloudmeter.FormatTime(v.To), DownloadBytes: v.Download, UploadBytes: v.Upload,
		DownloadGBytes: money.FormatGB4(money.GBFromBytes(v.Download)), UploadGBytes: money.FormatGB4(money.GBFromBytes(v.Upload)),
		Points: make([]trafficPointJSON, len(v.Points))}
	for i, p := range v.Points {
		out.Points[i] = trafficPointJSON{Start: cloudmeter.FormatTime(p.Start), DownloadBytes: p.Download, UploadBytes: p.Upload,
			DownloadGBytes: money.FormatGB4(money.GBFromBytes(p.Download)), UploadGBytes: money.FormatGB4(money.GBFromBytes(p.Upload)), Samples: p.Samples}
	}
	WriteJSON(w, http.StatusOK, out)
}
