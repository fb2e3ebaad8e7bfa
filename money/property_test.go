package money_test

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter/money"
)

// refRoundHalfUp rounds a non-negative rational half-up to an integer using
// big.Rat: floor(r + 1/2). It is written independently of the package's
// integer tricks.
func refRoundHalfUp(r *big.Rat) *big.Int {
	if r.Sign() < 0 {
		panic("refRoundHalfUp: negative input")
	}
	x := new(big.Rat).Add(r, big.NewRat(1, 2))
	return new(big.Int).Div(x.Num(), x.Denom()) // Euclidean = floor, as Denom > 0
}

// refCost is round_half_up_8(quantity / period * costPerUnit) with big.Rat.
func refCost(quantity, period int64, cpu money.Amount) *big.Int {
	r := new(big.Rat).SetFrac64(quantity, period)
	r.Mul(r, new(big.Rat).SetFrac64(int64(cpu), money.AmountScale))
	r.Mul(r, new(big.Rat).SetInt64(money.AmountScale)) // express in 1e-8 units
	return refRoundHalfUp(r)
}

// refCostPerUnit is round_half_up_8(num/den * price * mp / ps) with big.Rat.
func refCostPerUnit(num, den int64, price money.Price, mp, ps int64) *big.Int {
	r := new(big.Rat).SetFrac64(num, den)
	r.Mul(r, new(big.Rat).SetFrac64(int64(price), money.PriceScale))
	r.Mul(r, new(big.Rat).SetInt64(mp))
	r.Mul(r, new(big.Rat).SetFrac64(1, ps))
	r.Mul(r, new(big.Rat).SetInt64(money.AmountScale))
	return refRoundHalfUp(r)
}

// wideInt64 draws a value in [lo, 2^bits) where bits is itself random, so
// small, medium and huge magnitudes are all well represented.
func wideInt64(lo int64) *rapid.Generator[int64] {
	return rapid.Custom(func(t *rapid.T) int64 {
		n := rapid.IntRange(1, 63).Draw(t, "bits")
		hi := int64(math.MaxInt64)
		if n < 63 {
			hi = int64(1)<<n - 1
		}
		if hi < lo {
			hi = lo
		}
		return rapid.Int64Range(lo, hi).Draw(t, "v")
	})
}

func TestPropAmountStringRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := money.Amount(rapid.Int64().Draw(t, "a"))
		s := a.String()
		back, err := money.ParseAmount(s)
		if err != nil {
			t.Fatalf("ParseAmount(%q): %v", s, err)
		}
		if back != a {
			t.Fatalf("ParseAmount(%q) = %d, want %d", s, int64(back), int64(a))
		}
	})
}

func TestPropPriceStringRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := money.Price(rapid.Int64Range(0, math.MaxInt64).Draw(t, "p"))
		s := p.String()
		back, err := money.ParsePrice(s)
		if err != nil {
			t.Fatalf("ParsePrice(%q): %v", s, err)
		}
		if back != p {
			t.Fatalf("ParsePrice(%q) = %d, want %d", s, int64(back), int64(p))
		}
		// Shortest form: exactly the value, no trailing fractional zeros.
		r, ok := new(big.Rat).SetString(s)
		if !ok || r.Cmp(new(big.Rat).SetFrac64(int64(p), money.PriceScale)) != 0 {
			t.Fatalf("%q does not denote %d/1e12", s, int64(p))
		}
		if n := len(s); n > 0 && (s[n-1] == '0' || s[n-1] == '.') && containsDot(s) {
			t.Fatalf("%q is not the shortest form", s)
		}
	})
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

func TestPropCostMatchesReference(t *testing.T) {
	maxI64 := big.NewInt(math.MaxInt64)
	rapid.Check(t, func(t *rapid.T) {
		q := wideInt64(0).Draw(t, "quantity")
		mp := wideInt64(1).Draw(t, "period")
		cpu := money.Amount(wideInt64(0).Draw(t, "costPerUnit"))
		got, err := money.Cost(q, mp, cpu)
		want := refCost(q, mp, cpu)
		if want.Cmp(maxI64) > 0 {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("Cost(%d, %d, %d) = %d, %v; reference %s overflows", q, mp, int64(cpu), int64(got), err, want)
			}
			return
		}
		if err != nil {
			t.Fatalf("Cost(%d, %d, %d): %v; reference %s", q, mp, int64(cpu), err, want)
		}
		if int64(got) != want.Int64() {
			t.Fatalf("Cost(%d, %d, %d) = %d, reference %s", q, mp, int64(cpu), int64(got), want)
		}
	})
}

