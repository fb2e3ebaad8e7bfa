// Package pricebook holds the price book: effective-dated unit prices per resource type
// and discriminator, per datacenter with a default, and per user (DESIGN 2.2). It parses
// and validates the native JSON format and finds the entry that prices a resource at a
// given second. It imports no SQL and no HTTP.
package pricebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

// Unit is what an entry's price is per.
type Unit string

// The units.
const (
	UnitItem Unit = "item" // per resource
	UnitGiB  Unit = "gib"  // per GiB of size (1024 MB)
	UnitIP   Unit = "ip"   // per IPv4 address of a subnet
	UnitGB   Unit = "gb"   // per GB (1024^3 bytes) of traffic; no period
)

// unitsFor lists the units an entry of each resource type may use.
var unitsFor = map[cloudmeter.ResourceType][]Unit{
	cloudmeter.ResourceInstance:    {UnitItem},
	cloudmeter.ResourceDrive:       {UnitGiB, UnitItem},
	cloudmeter.ResourceSharedDrive: {UnitGiB, UnitItem},
	cloudmeter.ResourceSubnet:      {UnitIP, UnitItem},
	cloudmeter.ResourceNetwork:     {UnitGB},
	cloudmeter.ResourceDataLake:    {UnitGiB, UnitGB},
}

// Entry is one price: a unit price over a period for the resources it matches, from
// ValidFrom (inclusive) to ValidUntil (exclusive).
type Entry struct {
	ResourceType  cloudmeter.ResourceType `json:"resource_type"`
	ServerTypeID  *int64                  `json:"server_type_id,omitempty"`
	StorageType   *string                 `json:"storage_type,omitempty"`
	SubnetType    *string                 `json:"subnet_type,omitempty"`
	State         *string                 `json:"state,omitempty"`
	Direction     *string                 `json:"direction,omitempty"`
	Datacenter    *string                 `json:"datacenter,omitempty"`
	UserID        *int64                  `json:"user_id,omitempty"`
	Price         money.Price             `json:"price"`
	Unit          Unit                    `json:"unit"`
	PeriodSeconds int64                   `json:"period_seconds,omitempty"`
	ValidFrom     *time.Time              `json:"valid_from,omitempty"`
	ValidUntil    *time.Time              `json:"valid_until,omitempty"`

	from, until int64 // unix seconds; until is Forever when open
	index       int
}

// Forever is the end of an entry that has no valid_until.
const Forever int64 = cloudmeter.OpenEnd

// Index is the entry's position in its book.
func (e *Entry) Index() int { return e.index }

// From is the first second the entry is valid.
func (e *Entry) From() int64 { return e.from }

// Until is the first second the entry is no longer valid (Forever when open).
func (e *Entry) Until() int64 { return e.until }

// Traffic reports whether the entry prices traffic (per GB) rather than time.
func (e *Entry) Traffic() bool { return e.Unit == UnitGB }

// scope ranks how specific an entry is: per-user beats per-datacenter beats default.
func (e *Entry) scope() int {
	switch {
	case e.UserID != nil:
		return 2
	case e.Datacenter != nil:
		return 1
	}
	return 0
}

// discriminators counts the resource discriminators the entry sets.
func (e *Entry) discriminators() int {
	n := 0
	for _, set := range []bool{e.ServerTypeID != nil, e.StorageType != nil, e.SubnetType != nil, e.State != nil, e.Direction != nil} {
		if set {
			n++
		}
	}
	return n
}

// ServerType names a server type, so that the MetalSoft-compatible API can list it
// (server_types, server_type_get) and reports can name it. Prices of a server type's
// instances are entries with its server_type_id, declared here or not.
type ServerType struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
}

// Book is one version of the price book.
type Book struct {
	Currency string   `json:"currency"`
	Entries  []*Entry `json:"entries"`
	// ServerTypes are the server types the book names (optional).
	ServerTypes []ServerType `json:"server_types,omitempty"`
	// Version is the stored version number; 0 for a book not yet stored.
	Version int64 `json:"-"`
}

// Empty is the book in force before any is loaded: every usage is unpriced, and it has
// no currency (reports say that no price book is loaded instead of naming one).
var Empty = &Book{}

