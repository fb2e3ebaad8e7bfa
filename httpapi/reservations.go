package httpapi

import (
	"net/http"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// Server type reservations: POST /api/v1/reservations reserves instances,
// GET /api/v1/reservations/{reservation_id} reads one, GET
// /api/v1/users/{user_id}/reservations lists a user's (?unused=true: those in force now
// that cover no instance now).

type reservationJSON struct {
	ID               int64   `json:"reservation_id"`
	UserID           int64   `json:"user_id"`
	ServerTypeID     int64   `json:"server_type_id"`
	ServerTypeName   *string `json:"server_type_name"`
	Datacenter       string  `json:"datacenter"`
	Price            string  `json:"price"`
	UtilizationPrice string  `json:"utilization_price"`
	Currency         string  `json:"currency"`
	CycleMonths      int     `json:"cycle_months"`
	CreatedAt        string  `json:"created_at"`
	Start            string  `json:"start"`
	End              string  `json:"end"`
	Status           string  `json:"status"`
}

func toReservationJSON(r service.ReservationView) reservationJSON {
	out := reservationJSON{ID: r.ID, UserID: r.UserID, ServerTypeID: r.ServerTypeID, Datacenter: r.Datacenter, Price: r.Price.String(),
		UtilizationPrice: r.UtilizationPrice.String(), Currency: r.Currency, CycleMonths: r.CycleMonths, CreatedAt: cloudmeter.FormatTime(r.CreatedAt),
		Start: cloudmeter.FormatTime(r.Start), End: cloudmeter.FormatTime(r.End), Status: r.Status}
	if r.ServerTypeName != "" {
		out.ServerTypeName = &r.ServerTypeName
	}
	return out
}

func toReservationsJSON(rs []service.ReservationView) map[string]any {
	out := make([]reservationJSON, len(rs))
	for i, r := range rs {
		out[i] = toReservationJSON(r)
	}
	return map[string]any{"reservations": out}
}

const reservationShape = `{"user_id": N, "server_type_id": N, "datacenter": "...", "price": "150.00", "utilization_price": "0", ` +
	`"cycle_months": 12, "start": "2024-03-16T00:00:00Z", "quantity": 1, "server_type_name": "..."}`

func (a *API) postReservations(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		UserID           *int64  `json:"user_id"`
		ServerTypeID     *int64  `json:"server_type_id"`
		ServerTypeName   string  `json:"server_type_name"`
		Datacenter       string  `json:"datacenter"`
		Price            *string `json:"price"`
		UtilizationPrice *string `json:"utilization_price"`
		CycleMonths      int     `json:"cycle_months"`
		Start            string  `json:"start"`
		Quantity         int     `json:"quantity"`
	}
	if !a.writeBody(w, r, key, cloudmeter.PermPricesWrite, &in, reservationShape) {
		return
	}
	var err error
	req := service.ReservationRequest{ServerTypeName: in.ServerTypeName, Datacenter: in.Datacenter, CycleMonths: in.CycleMonths, Quantity: in.Quantity}
	switch {
	case in.UserID == nil:
		err = cloudmeter.Errorf(cloudmeter.KindInvalid, "user_id: required: the user who reserves")
	case in.ServerTypeID == nil:
		err = cloudmeter.Errorf(cloudmeter.KindInvalid, "server_type_id: required: the server type reserved")
	case in.CycleMonths < 0:
		err = cloudmeter.Errorf(cloudmeter.KindInvalid, "cycle_months: %d must be from 1 to 120 (absent: 12)", in.CycleMonths)
	case in.Quantity < 0:
		err = cloudmeter.Errorf(cloudmeter.KindInvalid, "quantity: %d must be from 1 to 1000 (absent: 1)", in.Quantity)
	}
	if err == nil {
		req.UserID, req.ServerTypeID = *in.UserID, *in.ServerTypeID
		req.Price, err = parseAmount("price", in.Price)
	}
	if err == nil && in.UtilizationPrice != nil {
		req.UtilizationPrice, err = parseAmount("utilization_price", in.UtilizationPrice)
	}
	if err == nil && in.Start != "" {
		req.Start, err = cloudmeter.ParseTime("start", in.Start)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rs, err := a.svc.CreateReservations(r.Context(), key, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, toReservationsJSON(rs))
}

func (a *API) getReservation(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	id, err := pathInt(r, "reservation_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.svc.Reservation(r.Context(), key, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toReservationJSON(res))
}

func (a *API) getUserReservations(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	user, err := pathInt(r, "user_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var unused bool
	if s := r.URL.Query().Get("unused"); s != "" {
		if unused, err = strconv.ParseBool(s); err != nil {
			a.fail(w, r, cloudmeter.Errorf(cloudmeter.KindInvalid, "unused: %q must be true or false", s))
			return
		}
	}
	rs, err := a.svc.UserReservations(r.Context(), key, user, unused)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toReservationsJSON(rs))
}
