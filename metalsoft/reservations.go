package metalsoft

// Server type reservations, as MetalSoft's API names them:
//
//	server_type_reservation_create(user, objReservation, nQuantity=1) -> [reservation, ...]
//	server_type_reservation_get(nServerTypeReservationID)              -> reservation
//	user_server_type_reservations(user)                                -> {"id": reservation, ...}
//	user_server_type_reservations_unused(user)                         -> {"id": reservation, ...}
//
// A reservation is one instance (nQuantity makes that many), with MetalSoft's
// ServerTypeReservation fields; amounts are decimal strings in the price book's currency.

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/reservation"
	"github.com/cloudmeter/cloudmeter/service"
)

// registerReservations adds the reservation methods to s.
func (a *api) registerReservations(s *jsonrpc.Server) {
	s.Register("server_type_reservation_create", a.reservationCreate)
	s.Register("server_type_reservation_get", a.reservationGet)
	s.Register("user_server_type_reservations", a.userReservations(false))
	s.Register("user_server_type_reservations_unused", a.userReservations(true))
}

var (
	pReservation   = []string{"reservation", "objReservation"}
	pQuantity      = []string{"quantity", "nQuantity"}
	pReservationID = []string{"server_type_reservation_id", "nServerTypeReservationID"}
	pUserID        = []string{"user", "strUserID"}
)

// reservationFields are the members objReservation may hold; the others of MetalSoft's
// ServerTypeReservation are set by the server.
const reservationFields = "server_type_id, datacenter_name, resource_reservation_price, resource_utilization_price, " +
	"resource_reservation_cycle_months, resource_reservation_start_timestamp, server_type_name, user_id, type, " +
	"resource_reservation_installment_cycle_months (1), resource_reservation_recurring (false)"

func (a *api) reservationCreate(ctx context.Context, p jsonrpc.Params) (any, error) {
	if !p.Named() && p.Len() > 3 {
		return nil, invalidParams("at most 3 parameters are accepted")
	}
	user, err := userParam(p, pUserID)
	if err != nil {
		return nil, err
	}
	raw, ok := arg(p, 1, pReservation)
	if !ok || isNull(raw) {
		return nil, invalidParams("reservation (parameter 2, an object such as {\"server_type_id\": 12, \"datacenter_name\": \"uk-reading\", " +
			"\"resource_reservation_price\": \"150.00\"}) is required")
	}
	req, err := reservationParam(raw)
	if err != nil {
		return nil, err
	}
	if req.UserID != 0 && req.UserID != user {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "reservation.user_id: %d is not the user parameter, %d", req.UserID, user)
	}
	req.UserID = user
	if raw, ok := arg(p, 2, pQuantity); ok && !isNull(raw) {
		n, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
		if err != nil {
			return nil, typeMismatch("quantity", "an integer number of instances")
		}
		if n < 1 {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "quantity: %d must be from 1 to %d", n, reservation.MaxQuantity)
		}
		req.Quantity = n
	}
	rs, err := a.svc.CreateReservations(ctx, keyFrom(ctx), req)
	if err != nil {
		return nil, err
	}
	return reservationList{rs, false}, nil
}

func userParam(p jsonrpc.Params, names []string) (int64, error) {
	raw, ok := arg(p, 0, names)
	if !ok || isNull(raw) {
		return 0, invalidParams(names[0] + " (parameter 1, the user id) is required")
	}
	user, err := intParam(raw)
	if err != nil {
		if !jsonrpc.ValidText(raw) {
			return 0, valueInvalid(names[0])
		}
		return 0, typeMismatch(names[0], "an integer user id")
	}
	return user, nil
}

