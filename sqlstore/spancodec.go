package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cloudmeter/cloudmeter"
)

// A product's spans are kept in its resources row as one value, not as one row each:
// re-rating a product then rewrites one row, and a report reads one value per resource.
// The value starts with what every span of the product shares, then holds what varies
// from span to span:
//
//	version  byte (1)
//	varint   user_id
//	varint   product_id
//	varint   infrastructure_id
//	string   datacenter
//	string   type
//	string   label
//	string   subdomain
//	byte     exclude_billing (0 or 1)
//	uvarint  number of spans
//	per span:
//	  varint   start
//	  varint   end
//	  string   state
//	  uvarint  which attributes are set (one bit each, bitServerTypeID first)
//	  the set attributes in bit order: varint for numbers, string for strings
//
// A string is a uvarint length and its bytes.

const spanCodecVersion = 1

// Attribute presence bits.
const (
	bitServerTypeID = 1 << iota
	bitServerTypeName
	bitDriveSizeMBytes
	bitSharedDriveSizeMBytes
	bitStorageType
	bitSubnetType
	bitSubnetPrefixSize
	bitMeasurementPeriod
	bitStoredGBytes
)

// appendSpans encodes the spans of one product onto dst; shared holds the fields every
// span shares (those of the product's resource).
func appendSpans(dst []byte, shared *cloudmeter.Span, spans []cloudmeter.Span) []byte {
	dst = append(dst, spanCodecVersion)
	dst = binary.AppendVarint(dst, shared.UserID)
	dst = binary.AppendVarint(dst, shared.ProductID)
	dst = binary.AppendVarint(dst, shared.InfrastructureID)
	dst = appendString(dst, shared.Datacenter)
	dst = appendString(dst, string(shared.Type))
	dst = appendString(dst, shared.Label)
	dst = appendString(dst, shared.Subdomain)
	dst = append(dst, byte(boolInt(shared.ExcludeBilling)))
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	for i := range spans {
		sp := &spans[i]
		dst = binary.AppendVarint(dst, sp.Start)
		dst = binary.AppendVarint(dst, sp.End)
		dst = appendString(dst, string(sp.State))
		dst = appendAttributes(dst, &sp.Attributes)
	}
	return dst
}

// appendAttributes encodes a span's attributes: which are set (one bit each,
// bitServerTypeID first), then the set ones in bit order.
func appendAttributes(dst []byte, a *cloudmeter.Attributes) []byte {
	var bits uint64
	for _, f := range [...]struct {
		set bool
		bit uint64
	}{
		{a.ServerTypeID != nil, bitServerTypeID}, {a.ServerTypeName != nil, bitServerTypeName},
		{a.DriveSizeMBytes != nil, bitDriveSizeMBytes}, {a.SharedDriveSizeMBytes != nil, bitSharedDriveSizeMBytes},
		{a.StorageType != nil, bitStorageType}, {a.SubnetType != nil, bitSubnetType},
		{a.SubnetPrefixSize != nil, bitSubnetPrefixSize}, {a.MeasurementPeriod != nil, bitMeasurementPeriod},
		{a.StoredGBytes != nil, bitStoredGBytes},
	} {
		if f.set {
			bits |= f.bit
		}
	}
	dst = binary.AppendUvarint(dst, bits)
	dst = appendOptInt(dst, a.ServerTypeID)
	dst = appendOptString(dst, a.ServerTypeName)
	dst = appendOptInt(dst, a.DriveSizeMBytes)
	dst = appendOptInt(dst, a.SharedDriveSizeMBytes)
	dst = appendOptString(dst, a.StorageType)
	dst = appendOptString(dst, a.SubnetType)
	dst = appendOptInt(dst, a.SubnetPrefixSize)
	dst = appendOptInt(dst, a.MeasurementPeriod)
	dst = appendOptInt(dst, a.StoredGBytes)
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendOptInt(dst []byte, p *int64) []byte {
	if p == nil {
		return dst
	}
	return binary.AppendVarint(dst, *p)
}

func appendOptString(dst []byte, p *string) []byte {
	if p == nil {
		return dst
	}
	return appendString(dst, *p)
}

// errSpans is returned for a value appendSpans did not write.
var errSpans = errors.New("stored spans are malformed")

// spanReader decodes values written by appendSpans; one reader may decode many. Strings
// that repeat (states, types, server type names) are shared rather than allocated
// again, and the numbers attributes point to are allocated in blocks.
type spanReader struct {
	b    []byte
	err  error
	strs []string // strings already decoded, to share equal ones
	ints []int64  // the current block of attribute numbers
}

func (r *spanReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errSpans
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *spanReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errSpans
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *spanReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errSpans
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// raw returns the bytes of the next string.
func (r *spanReader) raw() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errSpans
		return nil
	}
	raw := r.b[:n]
	r.b = r.b[n:]
	return raw
}