// FieldError is one broken rule of a book.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Parse decodes and validates a book in the native JSON format. Every broken rule is
// reported with its field, such as entries[2].price, and the shape it must have, in words.
//
// Errors: KindInvalid, with the list of []FieldError as Details.
func Parse(body []byte) (*Book, error) {
	const shape = `price book: must be a JSON object {"currency": "GBP", "entries": [...]}`
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s%s", shape, bodyProblem(body, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "price book: unexpected data after the JSON object")
	}
	var errs []FieldError
	b := &Book{}
	var entries, serverTypes []json.RawMessage
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := fields[name]
		var err error
		switch name {
		case "currency":
			if err = json.Unmarshal(raw, &b.Currency); err != nil || isNull(raw) {
				errs = append(errs, FieldError{Field: "currency", Reason: "must be a string: a three-letter ISO 4217 code in capitals, such as GBP"})
			}
		case "entries":
			if err = json.Unmarshal(raw, &entries); err != nil || entries == nil {
				// null: a client mistake, never taken for a book that prices nothing.
				errs = append(errs, FieldError{Field: "entries", Reason: "must be a JSON array of price entries ([] for a book that prices nothing)"})
			}
		case "server_types":
			if err = json.Unmarshal(raw, &serverTypes); err != nil {
				errs = append(errs, FieldError{Field: "server_types", Reason: `must be a JSON array of server types such as {"id": 12, "name": "M.8.8.2"}`})
			}
		default:
			errs = append(errs, FieldError{Field: name, Reason: "is not a price book field (currency, entries, server_types)"})
		}
	}
	if _, ok := fields["entries"]; !ok {
		errs = append(errs, FieldError{Field: "entries", Reason: "must be a JSON array of price entries ([] for a book that prices nothing)"})
	}
	for i, raw := range entries {
		e, ferrs := decodeEntry(i, raw)
		errs = append(errs, ferrs...)
		b.Entries = append(b.Entries, e)
	}
	for i, raw := range serverTypes {
		st, ferrs := decodeServerType(i, raw)
		errs = append(errs, ferrs...)
		b.ServerTypes = append(b.ServerTypes, st)
	}
	if len(errs) == 0 {
		errs = b.Validate()
	}
	if len(errs) > 0 {
		msg := make([]string, len(errs))
		for i, e := range errs {
			msg[i] = e.Field + ": " + e.Reason
		}
		return nil, &cloudmeter.Error{Kind: cloudmeter.KindInvalid, Message: "price book is invalid: " + strings.Join(msg, "; "), Details: errs}
	}
	return b, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// bodyProblem says, in words, why a body is no JSON object.
func bodyProblem(body []byte, err error) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return ", and the body is empty"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return ", and the body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	switch trimmed[0] {
	case '[':
		return ", not an array"
	case '"':
		return ", not a string"
	case 'n':
		return ", not null"
	case 't', 'f':
		return ", not a boolean"
	}
	return ", not a number"
}

// decodeServerType decodes one server type field by field.
func decodeServerType(i int, raw json.RawMessage) (ServerType, []FieldError) {
	var st ServerType
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return st, []FieldError{{Field: fmt.Sprintf("server_types[%d]", i), Reason: `must be a JSON object such as {"id": 12, "name": "M.8.8.2"}`}}
	}
	var errs []FieldError
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := fmt.Sprintf("server_types[%d].%s", i, name)
		var err error
		switch name {
		case "id":
			err = json.Unmarshal(fields[name], &st.ID)
			if err != nil {
				errs = append(errs, FieldError{Field: field, Reason: "must be a whole number above 0"})
			}
		case "name", "display_name":
			target := &st.Name
			if name == "display_name" {
				target = &st.DisplayName
			}
			if err = json.Unmarshal(fields[name], target); err != nil {
				errs = append(errs, FieldError{Field: field, Reason: "must be a string"})
			}
		default:
			errs = append(errs, FieldError{Field: field, Reason: "is not a server type field (id, name, display_name)"})
		}
	}
	return st, errs
}

// decodeEntry decodes one entry field by field, so that each error names its field.
func decodeEntry(i int, raw json.RawMessage) (*Entry, []FieldError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, []FieldError{{Field: fmt.Sprintf("entries[%d]", i), Reason: "must be a JSON object"}}
	}
	e := &Entry{}
	targets := map[string]any{
		"resource_type": &e.ResourceType, "server_type_id": &e.ServerTypeID, "storage_type": &e.StorageType,
		"subnet_type": &e.SubnetType, "state": &e.State, "direction": &e.Direction, "datacenter": &e.Datacenter,
		"user_id": &e.UserID, "price": &e.Price, "unit": &e.Unit, "period_seconds": &e.PeriodSeconds,
		"valid_from": &e.ValidFrom, "valid_until": &e.ValidUntil,
	}
	reasons := map[string]string{
		"resource_type": "must be a string", "server_type_id": "must be a whole number", "storage_type": "must be a string",
		"subnet_type": "must be a string", "state": "must be a string", "direction": "must be a string", "datacenter": "must be a string",
		"user_id": "must be a whole number", "unit": "must be a string", "period_seconds": "must be a whole number of seconds",
		"valid_from": "must be an RFC 3339 timestamp such as 2024-01-01T00:00:00Z", "valid_until": "must be an RFC 3339 timestamp such as 2024-01-01T00:00:00Z",
	}
	var errs []FieldError
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := fmt.Sprintf("entries[%d].%s", i, name)
		target, known := targets[name]
		if !known {
			errs = append(errs, FieldError{Field: field, Reason: "is not a price book field"})
			continue
		}
		if err := json.Unmarshal(fields[name], target); err != nil {
			reason := reasons[name]
			if name == "price" {
				reason = "must be a decimal string of at most 12 decimal places, 0 or more, such as \"0.31\": " + strings.TrimPrefix(err.Error(), "money: ")
			}
			errs = append(errs, FieldError{Field: field, Reason: reason})
		}
	}
	if _, ok := fields["price"]; !ok {
		errs = append(errs, FieldError{Field: fmt.Sprintf("entries[%d].price", i), Reason: "is required"})
	}
	return e, errs
}

