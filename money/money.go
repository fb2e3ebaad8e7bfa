// Package money provides exact fixed-point money arithmetic for the
// metering/billing system.
//
// Amounts (costs, totals) are int64 counts of 1e-8 currency units and unit
// prices are int64 counts of 1e-12 currency units. All parsing, formatting
// and arithmetic is exact: inputs with more precision than a type holds are
// rejected rather than rounded, intermediate products use 128-bit
// (math/bits) or arbitrary-precision (math/big) integers, results are
// rounded half-up (half away from zero) exactly where the billing rules say
// so, and overflow is reported as ErrOverflow instead of wrapping. No
// floating point is used anywhere.
//
// The package is a leaf: it imports only the standard library's
// errors, fmt, math, math/big, math/bits, strconv and encoding/json, and
// nothing related to SQL or HTTP, so any layer of the project may use it.
package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// Amount is a money amount in units of 1e-8 (8 decimal places).
type Amount int64

// AmountScale is the number of Amount units in one currency unit.
const AmountScale = 100000000

// Price is a unit price exact to 12 decimal places, in units of 1e-12.
type Price int64

// PriceScale is the number of Price units in one currency unit.
const PriceScale = 1000000000000

const (
	amountDecimals = 8
	priceDecimals  = 12
	gb4Scale       = 10000 // units of 1e-4
	priceToAmount  = 10000 // PriceScale / AmountScale
	bytesPerGBLog2 = 30    // 1 GB = 1024^3 bytes
	maxInt64Mag    = math.MaxInt64
	minInt64Mag    = math.MaxInt64 + 1 // |math.MinInt64| as a uint64
)

// ErrOverflow is returned (possibly wrapped; test with errors.Is) when a
// result does not fit in its int64 representation.
var ErrOverflow = errors.New("money: overflow")

// wrapError is an error with its own message that still matches a sentinel
// (ErrOverflow) under errors.Is.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

func overflowf(format string, args ...any) error {
	return &wrapError{msg: fmt.Sprintf(format, args...), err: ErrOverflow}
}

// pow10 holds 10^i for i = 0..19.
var pow10 = [...]uint64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	1000000000, 10000000000, 100000000000, 1000000000000,
	10000000000000, 100000000000000, 1000000000000000,
	10000000000000000, 100000000000000000, 1000000000000000000,
	10000000000000000000,
}

// parseDecimal parses the grammar shared by ParseAmount and ParsePrice:
//
//	['-'] digit+ [ '.' digit{1,maxDec} ]
//
// and returns the sign and the magnitude in units of 10^-maxDec. kind names
// the type in error messages. The magnitude is limited to the int64 range
// (|MinInt64| for negative values); beyond it the error matches ErrOverflow.
func parseDecimal(s, kind string, maxDec int, allowNeg bool) (neg bool, mag uint64, err error) {
	if s == "" {
		return false, 0, fmt.Errorf("money: empty string is not a valid %s", kind)
	}
	body := s
	switch body[0] {
	case '+':
		return false, 0, fmt.Errorf("money: %q has a leading '+' (only an optional leading '-' is allowed)", s)
	case '-':
		if !allowNeg {
			return false, 0, fmt.Errorf("money: %q is negative (a %s must be >= 0)", s, kind)
		}
		neg = true
		body = body[1:]
	}
	intPart, fracPart, hasDot := body, "", false
	for i := 0; i < len(body); i++ {
		if body[i] == '.' {
			intPart, fracPart, hasDot = body[:i], body[i+1:], true
			break
		}
	}
	for i := 0; i < len(intPart); i++ {
		if c := intPart[i]; c < '0' || c > '9' {
			return false, 0, fmt.Errorf("money: %q contains invalid character %q (only digits, one '.' and a leading '-' are allowed)", s, c)
		}
	}
	for i := 0; i < len(fracPart); i++ {
		if c := fracPart[i]; c < '0' || c > '9' {
			return false, 0, fmt.Errorf("money: %q contains invalid character %q (only digits, one '.' and a leading '-' are allowed)", s, c)
		}
	}
	if intPart == "" {
		if hasDot {
			return false, 0, fmt.Errorf("money: %q has no digits before the decimal point", s)
		}
		return false, 0, fmt.Errorf("money: %q has no digits", s)
	}
	if hasDot && fracPart == "" {
		return false, 0, fmt.Errorf("money: %q has no digits after the decimal point", s)
	}
	if len(fracPart) > maxDec {
		return false, 0, fmt.Errorf("money: %q has more than %d decimal places", s, maxDec)
	}

	limit := uint64(maxInt64Mag)
	if neg {
		limit = minInt64Mag
	}
	overflow := func() error {
		return overflowf("money: %q is out of range for %s", s, kind)
	}
	// Integer part: limit / 10^maxDec is far below MaxUint64/10, so the
	// early-out keeps ip*10+d from wrapping.
	intLimit := limit / pow10[maxDec]
	var ip uint64
	for i := 0; i < len(intPart); i++ {
		ip = ip*10 + uint64(intPart[i]-'0')
		if ip > intLimit {
			return false, 0, overflow()
		}
	}
	var fp uint64
	for i := 0; i < len(fracPart); i++ {
		fp = fp*10 + uint64(fracPart[i]-'0')
	}
	fp *= pow10[maxDec-len(fracPart)]
	mag = ip*pow10[maxDec] + fp // ip <= intLimit, so no wrap
	if mag > limit {
		return false, 0, overflow()
	}
	return neg, mag, nil
}

