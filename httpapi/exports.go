package httpapi

import (
	"net/http"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// exportTargetJSON is a target as the API shows it: everything but its token, with the
// status of its deliveries.
type exportTargetJSON struct {
	ID               string        `json:"id"`
	URL              string        `json:"url"`
	ConfigurationID  string        `json:"configuration_id"`
	Users            []int64       `json:"users"`
	Infrastructures  []int64       `json:"infrastructures"`
	ScheduleSeconds  int64         `json:"schedule_seconds"`
	NextSubmissionAt string        `json:"next_submission_at"`
	OpenPeriod       string        `json:"open_period"`
	LastSentAt       *string       `json:"last_sent_at"`
	Sent             int64         `json:"sent"`
	Failed           int64         `json:"failed"`
	Pending          int64         `json:"pending"`
	OldestPendingAt  *string       `json:"oldest_pending_at"`
	LastFailure      *deliveryJSON `json:"last_failure,omitempty"`
}

type deliveryJSON struct {
	Seq       int64  `json:"seq"`
	Kind      string `json:"kind"`
	Period    string `json:"period"`
	Attempts  int64  `json:"attempts"`
	Error     string `json:"error"`
	CreatedAt string `json:"created_at"`
}

func optTime(t int64) *string {
	if t == 0 {
		return nil
	}
	s := cloudmeter.FormatTime(t)
	return &s
}

func toExportTargetJSON(st cloudmeter.ExportStatus) exportTargetJSON {
	t := st.Target
	out := exportTargetJSON{ID: t.ID, URL: t.URL, ConfigurationID: t.ConfigurationID, Users: t.Users, Infrastructures: t.Infrastructures,
		ScheduleSeconds: t.Schedule, NextSubmissionAt: cloudmeter.FormatTime(t.NextRunAt), OpenPeriod: t.OpenPeriod, LastSentAt: optTime(st.LastSentAt),
		Sent: st.Sent, Failed: st.Failed, Pending: st.Pending, OldestPendingAt: optTime(st.OldestPendingAt)}
	if out.Users == nil {
		out.Users = []int64{}
	}
	if out.Infrastructures == nil {
		out.Infrastructures = []int64{}
	}
	if f := st.LastFailure; f != nil {
		out.LastFailure = &deliveryJSON{Seq: f.Seq, Kind: string(f.Kind), Period: f.Period, Attempts: f.Attempts, Error: f.LastError,
			CreatedAt: cloudmeter.FormatTime(f.CreatedAt)}
	}
	return out
}

// getExports answers GET /api/v1/exports: every target with its deliveries' status.
func (a *API) getExports(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	sts, err := a.svc.ExportStatuses(r.Context(), key)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]exportTargetJSON, len(sts))
	for i, st := range sts {
		out[i] = toExportTargetJSON(st)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"targets": out})
}

// putExport answers PUT /api/v1/exports/{target_id}: creates or replaces a target.
func (a *API) putExport(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		URL             string  `json:"url"`
		ConfigurationID string  `json:"configuration_id"`
		AccessToken     string  `json:"access_token"`
		Users           []int64 `json:"users"`
		Infrastructures []int64 `json:"infrastructures"`
		ScheduleSeconds int64   `json:"schedule_seconds"`
	}
	if !a.writeBody(w, r, key, cloudmeter.PermAdmin, &in, `{"url": "...", "configuration_id": "...", "access_token": "...", "users": [N], "infrastructures": [N], "schedule_seconds": N}`) {
		return
	}
	if in.ScheduleSeconds < 0 || in.ScheduleSeconds > 366*86400 {
		a.fail(w, r, cloudmeter.Errorf(cloudmeter.KindInvalid, "schedule_seconds: must be 1 to %d (0 or absent: hourly)", 366*86400))
		return
	}
	if _, err := a.svc.PutExportTarget(r.Context(), key, service.ExportTargetRequest{ID: r.PathValue("target_id"), URL: in.URL,
		ConfigurationID: in.ConfigurationID, Token: cloudmeter.Secret(in.AccessToken), Users: in.Users, Infrastructures: in.Infrastructures,
		Schedule: time.Duration(in.ScheduleSeconds) * time.Second}); err != nil {
		a.fail(w, r, err)
		return
	}
	sts, err := a.svc.ExportStatuses(r.Context(), key)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, st := range sts {
		if st.Target.ID == r.PathValue("target_id") {
			WriteJSON(w, http.StatusOK, toExportTargetJSON(st))
			return
		}
	}
	a.fail(w, r, cloudmeter.Errorf(cloudmeter.KindUnavailable, "the target was stored but could not be read back"))
}

// deleteExport answers DELETE /api/v1/exports/{target_id}.
func (a *API) deleteExport(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	if err := a.svc.DeleteExportTarget(r.Context(), key, r.PathValue("target_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