// reservationParam reads objReservation.
func reservationParam(raw json.RawMessage) (service.ReservationRequest, error) {
	var req service.ReservationRequest
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return req, typeMismatch("reservation", "an object with "+reservationFields)
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := obj[k]
		if isNull(v) {
			continue
		}
		field := "reservation." + k
		var err error
		switch k {
		case "server_type_id":
			if req.ServerTypeID, err = strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64); err != nil {
				return req, typeMismatch(field, "an integer server type id")
			}
		case "datacenter_name":
			req.Datacenter, err = textMember(field, v)
		case "server_type_name":
			req.ServerTypeName, err = textMember(field, v)
		case "resource_reservation_price":
			req.Price, err = amountMember(field, v)
		case "resource_utilization_price":
			req.UtilizationPrice, err = amountMember(field, v)
		case "resource_reservation_cycle_months":
			n, perr := strconv.Atoi(string(bytes.TrimSpace(v)))
			if perr != nil {
				return req, typeMismatch(field, "an integer number of months")
			}
			if n < 1 || n > reservation.MaxCycleMonths {
				return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %d must be from 1 to %d", field, n, reservation.MaxCycleMonths)
			}
			req.CycleMonths = n
		case "resource_reservation_start_timestamp":
			var s string
			if s, err = textMember(field, v); err == nil {
				req.Start, err = cloudmeter.ParseTime(field, s)
			}
		case "resource_reservation_installment_cycle_months":
			if string(bytes.TrimSpace(v)) != "1" {
				return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: installments are monthly: it must be 1", field)
			}
		case "resource_reservation_recurring":
			if string(bytes.TrimSpace(v)) != "false" {
				return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: reservations are not renewed: it must be false", field)
			}
		case "type":
			if s, terr := textMember(field, v); terr != nil || s != "ServerTypeReservation" {
				return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be \"ServerTypeReservation\"", field)
			}
		case "user_id":
			// Checked against the user parameter by the caller.
			if _, err = intParam(v); err != nil {
				return req, typeMismatch(field, "an integer user id")
			}
			req.UserID, _ = intParam(v)
		default:
			return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: not accepted: a reservation holds %s", field, reservationFields)
		}
		if err != nil {
			return req, err
		}
	}
	if req.ServerTypeID == 0 {
		return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "reservation.server_type_id: required: the server type reserved")
	}
	if _, ok := obj["resource_reservation_price"]; !ok {
		return req, cloudmeter.Errorf(cloudmeter.KindInvalid, "reservation.resource_reservation_price: required: the monthly installment, a decimal string such as \"150.00\"")
	}
	return req, nil
}

func textMember(field string, v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", typeMismatch(field, "a string")
	}
	if !jsonrpc.ValidText(v) {
		return "", valueInvalid(field)
	}
	return s, nil
}

// amountMember reads an amount given as a decimal string, or as a JSON number read from
// its digits (never through a float).
func amountMember(field string, v json.RawMessage) (money.Amount, error) {
	v = bytes.TrimSpace(v)
	s := string(v)
	if len(v) > 0 && v[0] == '"' {
		var err error
		if s, err = textMember(field, v); err != nil {
			return 0, err
		}
	} else if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, typeMismatch(field, "a decimal string such as \"150.00\"")
	}
	a, err := money.ParseAmount(s)
	if err != nil {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %s: it must be a decimal of at most 8 decimal places, such as \"150.00\"",
			field, strings.TrimPrefix(err.Error(), "money: "))
	}
	return a, nil
}

func (a *api) reservationGet(ctx context.Context, p jsonrpc.Params) (any, error) {
	if !p.Named() && p.Len() > 1 {
		return nil, invalidParams("at most 1 parameter is accepted")
	}
	raw, ok := arg(p, 0, pReservationID)
	if !ok || isNull(raw) {
		return nil, invalidParams("server_type_reservation_id (parameter 1) is required")
	}
	id, err := intParam(raw)
	if err != nil {
		return nil, typeMismatch("server_type_reservation_id", "an integer reservation id")
	}
	r, err := a.svc.Reservation(ctx, keyFrom(ctx), id)
	if err != nil {
		return nil, err
	}
	return reservationObject{r}, nil
}

func (a *api) userReservations(unused bool) jsonrpc.Method {
	return func(ctx context.Context, p jsonrpc.Params) (any, error) {
		if !p.Named() && p.Len() > 1 {
			return nil, invalidParams("at most 1 parameter is accepted")
		}
		user, err := userParam(p, pUserID)
		if err != nil {
			return nil, err
		}
		rs, err := a.svc.UserReservations(ctx, keyFrom(ctx), user, unused)
		if err != nil {
			return nil, err
		}
		return reservationList{rs, true}, nil
	}
}