// ParseAmount parses a decimal string with at most 8 decimal places, such as
// "12", "-0.5", "7.25925278" or "0.00000000". The grammar is
// ['-'] digit+ ['.' digit{1,8}]: no '+', no exponent, no spaces, digits are
// required on both sides of a '.'. More than 8 decimals is an error (never
// rounded). Values outside the Amount range return an error matching
// ErrOverflow.
func ParseAmount(s string) (Amount, error) {
	neg, mag, err := parseDecimal(s, "amount", amountDecimals, true)
	if err != nil {
		return 0, err
	}
	if neg {
		return Amount(-mag), nil // two's complement: also correct for MinInt64
	}
	return Amount(mag), nil
}

// magnitude returns |v| as a uint64 (correct for math.MinInt64).
func magnitude(v int64) (neg bool, mag uint64) {
	if v < 0 {
		return true, -uint64(v)
	}
	return false, uint64(v)
}

// appendPadded appends v in decimal, left-padded with zeros to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v > 0 || i > len(buf)-width {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[i:]...)
}

func (a Amount) appendTo(b []byte) []byte {
	neg, mag := magnitude(int64(a))
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, mag/AmountScale, 10)
	b = append(b, '.')
	return appendPadded(b, mag%AmountScale, amountDecimals)
}

// String formats a with exactly 8 decimals: "7.25925278", "0.00000000",
// "-0.50000000".
func (a Amount) String() string {
	var buf [32]byte
	return string(a.appendTo(buf[:0]))
}

// Add returns a+b, or ErrOverflow if the sum does not fit in an Amount.
func (a Amount) Add(b Amount) (Amount, error) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// SumAmounts returns the exact sum of xs (0 for none). The running total is
// kept in 128 bits, so ErrOverflow is returned only if the final sum does
// not fit in an Amount, regardless of the order of the terms.
func SumAmounts(xs ...Amount) (Amount, error) {
	var hi int64
	var lo uint64
	for _, x := range xs {
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(x), 0)
		hi += int64(carry) + int64(x)>>63 // sign-extend x into the high word
	}
	// The 128-bit value fits in int64 iff hi is the sign extension of lo.
	if hi != int64(lo)>>63 {
		return 0, ErrOverflow
	}
	return Amount(lo), nil
}

// MarshalJSON encodes a as a JSON string, e.g. "7.25925278".
func (a Amount) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = a.appendTo(b)
	return append(b, '"'), nil
}

// jsonString returns the contents of a JSON string token, or ok=false if
// data is not a JSON string.
func jsonString(data []byte) (s string, ok bool, err error) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return "", false, nil
	}
	inner := data[1 : len(data)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			simple = false
			break
		}
	}
	if simple {
		return string(inner), true, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return "", true, err
	}
	return s, true, nil
}