// ServerType returns the server type the book names with id.
func (b *Book) ServerType(id int64) (ServerType, bool) {
	for _, st := range b.ServerTypes {
		if st.ID == id {
			return st, true
		}
	}
	return ServerType{}, false
}

// Validate checks every rule of the book and prepares it for lookups. It returns the
// broken rules, each naming its field.
func (b *Book) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if len(b.Currency) != 3 || strings.Trim(b.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		add("currency", "must be a three-letter ISO 4217 code in capitals, such as GBP")
	}
	seen := map[int64]int{}
	for i, st := range b.ServerTypes {
		f := func(name string) string { return fmt.Sprintf("server_types[%d].%s", i, name) }
		if st.ID <= 0 {
			add(f("id"), "must be a whole number above 0")
		} else if j, dup := seen[st.ID]; dup {
			add(f("id"), "server type %d is named twice (server_types[%d] names it too)", st.ID, j)
		} else {
			seen[st.ID] = i
		}
		if err := cloudmeter.CheckText(f("name"), st.Name, cloudmeter.MaxNameBytes); err != nil || st.Name == "" {
			add(f("name"), "must be a name of 1 to %d bytes of text", cloudmeter.MaxNameBytes)
		}
		if err := cloudmeter.CheckText(f("display_name"), st.DisplayName, cloudmeter.MaxNameBytes); err != nil {
			add(f("display_name"), "must be text of at most %d bytes", cloudmeter.MaxNameBytes)
		}
	}
	for i, e := range b.Entries {
		f := func(name string) string { return fmt.Sprintf("entries[%d].%s", i, name) }
		if e == nil {
			add(fmt.Sprintf("entries[%d]", i), "must be an object")
			continue
		}
		e.index = i
		units, known := unitsFor[e.ResourceType]
		if !known {
			add(f("resource_type"), "must be one of instance, drive, shared_drive, subnet, network, data_lake")
			continue
		}
		okUnit := false
		for _, u := range units {
			okUnit = okUnit || u == e.Unit
		}
		if !okUnit {
			add(f("unit"), "must be one of %s for %s", unitNames(units), e.ResourceType)
		}
		if e.Unit == UnitGB {
			if e.PeriodSeconds != 0 {
				add(f("period_seconds"), "must be absent for a per-GB traffic price")
			}
			if e.Direction == nil || (*e.Direction != "upload" && *e.Direction != "download") {
				add(f("direction"), "must be upload or download for a per-GB traffic price")
			}
		} else {
			if e.PeriodSeconds <= 0 {
				add(f("period_seconds"), "must be a whole number of seconds above 0")
			}
			if e.Direction != nil {
				add(f("direction"), "applies only to per-GB traffic prices")
			}
		}
		if e.Price < 0 {
			add(f("price"), "must not be negative")
		}
		if e.ServerTypeID != nil && e.ResourceType != cloudmeter.ResourceInstance {
			add(f("server_type_id"), "applies only to instance")
		}
		if e.ServerTypeID != nil && *e.ServerTypeID <= 0 {
			add(f("server_type_id"), "must be above 0")
		}
		if e.State != nil {
			if e.ResourceType != cloudmeter.ResourceInstance {
				add(f("state"), "applies only to instance")
			} else if s := cloudmeter.State(*e.State); s != cloudmeter.StateActive && s != cloudmeter.StateStopped && s != cloudmeter.StateHibernated {
				add(f("state"), "must be active, stopped or hibernated")
			}
		}
		if e.StorageType != nil && e.ResourceType != cloudmeter.ResourceDrive && e.ResourceType != cloudmeter.ResourceSharedDrive {
			add(f("storage_type"), "applies only to drive and shared_drive")
		}
		if e.SubnetType != nil {
			if e.ResourceType != cloudmeter.ResourceSubnet {
				add(f("subnet_type"), "applies only to subnet")
			} else if *e.SubnetType != "ipv4" && *e.SubnetType != "ipv6" {
				add(f("subnet_type"), "must be ipv4 or ipv6")
			}
		}
		if e.Unit == UnitIP && (e.SubnetType == nil || *e.SubnetType != "ipv4") {
			add(f("unit"), "ip is a unit only for subnet_type ipv4")
		}
		if e.Datacenter != nil && *e.Datacenter == "" {
			add(f("datacenter"), "must not be empty")
		}
		if e.UserID != nil && *e.UserID <= 0 {
			add(f("user_id"), "must be above 0")
		}
		e.from, e.until = -Forever, Forever
		if e.ValidFrom != nil {
			e.from = e.ValidFrom.Unix()
		}
		if e.ValidUntil != nil {
			e.until = e.ValidUntil.Unix()
			if e.until <= e.from {
				add(f("valid_until"), "must be after valid_from")
			}
		}
	}
	return errs
}