// TestPropCostWideProduct forces quantity*costPerUnit beyond 64 bits while
// the result still fits, exercising bits.Div64 with a non-zero high word.
func TestPropCostWideProduct(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := rapid.Int64Range(1<<40, math.MaxInt64).Draw(t, "quantity")
		cpu := money.Amount(rapid.Int64Range(1<<40, math.MaxInt64).Draw(t, "costPerUnit"))
		// Choose the period so the quotient is around 2^(resultBits).
		resultBits := rapid.IntRange(0, 62).Draw(t, "resultBits")
		prod := new(big.Int).Mul(big.NewInt(q), big.NewInt(int64(cpu)))
		mpBig := new(big.Int).Rsh(prod, uint(resultBits))
		mp := int64(math.MaxInt64 - 1000)
		if mpBig.IsInt64() {
			mp = mpBig.Int64()
		}
		mp += rapid.Int64Range(-1000, 1000).Draw(t, "jitter")
		if mp <= 0 {
			mp = 1
		}
		got, err := money.Cost(q, mp, cpu)
		want := refCost(q, mp, cpu)
		if !want.IsInt64() {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("Cost(%d, %d, %d) = %d, %v; reference %s overflows", q, mp, int64(cpu), int64(got), err, want)
			}
			return
		}
		if err != nil || int64(got) != want.Int64() {
			t.Fatalf("Cost(%d, %d, %d) = %d, %v; reference %s", q, mp, int64(cpu), int64(got), err, want)
		}
	})
}

func TestPropCostMonotonicInQuantity(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q1 := wideInt64(0).Draw(t, "q1")
		q2 := wideInt64(0).Draw(t, "q2")
		if q1 > q2 {
			q1, q2 = q2, q1
		}
		mp := wideInt64(1).Draw(t, "period")
		cpu := money.Amount(wideInt64(0).Draw(t, "costPerUnit"))
		c1, err1 := money.Cost(q1, mp, cpu)
		c2, err2 := money.Cost(q2, mp, cpu)
		if err2 != nil {
			return // larger quantity overflowed; nothing to compare
		}
		if err1 != nil {
			t.Fatalf("Cost(%d) overflowed but larger Cost(%d) = %d", q1, q2, int64(c2))
		}
		if c1 > c2 {
			t.Fatalf("not monotonic: Cost(%d)=%d > Cost(%d)=%d (period %d, cpu %d)", q1, int64(c1), q2, int64(c2), mp, int64(cpu))
		}
	})
}

func TestPropTrafficCostMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := wideInt64(0).Draw(t, "gb4")
		cpu := money.Amount(wideInt64(0).Draw(t, "costPerUnit"))
		got, err := money.TrafficCost(q, cpu)
		r := new(big.Rat).SetFrac64(q, 10000)
		r.Mul(r, new(big.Rat).SetInt64(int64(cpu)))
		want := refRoundHalfUp(r)
		if !want.IsInt64() {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("TrafficCost(%d, %d) = %d, %v; reference %s overflows", q, int64(cpu), int64(got), err, want)
			}
			return
		}
		if err != nil || int64(got) != want.Int64() {
			t.Fatalf("TrafficCost(%d, %d) = %d, %v; reference %s", q, int64(cpu), int64(got), err, want)
		}
	})
}

func TestPropCostPerUnitMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		num := wideInt64(0).Draw(t, "unitsNum")
		den := wideInt64(1).Draw(t, "unitsDen")
		price := money.Price(wideInt64(0).Draw(t, "price"))
		mp := wideInt64(1).Draw(t, "measurementPeriod")
		ps := wideInt64(1).Draw(t, "periodSeconds")
		got, err := money.CostPerUnit(num, den, price, mp, ps)
		want := refCostPerUnit(num, den, price, mp, ps)
		if !want.IsInt64() {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("CostPerUnit = %d, %v; reference %s overflows", int64(got), err, want)
			}
			return
		}
		if err != nil || int64(got) != want.Int64() {
			t.Fatalf("CostPerUnit(%d, %d, %d, %d, %d) = %d, %v; reference %s", num, den, int64(price), mp, ps, int64(got), err, want)
		}
	})
}

func TestPropPriceAmountMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := money.Price(rapid.Int64Range(0, math.MaxInt64).Draw(t, "price"))
		want := refRoundHalfUp(new(big.Rat).SetFrac64(int64(p), money.PriceScale/money.AmountScale))
		if got := p.Amount(); int64(got) != want.Int64() {
			t.Fatalf("Price(%d).Amount() = %d, reference %s", int64(p), int64(got), want)
		}
	})
}

func TestPropGBFromBytesMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.Int64Range(0, math.MaxInt64).Draw(t, "bytes")
		want := refRoundHalfUp(new(big.Rat).SetFrac(
			new(big.Int).Mul(big.NewInt(b), big.NewInt(10000)), new(big.Int).Lsh(big.NewInt(1), 30)))
		if got := money.GBFromBytes(b); got != want.Int64() {
			t.Fatalf("GBFromBytes(%d) = %d, reference %s", b, got, want)
		}
		if got := money.GBFromBytes(-b); got != -want.Int64() {
			t.Fatalf("GBFromBytes(%d) = %d, want %d", -b, got, -want.Int64())
		}
	})
}

func addRef(xs ...money.Amount) (*big.Int, bool) {
	s := new(big.Int)
	for _, x := range xs {
		s.Add(s, big.NewInt(int64(x)))
	}
	return s, s.IsInt64()
}

func TestPropAddOverflowExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := money.Amount(rapid.Int64().Draw(t, "a"))
		b := money.Amount(rapid.Int64().Draw(t, "b"))
		got, err := a.Add(b)
		want, fits := addRef(a, b)
		if !fits {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("%d.Add(%d) = %d, %v; big sum %s leaves int64", int64(a), int64(b), int64(got), err, want)
			}
			return
		}
		if err != nil || int64(got) != want.Int64() {
			t.Fatalf("%d.Add(%d) = %d, %v; want %s", int64(a), int64(b), int64(got), err, want)
		}
	})
}

func TestPropAddCommutative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := money.Amount(rapid.Int64().Draw(t, "a"))
		b := money.Amount(rapid.Int64().Draw(t, "b"))
		ab, errAB := a.Add(b)
		ba, errBA := b.Add(a)
		if (errAB == nil) != (errBA == nil) || ab != ba {
			t.Fatalf("a+b = %d, %v; b+a = %d, %v", int64(ab), errAB, int64(ba), errBA)
		}
	})
}

func TestPropAddAssociative(t *testing.T) {
	// Draw from a narrower range too, so that many triples avoid overflow.
	gen := rapid.OneOf(rapid.Int64(), rapid.Int64Range(-1<<62, 1<<62), rapid.Int64Range(-1e12, 1e12))
	rapid.Check(t, func(t *rapid.T) {
		a := money.Amount(gen.Draw(t, "a"))
		b := money.Amount(gen.Draw(t, "b"))
		c := money.Amount(gen.Draw(t, "c"))
		ab, err1 := a.Add(b)
		bc, err2 := b.Add(c)
		if err1 != nil || err2 != nil {
			return
		}
		l, err3 := ab.Add(c)
		r, err4 := a.Add(bc)
		if err3 != nil || err4 != nil {
			// Both groupings compute the same exact sum, so they must agree.
			if (err3 == nil) != (err4 == nil) {
				t.Fatalf("(a+b)+c err %v, a+(b+c) err %v", err3, err4)
			}
			return
		}
		if l != r {
			t.Fatalf("(a+b)+c = %d, a+(b+c) = %d", int64(l), int64(r))
		}
	})
}

func TestPropSumAmountsMatchesBigInt(t *testing.T) {
	gen := rapid.OneOf(rapid.Int64(), rapid.Int64Range(-1e12, 1e12))
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.SliceOfN(gen, 0, 20).Draw(t, "xs")
		xs := make([]money.Amount, len(raw))
		for i, v := range raw {
			xs[i] = money.Amount(v)
		}
		got, err := money.SumAmounts(xs...)
		want, fits := addRef(xs...)
		if !fits {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("SumAmounts = %d, %v; big sum %s leaves int64", int64(got), err, want)
			}
			return
		}
		if err != nil || int64(got) != want.Int64() {
			t.Fatalf("SumAmounts = %d, %v; want %s", int64(got), err, want)
		}
	})
}
