// Package ledger decodes and validates the CloudEvents 1.0 (JSON format) that feed the
// ledger (DESIGN 2.5) into cloudmeter.Event values: it checks every rule of every event
// of a batch, puts each event's data into canonical JSON, and computes the digest that
// tells a repeated event from a conflicting one.
//
// It is pure: it imports no SQL and no HTTP code (the transport passes the Content-Type
// header as a string), so storage and transports depend on it, never the other way round.
package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudmeter/cloudmeter"
)

// Limits bounds a batch.
type Limits struct {
	// MaxEvents is the most events one request may hold; 0 means no limit.
	MaxEvents int
}

// EventError is one broken rule of one event of a batch.
type EventError struct {
	// Index is the event's position in the batch (0 for a single event).
	Index int `json:"index"`
	// Field names the offending value relative to the event ("time", "data.product_id");
	// it is empty when the event as a whole is wrong (not a JSON object).
	Field string `json:"field"`
	// Reason says what rule the value breaks ("is required", "must be a whole number
	// above 0").
	Reason string `json:"reason"`
}

// MaxDetails is the most EventErrors an error of DecodeBatch lists in its Details.
const MaxDetails = 1000

// maxKeyBytes bounds id and source: they are a key stored with every event.
const maxKeyBytes = cloudmeter.MaxNameBytes

// messageErrors is how many EventErrors the message of a batch error quotes.
const messageErrors = 3

// The media types DecodeBatch accepts.
const (
	mediaEvent = "application/cloudevents+json"
	mediaBatch = "application/cloudevents-batch+json"
	mediaJSON  = "application/json"
)

// DecodeBatch decodes a request body of CloudEvents into events, in the order sent.
//
// contentType is the request's Content-Type header value (parameters such as
// "; charset=utf-8" are allowed, the media type is case-insensitive):
// application/cloudevents+json takes exactly one event object,
// application/cloudevents-batch+json a JSON array of event objects, and
// application/json or an empty value either.
//
// It checks every event against every rule and returns either all events or none.
//
// Errors:
//   - KindInvalid for an unsupported Content-Type, an empty body, a body that is not
//     valid UTF-8 or not valid JSON (the message says what and at which byte offset), a
//     body of the wrong shape for its Content-Type, or an empty array.
//   - KindTooLarge when the batch holds more than lim.MaxEvents events.
//   - KindInvalid when any event breaks a rule: the message quotes the first few broken
//     rules, Details holds all of them (at most MaxDetails) as []EventError in index
//     order.
func DecodeBatch(contentType string, body []byte, lim Limits) ([]cloudmeter.Event, error) {
	var wantObject, wantArray bool
	switch mt := mediaType(contentType); mt {
	case mediaEvent:
		wantObject = true
	case mediaBatch:
		wantArray = true
	case mediaJSON:
		wantObject, wantArray = true, true
	case "":
		// No Content-Type is application/json; one that names no media type (";;;") is
		// a mistake, not an absence.
		if strings.TrimSpace(contentType) != "" {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
				"Content-Type %s names no media type: send %s (one event), %s (a JSON array of events) or %s (either)",
				strconv.Quote(contentType), mediaEvent, mediaBatch, mediaJSON)
		}
		wantObject, wantArray = true, true
	default:
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
			"Content-Type %s is not supported: send %s (one event), %s (a JSON array of events) or %s (either)",
			strconv.Quote(contentType), mediaEvent, mediaBatch, mediaJSON)
	}
	if err := checkJSON(body); err != nil {
		return nil, err
	}
	s := string(body) // one copy; every decoded string shares it
	i := skipSpace(s, 0)
	d := newDecoder(len(body))
	switch c := s[i]; {
	case c == '{' && wantObject:
		root, _ := d.tree.parse(s, i)
		if e, ok := d.event(0, root); ok {
			return []cloudmeter.Event{e}, nil
		}
		return nil, d.err(1)
	case c == '[' && wantArray:
		return d.batch(s, i, lim)
	case c == '[':
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
			"Content-Type %s takes one event as a JSON object, not an array: send a batch as %s", mediaEvent, mediaBatch)
	case c == '{':
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
			"Content-Type %s takes a JSON array of events, not an object: send a single event as %s or inside [ ]", mediaBatch, mediaEvent)
	default:
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
			"the request body must be a JSON object (one event) or a JSON array of events, not %s", jsonKind(s[i:]))
	}
}

