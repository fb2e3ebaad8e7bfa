package sqlstore

import (
	"encoding/binary"
	"fmt"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// A provisioned product's rating state (rating.State) is kept in its resources row, in
// column rating_state, so that an event later than all of its history extends its rating
// without reading that history (chunks.go). The view's fields that only the provision
// sets are the row's columns; the value holds the rest:
//
//	version  byte (1)
//	byte     flags: 1 an event was applied, 2 the delete was applied, 4 the span in
//	         progress bills the view's state and attributes (not written again)
//	the last event applied: varint time, byte type (eventTypes), string source, string id
//	the view: string state, attributes (as in a span)
//	the span in progress: varint start, [string state, attributes,] varint anomalies before it
//	uvarint  anomalies of the events before the last event's second
//	uvarint  anomalies
//
// A chunk's checkpoint (column checkpoint of span_chunks and of resources) is what
// resuming at the chunk's first second needs besides the view (rating.StateBefore):
//
//	version  byte (1)
//	uvarint  anomalies of the events before the chunk's first second
//	the span before the chunk's first: varint start, string state, attributes (it ends
//	one second before the chunk starts)

const stateCodecVersion = 1

const (
	flagApplied = 1 << iota
	flagDeleted
	flagSpanIsView
)

// eventTypes numbers the lifecycle event types in a state (0: none, or one this version
// does not know).
var eventTypes = []cloudmeter.EventType{"", cloudmeter.EventProvisioned, cloudmeter.EventChanged, cloudmeter.EventStopped,
	cloudmeter.EventStarted, cloudmeter.EventDeleted, cloudmeter.EventTrafficMetered}

func eventTypeCode(t cloudmeter.EventType) byte {
	for i, k := range eventTypes {
		if k == t {
			return byte(i)
		}
	}
	return 0
}

// encodeState encodes the state of a provisioned product.
func encodeState(dst []byte, s *rating.State) []byte {
	dst = append(dst, stateCodecVersion)
	var flags byte
	if s.Applied {
		flags |= flagApplied
	}
	if s.Deleted {
		flags |= flagDeleted
	}
	spanIsView := s.Span.State == s.Resource.State && sameAttributes(&s.Span.Attributes, &s.Resource.Attributes)
	if spanIsView {
		flags |= flagSpanIsView
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, s.Last.Time)
	dst = append(dst, eventTypeCode(s.Last.Type))
	dst = appendString(dst, s.Last.Source)
	dst = appendString(dst, s.Last.ID)
	dst = appendString(dst, string(s.Resource.State))
	dst = appendAttributes(dst, &s.Resource.Attributes)
	dst = binary.AppendVarint(dst, s.Span.Start)
	if !spanIsView {
		dst = appendString(dst, string(s.Span.State))
		dst = appendAttributes(dst, &s.Span.Attributes)
	}
	dst = binary.AppendVarint(dst, int64(s.Span.AnomaliesBefore))
	dst = binary.AppendUvarint(dst, uint64(s.SecondAnomalies))
	dst = binary.AppendUvarint(dst, uint64(s.Anomalies))
	return dst
}

// decodeState decodes a state encodeState wrote; res is the product's view as its row's
// columns hold it (its state and attributes are taken from the value).
func decodeState(b []byte, res cloudmeter.Resource) (rating.State, error) {
	var s rating.State
	if len(b) < 2 || b[0] != stateCodecVersion {
		return s, fmt.Errorf("%w: rating state", errSpans)
	}
	var r spanReader
	r.b = b[2:]
	s.Applied, s.Deleted = b[1]&flagApplied != 0, b[1]&flagDeleted != 0
	s.Last.Time = r.varint()
	if c := r.byte(); int(c) < len(eventTypes) {
		s.Last.Type = eventTypes[c]
	} else {
		r.err = errSpans
	}
	s.Last.Source = r.unique()
	s.Last.ID = r.unique()
	res.State = cloudmeter.State(r.string())
	res.Attributes = r.attributes()
	s.Resource = &res
	s.Span.Start = r.varint()
	if b[1]&flagSpanIsView != 0 {
		s.Span.State, s.Span.Attributes = res.State, res.Attributes
	} else {
		s.Span.State = cloudmeter.State(r.string())
		s.Span.Attributes = r.attributes()
	}
	s.Span.AnomaliesBefore = int(r.varint())
	s.SecondAnomalies = int(r.uvarint())
	s.Anomalies = int(r.uvarint())
	if r.err == nil && len(r.b) != 0 {
		r.err = errSpans
	}
	if r.err != nil {
		return s, fmt.Errorf("%w: rating state", r.err)
	}
	return s, nil
}

// checkpoint is what resuming a product at the first second of one of its chunks needs.
type checkpoint struct {
	anomalies int
	prev      cloudmeter.Span // the span before the chunk's first (Start, State, Attributes)
}

func encodeCheckpoint(dst []byte, c *checkpoint) []byte {
	dst = append(dst, stateCodecVersion)
	dst = binary.AppendUvarint(dst, uint64(c.anomalies))
	dst = binary.AppendVarint(dst, c.prev.Start)
	dst = appendString(dst, string(c.prev.State))
	return appendAttributes(dst, &c.prev.Attributes)
}

// decodeCheckpoint decodes a checkpoint of the chunk that starts at start.
func decodeCheckpoint(b []byte, start int64) (checkpoint, error) {
	var c checkpoint
	if len(b) < 1 || b[0] != stateCodecVersion {
		return c, fmt.Errorf("%w: checkpoint", errSpans)
	}
	var r spanReader
	r.b = b[1:]
	c.anomalies = int(r.uvarint())
	c.prev.Start = r.varint()
	c.prev.End = start - 1
	c.prev.State = cloudmeter.State(r.string())
	c.prev.Attributes = r.attributes()
	if r.err == nil && len(r.b) != 0 {
		r.err = errSpans
	}
	if r.err != nil {
		return c, fmt.Errorf("%w: checkpoint", r.err)
	}
	return c, nil
}

// sameAttributes compares attribute values, not pointers.
func sameAttributes(a, b *cloudmeter.Attributes) bool {
	eqInt := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqStr := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eqInt(a.ServerTypeID, b.ServerTypeID) && eqStr(a.ServerTypeName, b.ServerTypeName) &&
		eqInt(a.DriveSizeMBytes, b.DriveSizeMBytes) && eqInt(a.SharedDriveSizeMBytes, b.SharedDriveSizeMBytes) &&
		eqStr(a.StorageType, b.StorageType) && eqStr(a.SubnetType, b.SubnetType) &&
		eqInt(a.SubnetPrefixSize, b.SubnetPrefixSize) && eqInt(a.MeasurementPeriod, b.MeasurementPeriod) &&
		eqInt(a.StoredGBytes, b.StoredGBytes)
}
