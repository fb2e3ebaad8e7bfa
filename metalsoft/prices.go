package metalsoft

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/service"
)

// registerPriceMethods adds the price methods MetalSoft clients read: prices,
// prices_history, user_prices, server_types and server_type_get (docs/api.md).
func registerPriceMethods(s *jsonrpc.Server, a *api) {
	s.Register("prices", a.prices)
	s.Register("prices_history", a.pricesHistory)
	s.Register("user_prices", a.userPrices)
	s.Register("server_types", a.serverTypes)
	s.Register("server_type_get", a.serverTypeGet)
}

// priceBookAnswer is the answer of prices, prices_history and user_prices: the entries,
// each as the native price book writes it plus its index in the book, its currency and
// its server type's name. cost_currency is null when no price book was loaded.
type priceBookAnswer struct {
	CostCurrency *string      `json:"cost_currency"`
	Version      int64        `json:"price_book_version"`
	Prices       []priceEntry `json:"prices"`
}

type priceEntry struct {
	PriceEntry     int     `json:"price_entry"`
	ResourceType   string  `json:"resource_type"`
	DatacenterName *string `json:"datacenter_name"`
	UserID         *int64  `json:"user_id"`
	ServerTypeID   *int64  `json:"server_type_id"`
	ServerTypeName *string `json:"server_type_name"`
	StorageType    *string `json:"storage_type"`
	SubnetType     *string `json:"subnet_type"`
	State          *string `json:"state"`
	Direction      *string `json:"direction"`
	Price          string  `json:"price"`
	Unit           string  `json:"unit"`
	PeriodSeconds  *int64  `json:"period_seconds"`
	CostCurrency   string  `json:"cost_currency"`
	ValidFrom      *string `json:"valid_from"`
	ValidUntil     *string `json:"valid_until"`
}

func toPriceAnswer(pl *service.PriceList) priceBookAnswer {
	out := priceBookAnswer{Version: pl.Version, Prices: make([]priceEntry, 0, len(pl.Entries))}
	if pl.Currency != "" {
		out.CostCurrency = &pl.Currency
	}
	for _, e := range pl.Entries {
		w := priceEntry{PriceEntry: e.Index(), ResourceType: string(e.ResourceType), DatacenterName: e.Datacenter, UserID: e.UserID,
			ServerTypeID: e.ServerTypeID, StorageType: e.StorageType, SubnetType: e.SubnetType, State: e.State, Direction: e.Direction,
			Price: e.Price.String(), Unit: string(e.Unit), CostCurrency: pl.Currency}
		if e.ServerTypeID != nil && pl.Book != nil {
			if st, ok := pl.Book.ServerType(*e.ServerTypeID); ok {
				w.ServerTypeName = &st.Name
			}
		}
		if !e.Traffic() {
			w.PeriodSeconds = &e.PeriodSeconds
		}
		if e.From() > -pricebook.Forever {
			t := cloudmeter.FormatTime(e.From())
			w.ValidFrom = &t
		}
		if e.Until() < pricebook.Forever {
			t := cloudmeter.FormatTime(e.Until())
			w.ValidUntil = &t
		}
		out.Prices = append(out.Prices, w)
	}
	return out
}

func noParams(p jsonrpc.Params, method string) error {
	if p.Len() > 0 {
		return invalidParams(method + " takes no parameters")
	}
	return nil
}

func (a *api) prices(ctx context.Context, p jsonrpc.Params) (any, error) {
	if err := noParams(p, "prices"); err != nil {
		return nil, err
	}
	pl, err := a.svc.PublicPrices(ctx, keyFrom(ctx), false)
	if err != nil {
		return nil, err
	}
	return toPriceAnswer(pl), nil
}

func (a *api) pricesHistory(ctx context.Context, p jsonrpc.Params) (any, error) {
	if err := noParams(p, "prices_history"); err != nil {
		return nil, err
	}
	pl, err := a.svc.PublicPrices(ctx, keyFrom(ctx), true)
	if err != nil {
		return nil, err
	}
	return toPriceAnswer(pl), nil
}

