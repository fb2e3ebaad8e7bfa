package cloudmeter

import (
	"math/big"
	"regexp"
	"strings"
)

// PartnerAmount is an amount of money as a marketplace partner states it: a decimal
// string of any length (^[0-9]+(\.[0-9]+)?$), kept exactly as it was sent and summed
// exactly, with as many decimal places as its terms have. It never passes through a
// float, and it is not held to the 8 decimal places of money.Amount: a partner's figure
// is recorded, not computed, by cloudmeter.
type PartnerAmount struct {
	text  string   // as sent (or as computed, for sums)
	units *big.Int // the amount in units of 10^-scale
	scale int
}

var partnerAmountPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// MaxPartnerAmountBytes bounds the text of one partner amount.
const MaxPartnerAmountBytes = 64

// ParsePartnerAmount parses a partner's decimal string.
//
// Errors: KindInvalid naming field when s breaks ^[0-9]+(\.[0-9]+)?$ or is longer than
// MaxPartnerAmountBytes.
func ParsePartnerAmount(field, s string) (PartnerAmount, error) {
	if len(s) > MaxPartnerAmountBytes {
		return PartnerAmount{}, Errorf(KindInvalid, "%s: must be at most %d characters long", field, MaxPartnerAmountBytes)
	}
	if !partnerAmountPattern.MatchString(s) {
		return PartnerAmount{}, Errorf(KindInvalid, "%s: %q must be a decimal string of digits with an optional fraction (^[0-9]+(\\.[0-9]+)?$), such as \"31.13\"", field, s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	u, _ := new(big.Int).SetString(whole+frac, 10)
	return PartnerAmount{text: s, units: u, scale: len(frac)}, nil
}

// ZeroPartnerAmount is 0, with no decimal places.
func ZeroPartnerAmount() PartnerAmount {
	return PartnerAmount{text: "0", units: new(big.Int), scale: 0}
}

// String returns the amount as it was sent, or for a computed amount its exact decimal
// form with the larger number of decimal places of its terms.
func (a PartnerAmount) String() string {
	if a.units == nil {
		return "0"
	}
	return a.text
}

// IsZero reports whether the amount is 0.
func (a PartnerAmount) IsZero() bool { return a.units == nil || a.units.Sign() == 0 }

func (a PartnerAmount) normalized() PartnerAmount {
	if a.units == nil {
		return ZeroPartnerAmount()
	}
	return a
}

// align returns the units of a and b at their common (the larger) scale.
func align(a, b PartnerAmount) (*big.Int, *big.Int, int) {
	a, b = a.normalized(), b.normalized()
	scale := max(a.scale, b.scale)
	return rescale(a.units, a.scale, scale), rescale(b.units, b.scale, scale), scale
}

func rescale(u *big.Int, from, to int) *big.Int {
	if from == to {
		return new(big.Int).Set(u)
	}
	return new(big.Int).Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to-from)), nil))
}

func fromUnits(u *big.Int, scale int) PartnerAmount {
	s := new(big.Int).Abs(u).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if u.Sign() < 0 {
		s = "-" + s
	}
	return PartnerAmount{text: s, units: u, scale: scale}
}

// Add returns a + b, exactly.
func (a PartnerAmount) Add(b PartnerAmount) PartnerAmount {
	x, y, scale := align(a, b)
	return fromUnits(x.Add(x, y), scale)
}

// Sub returns a - b, exactly (negative when b is larger).
func (a PartnerAmount) Sub(b PartnerAmount) PartnerAmount {
	x, y, scale := align(a, b)
	return fromUnits(x.Sub(x, y), scale)
}

// Cmp compares a and b by value: -1, 0 or +1 ("1.50" equals "1.5").
func (a PartnerAmount) Cmp(b PartnerAmount) int {
	x, y, _ := align(a, b)
	return x.Cmp(y)
}

// Sign is -1, 0 or +1.
func (a PartnerAmount) Sign() int { return a.normalized().units.Sign() }

// Rat returns the amount as an exact rational.
func (a PartnerAmount) Rat() *big.Rat {
	a = a.normalized()
	return new(big.Rat).SetFrac(a.units, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(a.scale)), nil))
}

// currencyMinorDigits are the currencies whose minor unit is not a hundredth.
var currencyMinorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0,
	"UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// CurrencyMinorDigits is how many decimal places the minor unit of an ISO 4217 currency
// has: 2 (a cent) unless the currency is known to have another.
func CurrencyMinorDigits(currency string) int {
	if d, ok := currencyMinorDigits[currency]; ok {
		return d
	}
	return 2
}

// TotalMatches reports whether a partner's item total agrees with price x quantity in a
// currency: it does when it is the exact product, or the product rounded to the
// currency's minor unit in either direction (2.49 x 12.5 = 31.125 sent as "31.13" or
// "31.12"), that is when the two differ by less than one minor unit. quantity is the
// JSON number as sent.
func TotalMatches(price, total PartnerAmount, quantity *big.Rat, currency string) bool {
	product := new(big.Rat).Mul(price.Rat(), quantity)
	diff := new(big.Rat).Sub(total.Rat(), product)
	diff.Abs(diff)
	unit := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(CurrencyMinorDigits(currency))), nil))
	return diff.Cmp(unit) < 0
}