// batch decodes the JSON array of events that starts at s[i].
func (d *decoder) batch(s string, i int, lim Limits) ([]cloudmeter.Event, error) {
	var events []cloudmeter.Event
	n := 0
	for j := i + 1; ; {
		j = skipSpace(s, j)
		if j >= len(s) || s[j] == ']' {
			break
		}
		if s[j] == ',' {
			j++
			continue
		}
		// Each event is parsed into a fresh tree: one pass over its text.
		d.tree.nodes = d.tree.nodes[:0]
		v, end := d.tree.parse(s, j)
		if v.value == "" {
			break
		}
		if n == 0 {
			// Guess the number of events from the size of the first.
			guess := (len(s)-i)/max(end-j, 1) + 1
			if lim.MaxEvents > 0 {
				guess = min(guess, lim.MaxEvents)
			}
			events = make([]cloudmeter.Event, 0, guess)
		}
		// Past the limit, only count the rest for the message.
		if lim.MaxEvents <= 0 || n < lim.MaxEvents {
			if e, ok := d.event(n, v); ok && d.invalid == 0 {
				events = append(events, e)
			}
		}
		n++
		j = end
	}
	switch {
	case n == 0:
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "the batch has no events")
	case lim.MaxEvents > 0 && n > lim.MaxEvents:
		return nil, cloudmeter.Errorf(cloudmeter.KindTooLarge,
			"the batch has %d events; at most %d are allowed in one request", n, lim.MaxEvents)
	case d.invalid > 0:
		return nil, d.err(n)
	}
	return events, nil
}

// DecodeData fills the typed fields of e (Provision, Attributes, State, Traffic, ProductID) from
// e.Type and e.Data, the data object as DecodeBatch stored it. Storage uses it when it
// reads events back. On error e is left unchanged.
//
// Errors: KindInvalid if the type is unknown or Data breaks a rule of its type; Details
// holds the broken rules as []EventError with Index 0.
func DecodeData(e *cloudmeter.Event) error {
	if !e.Type.Known() {
		return &cloudmeter.Error{Kind: cloudmeter.KindInvalid,
			Message: fmt.Sprintf("event %s %s: type: %s", e.Source, e.ID, reasonType),
			Details: []EventError{{Field: "type", Reason: reasonType}}}
	}
	if !utf8.Valid(e.Data) || !json.Valid(e.Data) {
		return &cloudmeter.Error{Kind: cloudmeter.KindInvalid,
			Message: fmt.Sprintf("event %s %s: data: is not valid JSON", e.Source, e.ID),
			Details: []EventError{{Field: "data", Reason: "is not valid JSON"}}}
	}
	d := newDecoder(len(e.Data))
	root, _ := d.tree.parse(string(e.Data), 0)
	out := cloudmeter.Event{Type: e.Type}
	if root.value[0] != '{' {
		d.fail(0, "data", reasonObject)
	} else {
		d.dataObject(0, &out, root)
	}
	if d.invalid > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "event %s %s: ", e.Source, e.ID)
		for i, fe := range d.details {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(fe.Field + ": " + fe.Reason)
		}
		return &cloudmeter.Error{Kind: cloudmeter.KindInvalid, Message: b.String(), Details: d.details}
	}
	e.ProductID, e.Provision, e.Attributes, e.State, e.Traffic = out.ProductID, out.Provision, out.Attributes, out.State, out.Traffic
	return nil
}

// mediaType returns the lower-case media type of a Content-Type value, without
// parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// checkJSON reports a body that is empty, not UTF-8 or not JSON.
func checkJSON(body []byte) error {
	if len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid,
			"the request body is empty: send one event as a JSON object or a batch as a JSON array")
	}
	if !utf8.Valid(body) {
		off := 0
		for off < len(body) {
			r, n := utf8.DecodeRune(body[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "the request body is not valid UTF-8: bad byte at offset %d", off)
	}
	if json.Valid(body) {
		return nil
	}
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the bad one included; report the bad byte's own
		// (zero-based) offset, or the end of the body when it ended too soon.
		off := se.Offset
		if off > 0 && off <= int64(len(body)) && !strings.HasPrefix(se.Error(), "unexpected end") {
			off--
		}
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "the request body is not valid JSON: at byte offset %d: %s", off, se.Error())
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "the request body is not valid JSON: %s", err.Error())
}

// jsonKind names the kind of the JSON value v for messages.
func jsonKind(v string) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// decoder holds the state of one DecodeBatch or DecodeData call.
type decoder struct {
	details []EventError
	errs    int // all broken rules, including those beyond MaxDetails
	invalid int // events with at least one broken rule
	lastBad int // index of the last event with a broken rule
	arena   []byte
	tree    tree
	scratch []byte // digest input
}

func newDecoder(size int) *decoder {
	return &decoder{lastBad: -1, arena: make([]byte, 0, size),
		tree: tree{nodes: make([]node, 0, 32), scratch: make([]node, 0, 32)}}
}