// UnmarshalJSON accepts only a JSON string holding a value in ParseAmount
// syntax. JSON numbers and null are rejected.
func (a *Amount) UnmarshalJSON(data []byte) error {
	s, ok, err := jsonString(data)
	if err != nil {
		return fmt.Errorf("money: invalid JSON string for amount: %w", err)
	}
	if !ok {
		return fmt.Errorf("money: amount must be a JSON string, got %.40q", data)
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParsePrice parses a non-negative decimal with at most 12 decimal places,
// using the same grammar as ParseAmount. Any leading '-' is rejected (prices
// are >= 0), as are values beyond the Price range (error matches
// ErrOverflow).
func ParsePrice(s string) (Price, error) {
	_, mag, err := parseDecimal(s, "price", priceDecimals, false)
	if err != nil {
		return 0, err
	}
	return Price(mag), nil
}

func (p Price) appendTo(b []byte) []byte {
	neg, mag := magnitude(int64(p))
	if neg { // not produced by ParsePrice, but format it faithfully
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, mag/PriceScale, 10)
	frac := mag % PriceScale
	if frac == 0 {
		return b
	}
	width := priceDecimals
	for frac%10 == 0 {
		frac /= 10
		width--
	}
	b = append(b, '.')
	return appendPadded(b, frac, width)
}

// String formats p in its shortest exact decimal form: "0.31", "0",
// "0.0004", "0.000000000001".
func (p Price) String() string {
	var buf [32]byte
	return string(p.appendTo(buf[:0]))
}

// MarshalJSON encodes p as a JSON string in its shortest exact form.
func (p Price) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = p.appendTo(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON string in ParsePrice syntax, or a JSON number
// token whose literal text is parsed with ParsePrice (so 0.31 is exactly
// 0.31; exponents such as 1e-3 are rejected). Floating point is never used.
func (p *Price) UnmarshalJSON(data []byte) error {
	s, ok, err := jsonString(data)
	if err != nil {
		return fmt.Errorf("money: invalid JSON string for price: %w", err)
	}
	if !ok {
		if len(data) == 0 || (data[0] != '-' && (data[0] < '0' || data[0] > '9')) {
			return fmt.Errorf("money: price must be a JSON string or number, got %.40q", data)
		}
		s = string(data)
	}
	v, err := ParsePrice(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Amount converts p to an Amount by rounding half-up to 8 decimal places
// (used when a traffic price per GB is shown as cost_per_unit).
func (p Price) Amount() Amount {
	neg, mag := magnitude(int64(p))
	q := mag / priceToAmount
	if mag%priceToAmount >= priceToAmount/2 {
		q++
	}
	if neg { // half away from zero for the (invalid) negative case
		return Amount(-q)
	}
	return Amount(q)
}

// PricePerUnit is p.Amount(): p rounded half-up to 8 decimal places.
func PricePerUnit(p Price) Amount { return p.Amount() }

// mulDivRound returns round_half_up(a*b/d) for d > 0 using a 128-bit
// product. ok is false if the result exceeds math.MaxInt64.
//
// If the high word of a*b is >= d, the quotient is >= 2^64, which never
// fits an int64, so no arbitrary-precision fallback is needed.
func mulDivRound(a, b, d uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	if hi >= d {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, d)
	if r >= d-r { // 2r >= d without overflowing
		q++
		if q == 0 { // wrapped from MaxUint64
			return 0, false
		}
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	return q, true
}

// Cost computes round_half_up_8(quantity / measurementPeriod * costPerUnit)
// exactly, from the already rounded costPerUnit. quantity >= 0,
// measurementPeriod > 0 and costPerUnit >= 0 are required. The 128-bit fast
// path is exact for every result that fits an Amount; ErrOverflow otherwise.
func Cost(quantity int64, measurementPeriod int64, costPerUnit Amount) (Amount, error) {
	if quantity < 0 || measurementPeriod <= 0 || costPerUnit < 0 {
		return 0, costArgError(quantity, measurementPeriod, costPerUnit)
	}
	q, ok := mulDivRound(uint64(quantity), uint64(costPerUnit), uint64(measurementPeriod))
	if !ok {
		return 0, ErrOverflow
	}
	return Amount(q), nil
}

func costArgError(quantity, measurementPeriod int64, costPerUnit Amount) error {
	switch {
	case quantity < 0:
		return fmt.Errorf("money: Cost: quantity %d must be >= 0", quantity)
	case measurementPeriod <= 0:
		return fmt.Errorf("money: Cost: measurement period %d must be > 0", measurementPeriod)
	default:
		return fmt.Errorf("money: Cost: cost per unit %s must be >= 0", costPerUnit)
	}
}

// TrafficCost computes round_half_up_8(quantityGB * costPerUnit) exactly,
// where quantityGB is given in units of 1e-4 GB. Both arguments must be
// >= 0.
func TrafficCost(quantityGB4 int64, costPerUnit Amount) (Amount, error) {
	if quantityGB4 < 0 {
		return 0, fmt.Errorf("money: TrafficCost: quantity %d must be >= 0", quantityGB4)
	}
	if costPerUnit < 0 {
		return 0, fmt.Errorf("money: TrafficCost: cost per unit %s must be >= 0", costPerUnit)
	}
	q, ok := mulDivRound(uint64(quantityGB4), uint64(costPerUnit), gb4Scale)
	if !ok {
		return 0, ErrOverflow
	}
	return Amount(q), nil
}

// CostPerUnit computes
//
//	round_half_up_8(unitsNum/unitsDen * price * measurementPeriod / periodSeconds)
//
// exactly with math/big. Requires unitsNum >= 0, unitsDen > 0, price >= 0,
// measurementPeriod > 0 and periodSeconds > 0. Returns ErrOverflow if the
// result does not fit in an Amount.
func CostPerUnit(unitsNum, unitsDen int64, price Price, measurementPeriod, periodSeconds int64) (Amount, error) {
	switch {
	case unitsNum < 0:
		return 0, fmt.Errorf("money: CostPerUnit: units numerator %d must be >= 0", unitsNum)
	case unitsDen <= 0:
		return 0, fmt.Errorf("money: CostPerUnit: units denominator %d must be > 0", unitsDen)
	case price < 0:
		return 0, fmt.Errorf("money: CostPerUnit: price %s must be >= 0", price)
	case measurementPeriod <= 0:
		return 0, fmt.Errorf("money: CostPerUnit: measurement period %d must be > 0", measurementPeriod)
	case periodSeconds <= 0:
		return 0, fmt.Errorf("money: CostPerUnit: period seconds %d must be > 0", periodSeconds)
	}
	// Result in 1e-8 units:
	//   unitsNum * price[1e-12] * measurementPeriod * 1e8
	//   ------------------------------------------------
	//          unitsDen * 1e12 * periodSeconds
	// = unitsNum*price*measurementPeriod / (unitsDen*periodSeconds*1e4)
	var num, den, t big.Int
	num.SetInt64(unitsNum)
	num.Mul(&num, t.SetInt64(int64(price)))
	num.Mul(&num, t.SetInt64(measurementPeriod))
	den.SetInt64(unitsDen)
	den.Mul(&den, t.SetInt64(periodSeconds))
	den.Mul(&den, t.SetInt64(PriceScale/AmountScale))
	// Half-up for non-negative values: floor((2*num + den) / (2*den)).
	num.Lsh(&num, 1)
	num.Add(&num, &den)
	den.Lsh(&den, 1)
	num.Quo(&num, &den)
	if !num.IsInt64() {
		return 0, ErrOverflow
	}
	return Amount(num.Int64()), nil
}

// GBFromBytes returns bytes / 1024^3 rounded half-up (half away from zero)
// to 4 decimals, in units of 1e-4 GB.
func GBFromBytes(bytes int64) int64 {
	neg, mag := magnitude(bytes)
	hi, lo := bits.Mul64(mag, gb4Scale)
	// (hi:lo) >> 30; the result is < 2^63 since mag <= 2^63.
	q := hi<<(64-bytesPerGBLog2) | lo>>bytesPerGBLog2
	if lo&(1<<bytesPerGBLog2-1) >= 1<<(bytesPerGBLog2-1) {
		q++
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}

// FormatGB4 formats q, in units of 1e-4, with exactly 4 decimals: "12.3457".
func FormatGB4(q int64) string {
	var buf [32]byte
	b := buf[:0]
	neg, mag := magnitude(q)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, mag/gb4Scale, 10)
	b = append(b, '.')
	b = appendPadded(b, mag%gb4Scale, 4)
	return string(b)
}