// unique returns the next string, one that rarely repeats (a label).
func (r *spanReader) unique() string { return string(r.raw()) }

// string returns the next string, shared with an equal one decoded before: states,
// types, datacenters and attribute names repeat across spans and resources.
func (r *spanReader) string() string {
	raw := r.raw()
	if r.err != nil {
		return ""
	}
	for _, s := range r.strs {
		if s == string(raw) {
			return s
		}
	}
	s := string(raw)
	if len(r.strs) < 32 {
		r.strs = append(r.strs, s)
	}
	return s
}

func (r *spanReader) optInt(bits, bit uint64) *int64 {
	if bits&bit == 0 {
		return nil
	}
	v := r.varint()
	if len(r.ints) == cap(r.ints) {
		r.ints = make([]int64, 0, 64)
	}
	r.ints = append(r.ints, v)
	return &r.ints[len(r.ints)-1]
}

func (r *spanReader) optString(bits, bit uint64) *string {
	if bits&bit == 0 {
		return nil
	}
	v := r.string()
	return &v
}

// attributes decodes what appendAttributes wrote.
func (r *spanReader) attributes() cloudmeter.Attributes {
	var a cloudmeter.Attributes
	bits := r.uvarint()
	if bits >= bitStoredGBytes<<1 {
		r.err = errSpans // an attribute this version does not know
	}
	a.ServerTypeID = r.optInt(bits, bitServerTypeID)
	a.ServerTypeName = r.optString(bits, bitServerTypeName)
	a.DriveSizeMBytes = r.optInt(bits, bitDriveSizeMBytes)
	a.SharedDriveSizeMBytes = r.optInt(bits, bitSharedDriveSizeMBytes)
	a.StorageType = r.optString(bits, bitStorageType)
	a.SubnetType = r.optString(bits, bitSubnetType)
	a.SubnetPrefixSize = r.optInt(bits, bitSubnetPrefixSize)
	a.MeasurementPeriod = r.optInt(bits, bitMeasurementPeriod)
	a.StoredGBytes = r.optInt(bits, bitStoredGBytes)
	return a
}

// decodeSpans decodes the spans of one product from b and appends them to dst.
func decodeSpans(dst []cloudmeter.Span, b []byte) ([]cloudmeter.Span, error) {
	var r spanReader
	return r.decode(dst, b)
}

// decodeHeader decodes the fields every span of the value b shares.
func decodeHeader(b []byte) (cloudmeter.Span, error) {
	var r spanReader
	row, err := r.header(b)
	return row, err
}

func (r *spanReader) header(b []byte) (cloudmeter.Span, error) {
	var row cloudmeter.Span
	if len(b) == 0 {
		return row, fmt.Errorf("%w: empty", errSpans)
	}
	if b[0] != spanCodecVersion {
		return row, fmt.Errorf("%w: version %d", errSpans, b[0])
	}
	r.b, r.err = b[1:], nil
	row.UserID = r.varint()
	row.ProductID = r.varint()
	row.InfrastructureID = r.varint()
	row.Datacenter = r.string()
	row.Type = cloudmeter.ResourceType(r.string())
	row.Label = r.unique()
	row.Subdomain = r.unique()
	switch r.byte() {
	case 0:
	case 1:
		row.ExcludeBilling = true
	default:
		r.err = errSpans
	}
	return row, r.err
}

func (r *spanReader) decode(dst []cloudmeter.Span, b []byte) ([]cloudmeter.Span, error) {
	row, err := r.header(b)
	if err != nil {
		return dst, err
	}
	n := r.uvarint()
	// Every span takes at least 4 bytes: a bound on n that a corrupt value cannot exceed.
	if r.err != nil || n > uint64(len(r.b))/4 {
		return dst, fmt.Errorf("%w: header", errSpans)
	}
	dst = sliceGrow(dst, int(n))
	for range n {
		sp := row
		sp.Start = r.varint()
		sp.End = r.varint()
		sp.State = cloudmeter.State(r.string())
		sp.Attributes = r.attributes()
		if r.err != nil {
			return dst, r.err
		}
		dst = append(dst, sp)
	}
	if len(r.b) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes", errSpans, len(r.b))
	}
	return dst, nil
}

// sliceGrow makes room for n more spans.
func sliceGrow(s []cloudmeter.Span, n int) []cloudmeter.Span {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]cloudmeter.Span, len(s), len(s)+max(n, len(s)))
	copy(out, s)
	return out
}