// fail records that field of event ev breaks a rule.
func (d *decoder) fail(ev int, field, reason string) {
	if d.lastBad != ev {
		d.invalid++
		d.lastBad = ev
	}
	d.errs++
	if len(d.details) < MaxDetails {
		d.details = append(d.details, EventError{Index: ev, Field: field, Reason: reason})
	}
}

// err is the error for a batch of n events of which some are invalid.
func (d *decoder) err(n int) error {
	var b strings.Builder
	verb := "are"
	if d.invalid == 1 {
		verb = "is"
	}
	fmt.Fprintf(&b, "%d of %d events %s invalid: ", d.invalid, n, verb)
	for i, fe := range d.details[:min(messageErrors, len(d.details))] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("events[" + strconv.Itoa(fe.Index) + "]")
		if fe.Field != "" {
			b.WriteString("." + fe.Field)
		}
		b.WriteString(": " + fe.Reason)
	}
	if more := d.errs - messageErrors; more > 0 {
		fmt.Fprintf(&b, "; and %d more", more)
	}
	return &cloudmeter.Error{Kind: cloudmeter.KindInvalid, Message: b.String(), Details: d.details}
}

// The CloudEvents attributes an event may carry; extensions aside.
const (
	attrSpecVersion = 1 << iota
	attrID
	attrSource
	attrType
	attrTime
	attrDataContentType
	attrSubject
	attrDataSchema
	attrData
	attrDataBase64
)

// envelope holds the raw JSON values of an event's attributes; "" is absent.
type envelope struct {
	specVersion, id, source, typ, time               string
	dataContentType, subject, dataSchema, dataBase64 string
	// data is the data member; its value is "" when absent.
	data node
}

// Reasons shared by several rules.
const (
	reasonRequired = "is required"
	reasonObject   = "must be a JSON object"
	reasonString   = "must be a string"
	reasonNonEmpty = "must be a non-empty string"
	reasonType     = "must be one of " +
		string(cloudmeter.EventProvisioned) + ", " + string(cloudmeter.EventChanged) + ", " +
		string(cloudmeter.EventStopped) + ", " + string(cloudmeter.EventStarted) + ", " +
		string(cloudmeter.EventDeleted) + ", " + string(cloudmeter.EventTrafficMetered)
	reasonTime = "must be an RFC 3339 timestamp such as 2024-01-31T23:59:59Z"
)