var (
	pPriceUser  = []string{"user", "strUserID"}
	pDatacenter = []string{"datacenter_name", "strDatacenterName"}
	pAvailable  = []string{"only_available", "bOnlyAvailable"}
	pServerType = []string{"server_type_id", "strServerTypeID"}
)

// idParam reads a required id parameter: an integer or a string of digits.
func idParam(p jsonrpc.Params, i int, names []string, what string) (int64, error) {
	raw, ok := arg(p, i, names)
	if !ok || isNull(raw) {
		return 0, invalidParams(names[0] + " (parameter " + strconv.Itoa(i+1) + ", " + what + ") is required")
	}
	id, err := intParam(raw)
	if err != nil {
		if !jsonrpc.ValidText(raw) {
			return 0, valueInvalid(names[0])
		}
		return 0, typeMismatch(names[0], what)
	}
	return id, nil
}

func (a *api) userPrices(ctx context.Context, p jsonrpc.Params) (any, error) {
	if !p.Named() && p.Len() > 1 {
		return nil, invalidParams("user_prices takes 1 parameter, the user id")
	}
	user, err := idParam(p, 0, pPriceUser, "an integer user id")
	if err != nil {
		return nil, err
	}
	pl, err := a.svc.UserPrices(ctx, keyFrom(ctx), user)
	if err != nil {
		return nil, err
	}
	return toPriceAnswer(pl), nil
}

// serverTypeAnswer is a server type as MetalSoft's SDKs decode it ("type" names the
// object for their deserializers).
type serverTypeAnswer struct {
	ID          int64   `json:"server_type_id"`
	Name        *string `json:"server_type_name"`
	DisplayName *string `json:"server_type_display_name"`
	Priced      bool    `json:"server_type_priced"`
	Type        string  `json:"type"`
}

func toServerType(st service.ServerType) serverTypeAnswer {
	out := serverTypeAnswer{ID: st.ID, Priced: st.Priced, Type: "ServerType"}
	if st.Name != "" {
		out.Name = &st.Name
	}
	if st.DisplayName != "" {
		out.DisplayName = &st.DisplayName
	}
	return out
}

// serverTypes answers server_types(datacenter_name=null, only_available=false): the
// server types by id. Server types are not per datacenter in cloudmeter: a datacenter
// name must be known, and the list is the same.
func (a *api) serverTypes(ctx context.Context, p jsonrpc.Params) (any, error) {
	if !p.Named() && p.Len() > 2 {
		return nil, invalidParams("server_types takes at most 2 parameters: datacenter_name and only_available")
	}
	if raw, ok := arg(p, 0, pDatacenter); ok && !isNull(raw) {
		var dc string
		if err := json.Unmarshal(raw, &dc); err != nil {
			return nil, typeMismatch("datacenter_name", "null or a datacenter name")
		}
		if !jsonrpc.ValidText(raw) {
			return nil, valueInvalid("datacenter_name")
		}
		// The report's check: an unknown datacenter is 269.
		if err := a.svc.CheckDatacenter(ctx, dc); err != nil {
			return nil, err
		}
	}
	if raw, ok := arg(p, 1, pAvailable); ok && !isNull(raw) {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, typeMismatch("only_available", "null, true or false")
		}
	}
	all, err := a.svc.ServerTypes(ctx, keyFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := make(map[string]serverTypeAnswer, len(all))
	for _, st := range all {
		out[strconv.FormatInt(st.ID, 10)] = toServerType(st)
	}
	return out, nil
}

func (a *api) serverTypeGet(ctx context.Context, p jsonrpc.Params) (any, error) {
	if !p.Named() && p.Len() > 1 {
		return nil, invalidParams("server_type_get takes 1 parameter, the server type id")
	}
	id, err := idParam(p, 0, pServerType, "an integer server type id")
	if err != nil {
		return nil, err
	}
	st, err := a.svc.ServerTypeByID(ctx, keyFrom(ctx), id)
	if err != nil {
		return nil, err
	}
	return toServerType(st), nil
}