func unitNames(us []Unit) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = string(u)
	}
	return strings.Join(s, ", ")
}

// JSON returns the book in its native format, normalized.
func (b *Book) JSON() []byte {
	c := *b
	if c.Entries == nil {
		c.Entries = []*Entry{} // a book that prices nothing says so: never "entries": null
	}
	out, _ := json.Marshal(&c) // a validated book always marshals
	return out
}

// Subject is what an entry is matched against: a resource at a moment, or one direction
// of a waypoint's traffic.
type Subject struct {
	Type         cloudmeter.ResourceType
	UserID       int64
	Datacenter   string
	ServerTypeID *int64
	StorageType  *string
	SubnetType   *string
	State        cloudmeter.State
	Direction    string // "" for time-based usage; upload or download for traffic
}

// matches reports whether e applies to s, ignoring time.
func (e *Entry) matches(s *Subject) bool {
	if e.ResourceType != s.Type || e.Traffic() != (s.Direction != "") {
		return false
	}
	if e.UserID != nil && *e.UserID != s.UserID {
		return false
	}
	if e.Datacenter != nil && *e.Datacenter != s.Datacenter {
		return false
	}
	if e.ServerTypeID != nil && (s.ServerTypeID == nil || *e.ServerTypeID != *s.ServerTypeID) {
		return false
	}
	if e.StorageType != nil && (s.StorageType == nil || *e.StorageType != *s.StorageType) {
		return false
	}
	if e.SubnetType != nil && (s.SubnetType == nil || *e.SubnetType != *s.SubnetType) {
		return false
	}
	if e.State != nil && *e.State != string(s.State) {
		return false
	}
	if e.Direction != nil && *e.Direction != s.Direction {
		return false
	}
	return true
}

// better reports whether a wins over b for the same subject and second: per-user beats
// per-datacenter beats default; then more discriminators; then an entry that names the
// power state (so a stopped instance keeps its stopped price when its server type's
// price changes); then the later valid_from; then the later entry of the book.
func better(a, b *Entry) bool {
	if a.scope() != b.scope() {
		return a.scope() > b.scope()
	}
	if a.discriminators() != b.discriminators() {
		return a.discriminators() > b.discriminators()
	}
	if (a.State != nil) != (b.State != nil) {
		return a.State != nil
	}
	if a.from != b.from {
		return a.from > b.from
	}
	return a.index > b.index
}

// Piece is a stretch [Start, End] of a subject's time priced by one entry (nil: no
// entry prices it).
type Piece struct {
	Start, End int64
	Entry      *Entry
}

// Pieces splits the closed interval [start, end] of a subject where the winning entry
// changes, and returns each stretch with its entry. Adjacent stretches with the same
// entry are merged, so a price change splits usage only where it takes effect.
func (b *Book) Pieces(s *Subject, start, end int64) []Piece {
	var cands []*Entry
	for _, e := range b.Entries {
		if e.matches(s) && e.from <= end && e.until > start {
			cands = append(cands, e)
		}
	}
	if len(cands) == 0 {
		return []Piece{{Start: start, End: end}}
	}
	if len(cands) == 1 && cands[0].from <= start && cands[0].until > end {
		return []Piece{{Start: start, End: end, Entry: cands[0]}}
	}
	cuts := []int64{start}
	for _, e := range cands {
		if e.from > start && e.from <= end {
			cuts = append(cuts, e.from)
		}
		if e.until > start && e.until <= end {
			cuts = append(cuts, e.until)
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	var out []Piece
	for i, c := range cuts {
		if i > 0 && c == cuts[i-1] {
			continue
		}
		pieceEnd := end
		for _, n := range cuts[i+1:] {
			if n > c {
				pieceEnd = n - 1
				break
			}
		}
		var win *Entry
		for _, e := range cands {
			if e.from <= c && e.until > c && (win == nil || better(e, win)) {
				win = e
			}
		}
		if len(out) > 0 && out[len(out)-1].Entry == win {
			out[len(out)-1].End = pieceEnd
			continue
		}
		out = append(out, Piece{Start: c, End: pieceEnd, Entry: win})
	}
	return out
}