// event decodes the event at index ev of a batch, the JSON value v. ok is false if it
// breaks any rule (each is recorded).
func (d *decoder) event(ev int, v node) (e cloudmeter.Event, ok bool) {
	if v.value[0] != '{' {
		d.fail(ev, "", "must be a JSON object (one CloudEvent), not "+jsonKind(v.value))
		return e, false
	}
	before := d.errs
	var env envelope
	var seen int
	for _, m := range d.tree.kids(v) {
		var slot *string
		var bit int
		switch m.name {
		case "specversion":
			slot, bit = &env.specVersion, attrSpecVersion
		case "id":
			slot, bit = &env.id, attrID
		case "source":
			slot, bit = &env.source, attrSource
		case "type":
			slot, bit = &env.typ, attrType
		case "time":
			slot, bit = &env.time, attrTime
		case "datacontenttype":
			slot, bit = &env.dataContentType, attrDataContentType
		case "subject":
			slot, bit = &env.subject, attrSubject
		case "dataschema":
			slot, bit = &env.dataSchema, attrDataSchema
		case "data":
			bit = attrData
		case "data_base64":
			slot, bit = &env.dataBase64, attrDataBase64
		default:
			if !isExtensionName(m.name) {
				d.fail(ev, m.name, notAttribute(m.name))
			}
			continue // extension attributes are allowed and ignored
		}
		if seen&bit != 0 {
			d.fail(ev, m.name, "appears more than once")
			continue
		}
		seen |= bit
		switch {
		case bit == attrData:
			// data is no attribute: null is not absent, and it must be an object.
			env.data = m
		case m.value != "null":
			// A null attribute is an absent one (CloudEvents JSON format).
			*slot = m.value
		}
	}

	if env.specVersion == "" {
		d.fail(ev, "specversion", reasonRequired)
	} else if s, _, ok := stringValue(env.specVersion); !ok || s != "1.0" {
		d.fail(ev, "specversion", `must be "1.0"`)
	}
	e.ID = d.key(ev, "id", env.id)
	e.Source = d.key(ev, "source", env.source)
	if env.typ == "" {
		d.fail(ev, "type", reasonRequired)
	} else if s, _, ok := stringValue(env.typ); !ok || !cloudmeter.EventType(s).Known() {
		d.fail(ev, "type", reasonType)
	} else {
		e.Type = cloudmeter.EventType(s)
	}
	if env.time == "" {
		d.fail(ev, "time", reasonRequired)
	} else if s, _, ok := stringValue(env.time); !ok {
		d.fail(ev, "time", reasonTime)
	} else if t, err := cloudmeter.ParseTime("time", s); err != nil {
		d.fail(ev, "time", strings.TrimPrefix(cloudmeter.MessageOf(err), "time: "))
	} else {
		e.Time = t
	}
	if env.dataContentType != "" {
		if s, _, ok := stringValue(env.dataContentType); !ok || mediaType(s) != mediaJSON {
			d.fail(ev, "datacontenttype", `must be "application/json"`)
		}
	}
	var subject string
	if env.subject != "" {
		if s, _, ok := stringValue(env.subject); !ok || s == "" {
			d.fail(ev, "subject", reasonNonEmpty)
		} else if hasControl(s) {
			d.fail(ev, "subject", "must not contain control characters")
		} else if len(s) > cloudmeter.MaxTextBytes {
			d.fail(ev, "subject", "must be at most "+strconv.Itoa(cloudmeter.MaxTextBytes)+" bytes long")
		} else {
			subject = s
		}
	}
	if env.dataSchema != "" {
		if s, _, ok := stringValue(env.dataSchema); !ok || s == "" {
			d.fail(ev, "dataschema", reasonNonEmpty)
		}
	}
	if env.dataBase64 != "" {
		d.fail(ev, "data_base64", "is not supported: send data as a JSON object in data")
	}

	dataStart := len(d.arena)
	switch {
	case env.data.value == "":
		d.fail(ev, "data", reasonRequired)
	case env.data.value[0] != '{':
		d.fail(ev, "data", reasonObject)
	default:
		d.dataObject(ev, &e, env.data)
	}
	if d.errs > before {
		d.arena = d.arena[:dataStart]
		return e, false
	}
	e.Subject = subject
	e.Data = d.arena[dataStart:len(d.arena):len(d.arena)]
	e.Digest = d.digest(e.Type, e.Time, subject, e.Data)
	return e, true
}

// dataObject appends the canonical form of the data object v to the arena and, if
// e.Type is set, checks v against the rules of the type and fills e's typed fields.
func (d *decoder) dataObject(ev int, e *cloudmeter.Event, v node) {
	ms := d.sortedKids(v)
	d.arena = d.appendObject(d.arena, ev, path{name: "data", index: -1}, ms)
	if e.Type != "" {
		d.data(ev, e, ms)
	}
}

// key decodes id or source: a non-empty string of at most maxKeyBytes bytes.
func (d *decoder) key(ev int, field, v string) string {
	if v == "" {
		d.fail(ev, field, reasonRequired)
		return ""
	}
	s, _, ok := stringValue(v)
	switch {
	case !ok || s == "":
		d.fail(ev, field, reasonNonEmpty)
	case len(s) > maxKeyBytes:
		d.fail(ev, field, "must be at most "+strconv.Itoa(maxKeyBytes)+" bytes long")
	case hasControl(s):
		d.fail(ev, field, "must not contain control characters")
	default:
		return s
	}
	return ""
}

// digest identifies an event's content: lowercase hex SHA-256 of type, time in unix
// seconds, subject and canonical data, separated by newlines.
func (d *decoder) digest(t cloudmeter.EventType, unix int64, subject string, data []byte) string {
	b := d.scratch[:0]
	b = append(b, t...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, unix, 10)
	b = append(b, '\n')
	b = append(b, subject...)
	b = append(b, '\n')
	b = append(b, data...)
	d.scratch = b
	sum := sha256.Sum256(b)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:])
}

// isExtensionName reports whether name is a valid CloudEvents extension attribute name:
// lower-case ASCII letters and digits.
func isExtensionName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// notAttribute explains why a top-level name is not allowed, with a hint for the common
// mistakes.
func notAttribute(name string) string {
	const rule = "is not a CloudEvents attribute (attribute names are lower-case letters and digits)"
	switch lower := strings.ToLower(name); lower {
	case "specversion", "id", "source", "type", "time", "datacontenttype", "subject", "dataschema", "data":
		return rule + `: did you mean "` + lower + `"?`
	}
	if fieldOf(name) != fieldUnknown {
		return rule + ": " + name + " belongs inside data"
	}
	return rule
}

// hasControl reports whether s holds a control character (cloudmeter.HasControl).
func hasControl(s string) bool { return cloudmeter.HasControl(s) }