// reservationObject writes one reservation as MetalSoft's ServerTypeReservation, members
// in alphabetical order.
type reservationObject struct{ r service.ReservationView }

// AppendJSON implements jsonrpc.JSONAppender.
func (o reservationObject) AppendJSON(b []byte) []byte {
	r := &o.r
	b = append(b, `{"datacenter_name":`...)
	b = jsonrpc.AppendString(b, r.Datacenter)
	b = append(b, `,"resource_reservation_created_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.CreatedAt)
	b = append(b, `","resource_reservation_cycle_months":`...)
	b = strconv.AppendInt(b, int64(r.CycleMonths), 10)
	b = append(b, `,"resource_reservation_end_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.End)
	b = append(b, `","resource_reservation_installment_cycle_months":1,"resource_reservation_price":`...)
	b = appendAmount(b, r.Price)
	b = append(b, `,"resource_reservation_price_currency":`...)
	b = jsonrpc.AppendString(b, r.Currency)
	b = append(b, `,"resource_reservation_recurring":false,"resource_reservation_start_timestamp":"`...)
	b = cloudmeter.AppendTime(b, r.Start)
	b = append(b, `","resource_reservation_status":`...)
	b = jsonrpc.AppendString(b, r.Status)
	b = append(b, `,"resource_utilization_price":`...)
	b = appendAmount(b, r.UtilizationPrice)
	b = append(b, `,"resource_utilization_price_currency":`...)
	b = jsonrpc.AppendString(b, r.Currency)
	b = append(b, `,"resource_utilization_price_unit_seconds":`...)
	b = strconv.AppendInt(b, reservation.UtilizationPeriod, 10)
	b = append(b, `,"server_type_id":`...)
	b = strconv.AppendInt(b, r.ServerTypeID, 10)
	b = append(b, `,"server_type_name":`...)
	b = appendOptString(b, r.ServerTypeName)
	b = append(b, `,"server_type_reservation_id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"type":"ServerTypeReservation","user_id":`...)
	b = strconv.AppendInt(b, r.UserID, 10)
	return append(b, '}')
}

func appendOptString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonrpc.AppendString(b, s)
}

// reservationList writes reservations as an array, or byID as an object keyed by id (in
// id order), as MetalSoft's list methods answer.
type reservationList struct {
	rs   []service.ReservationView
	byID bool
}

// AppendJSON implements jsonrpc.JSONAppender.
func (l reservationList) AppendJSON(b []byte) []byte {
	open, end := byte('['), byte(']')
	if l.byID {
		open, end = '{', '}'
	}
	b = append(b, open)
	for i, r := range l.rs {
		if i > 0 {
			b = append(b, ',')
		}
		if l.byID {
			b = appendKey(b, strconv.FormatInt(r.ID, 10))
		}
		b = reservationObject{r}.AppendJSON(b)
	}
	return append(b, end)
}

// appendInstallments writes the detailed report's reservation_installments member (when
// the window holds installments).
func appendInstallments(b []byte, u *report.Utilization) []byte {
	if len(u.Installments) == 0 {
		return b
	}
	b = append(b, `,"reservation_installments":{"server_types":[`...)
	for i, in := range u.Installments {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"cost":`...)
		b = appendAmount(b, in.Cost)
		b = append(b, `,"cost_currency":`...)
		b = jsonrpc.AppendString(b, u.Currency)
		b = append(b, `,"created_timestamp":"`...)
		b = cloudmeter.AppendTime(b, in.Reservation.CreatedAt)
		b = append(b, `","start_timestamp":"`...)
		b = cloudmeter.AppendTime(b, in.Start)
		b = append(b, `","end_timestamp":"`...)
		b = cloudmeter.AppendTime(b, in.End)
		b = append(b, `","server_type_name":`...)
		b = appendOptString(b, in.Reservation.ServerTypeName)
		b = append(b, `,"server_type_reservation_id":`...)
		b = strconv.AppendInt(b, in.Reservation.ID, 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// isReservation is a record's is_reservation: "1" when a reservation covers it.
func isReservation(r *report.Record) string {
	if r.Reservation != nil {
		return "1"
	}
	return "0"
}
