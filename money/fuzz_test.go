package money_test

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/money"
)

// Independent statements of the accepted grammars.
var (
	amountRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,8})?$`)
	priceRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,12})?$`)
	// Canonical amount text: what String produces (no redundant leading
	// zeros, exactly 8 decimals); "-0.00000000" is excluded separately.
	canonicalAmountRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]{8}$`)
	// Canonical price text: no redundant leading zeros, no trailing
	// fractional zeros.
	canonicalPriceRE = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$`)
)

var fuzzSeeds = []string{
	"12", "-0.5", "7.25925278", "0.00000000", "0", "-0", "0.31", "0.0004",
	"0.000000000001", "92233720368.54775807", "92233720368.54775808",
	"-92233720368.54775808", "-92233720368.54775809", "9223372.036854775807",
	"9223372.036854775808", "1.123456789", "1.1234567890123", "", "-", ".",
	".5", "5.", "+5", "1e5", " 5", "5 ", "1.2.3", "--5", "007.50", "0x10",
	"١", "99999999999999999999999999", "-0.00000000", "0.050",
}

// exactValue returns the value of s (already known to match the grammar) in
// units of 10^-scale, via big.Rat.
func exactValue(t *testing.T, s string, scale int64) *big.Int {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("big.Rat cannot parse %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(scale), nil)))
	if !r.IsInt() {
		t.Fatalf("%q is not a multiple of 1e-%d", s, scale)
	}
	return r.Num()
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := money.ParseAmount(s)
		if amountRE.MatchString(s) {
			want := exactValue(t, s, 8)
			if !want.IsInt64() {
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("ParseAmount(%q) = %v, %v; want ErrOverflow", s, a, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAmount(%q): unexpected error %v", s, err)
			}
			if int64(a) != want.Int64() {
				t.Fatalf("ParseAmount(%q) = %d, want %s", s, int64(a), want)
			}
		} else {
			if err == nil {
				t.Fatalf("ParseAmount(%q) = %v, want a syntax error", s, a)
			}
			if errors.Is(err, money.ErrOverflow) {
				t.Fatalf("ParseAmount(%q): syntax error reported as overflow: %v", s, err)
			}
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "money: ") {
				t.Fatalf("error %q lacks the money: prefix", err)
			}
			return
		}
		out := a.String()
		back, err := money.ParseAmount(out)
		if err != nil || back != a {
			t.Fatalf("round trip %q -> %q -> %d, %v", s, out, int64(back), err)
		}
		if !canonicalAmountRE.MatchString(out) {
			t.Fatalf("String() = %q is not canonical", out)
		}
		if canonicalAmountRE.MatchString(s) && s != "-0.00000000" && out != s {
			t.Fatalf("String() = %q, want the input %q verbatim", out, s)
		}
	})
}

func FuzzParsePrice(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := money.ParsePrice(s)
		if priceRE.MatchString(s) {
			want := exactValue(t, s, 12)
			if !want.IsInt64() {
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("ParsePrice(%q) = %v, %v; want ErrOverflow", s, p, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrice(%q): unexpected error %v", s, err)
			}
			if int64(p) != want.Int64() {
				t.Fatalf("ParsePrice(%q) = %d, want %s", s, int64(p), want)
			}
		} else {
			if err == nil {
				t.Fatalf("ParsePrice(%q) = %v, want an error", s, p)
			}
			if errors.Is(err, money.ErrOverflow) {
				t.Fatalf("ParsePrice(%q): syntax error reported as overflow: %v", s, err)
			}
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "money: ") {
				t.Fatalf("error %q lacks the money: prefix", err)
			}
			return
		}
		if p < 0 {
			t.Fatalf("ParsePrice(%q) = %d is negative", s, int64(p))
		}
		out := p.String()
		back, err := money.ParsePrice(out)
		if err != nil || back != p {
			t.Fatalf("round trip %q -> %q -> %d, %v", s, out, int64(back), err)
		}
		if !canonicalPriceRE.MatchString(out) {
			t.Fatalf("String() = %q is not the shortest form", out)
		}
		if canonicalPriceRE.MatchString(s) && out != s {
			t.Fatalf("String() = %q, want the input %q verbatim", out, s)
		}
	})
}
