package money_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/money"
)

func mustAmount(t testing.TB, s string) money.Amount {
	t.Helper()
	a, err := money.ParseAmount(s)
	if err != nil {
		t.Fatalf("ParseAmount(%q): %v", s, err)
	}
	return a
}

func mustPrice(t testing.TB, s string) money.Price {
	t.Helper()
	p, err := money.ParsePrice(s)
	if err != nil {
		t.Fatalf("ParsePrice(%q): %v", s, err)
	}
	return p
}

// TestReferenceValues pins the product's reference results.
func TestReferenceValues(t *testing.T) {
	type call func(t *testing.T) (money.Amount, error)
	tests := []struct {
		name string
		f    call
		want string
	}{
		{"CostPerUnit_41000of1024_0.0004_hourly", func(t *testing.T) (money.Amount, error) {
			return money.CostPerUnit(41000, 1024, mustPrice(t, "0.0004"), 3600, 3600)
		}, "0.01601563"},
		{"CostPerUnit_51200of1024_0.05_monthly", func(t *testing.T) (money.Amount, error) {
			return money.CostPerUnit(51200, 1024, mustPrice(t, "0.05"), 3600, 2592000)
		}, "0.00347222"},
		{"CostPerUnit_1of1_0.31_hourly", func(t *testing.T) (money.Amount, error) {
			return money.CostPerUnit(1, 1, mustPrice(t, "0.31"), 3600, 3600)
		}, "0.31000000"},
		{"Cost_242136_0.00347222", func(t *testing.T) (money.Amount, error) {
			return money.Cost(242136, 3600, mustAmount(t, "0.00347222"))
		}, "0.23354152"},
		{"Cost_250369_0.01601563", func(t *testing.T) (money.Amount, error) {
			return money.Cost(250369, 3600, mustAmount(t, "0.01601563"))
		}, "1.11383813"},
		{"Cost_84301_0.31000000", func(t *testing.T) (money.Amount, error) {
			return money.Cost(84301, 3600, mustAmount(t, "0.31000000"))
		}, "7.25925278"},
		{"Cost_250376_zero", func(t *testing.T) (money.Amount, error) {
			return money.Cost(250376, 3600, mustAmount(t, "0.00000000"))
		}, "0.00000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f(t)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("GBFromBytes_1GiB", func(t *testing.T) {
		if got := money.GBFromBytes(1073741824); got != 10000 {
			t.Errorf("GBFromBytes(1073741824) = %d, want 10000", got)
		}
	})
	t.Run("FormatGB4_10000", func(t *testing.T) {
		if got := money.FormatGB4(10000); got != "1.0000" {
			t.Errorf("FormatGB4(10000) = %q, want %q", got, "1.0000")
		}
	})
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    money.Amount
		wantErr string // substring of the error message; "" means success
		isOvf   bool
	}{
		{"integer", "12", 12 * money.AmountScale, "", false},
		{"negative_half", "-0.5", -50000000, "", false},
		{"eight_decimals", "7.25925278", 725925278, "", false},
		{"zero_eight_decimals", "0.00000000", 0, "", false},
		{"zero", "0", 0, "", false},
		{"negative_zero", "-0", 0, "", false},
		{"leading_zeros", "007.5", 750000000, "", false},
		{"one_unit", "0.00000001", 1, "", false},
		{"max", "92233720368.54775807", math.MaxInt64, "", false},
		{"min", "-92233720368.54775808", math.MinInt64, "", false},
		{"max_integer_part", "92233720368", 92233720368 * money.AmountScale, "", false},
		{"long_leading_zeros", strings.Repeat("0", 100) + "1", money.AmountScale, "", false},

		{"empty", "", 0, "empty", false},
		{"plus", "+5", 0, "leading '+'", false},
		{"too_many_decimals", "1.123456789", 0, `"1.123456789" has more than 8 decimal places`, false},
		{"too_many_zero_decimals", "1.000000000", 0, "more than 8 decimal places", false},
		{"no_int_digits", ".5", 0, "no digits before the decimal point", false},
		{"no_frac_digits", "5.", 0, "no digits after the decimal point", false},
		{"minus_only", "-", 0, "has no digits", false},
		{"minus_dot", "-.5", 0, "no digits before the decimal point", false},
		{"dot_only", ".", 0, "no digits before the decimal point", false},
		{"exponent", "1e5", 0, "invalid character 'e'", false},
		{"exponent_after_frac", "1.5E2", 0, "invalid character 'E'", false},
		{"leading_space", " 5", 0, "invalid character ' '", false},
		{"trailing_space", "5 ", 0, "invalid character ' '", false},
		{"two_dots", "1.2.3", 0, "invalid character '.'", false},
		{"double_minus", "--5", 0, "invalid character '-'", false},
		{"inner_minus", "5-", 0, "invalid character '-'", false},
		{"comma", "1,5", 0, "invalid character ','", false},
		{"underscore", "1_000", 0, "invalid character '_'", false},
		{"hex", "0x10", 0, "invalid character 'x'", false},
		{"non_ascii_digit", "١", 0, "invalid character", false},
		{"overflow_by_one", "92233720368.54775808", 0, "out of range", true},
		{"overflow_negative_by_one", "-92233720368.54775809", 0, "out of range", true},
		{"overflow_integer_part", "92233720369", 0, "out of range", true},
		{"overflow_huge", "99999999999999999999999999999", 0, "out of range", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.ParseAmount(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseAmount(%q): unexpected error %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("ParseAmount(%q) = %d, want %d", tc.in, int64(got), int64(tc.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseAmount(%q) = %s, want error containing %q", tc.in, got, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "money: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseAmount(%q) error %q, want it to contain %q", tc.in, err, tc.wantErr)
			}
			if errors.Is(err, money.ErrOverflow) != tc.isOvf {
				t.Errorf("errors.Is(%v, ErrOverflow) = %v, want %v", err, !tc.isOvf, tc.isOvf)
			}
		})
	}
}

func TestAmountString(t *testing.T) {
	tests := []struct {
		name string
		in   money.Amount
		want string
	}{
		{"zero", 0, "0.00000000"},
		{"one_unit", 1, "0.00000001"},
		{"minus_one_unit", -1, "-0.00000001"},
		{"minus_half", -50000000, "-0.50000000"},
		{"reference", 725925278, "7.25925278"},
		{"twelve", 12 * money.AmountScale, "12.00000000"},
		{"max", math.MaxInt64, "92233720368.54775807"},
		{"min", math.MinInt64, "-92233720368.54775808"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("Amount(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
			}
			back, err := money.ParseAmount(tc.want)
			if err != nil || back != tc.in {
				t.Errorf("round trip: ParseAmount(%q) = %d, %v; want %d", tc.want, int64(back), err, int64(tc.in))
			}
		})
	}
}

func TestParsePrice(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    money.Price
		str     string // canonical String() of the result
		wantErr string
		isOvf   bool
	}{
		{"decimal", "0.31", 310000000000, "0.31", "", false},
		{"zero", "0", 0, "0", "", false},
		{"zero_padded", "0.000000000000", 0, "0", "", false},
		{"small", "0.0004", 400000000, "0.0004", "", false},
		{"one_unit", "0.000000000001", 1, "0.000000000001", "", false},
		{"integer", "12", 12 * money.PriceScale, "12", "", false},
		{"trailing_zeros", "0.050", 50000000000, "0.05", "", false},
		{"leading_zeros", "00.5", 500000000000, "0.5", "", false},
		{"max", "9223372.036854775807", math.MaxInt64, "9223372.036854775807", "", false},

		{"negative", "-0.5", 0, "", "is negative", false},
		{"negative_zero", "-0", 0, "", "is negative", false},
		{"empty", "", 0, "", "empty", false},
		{"plus", "+1", 0, "", "leading '+'", false},
		{"too_many_decimals", "0.0000000000001", 0, "", "more than 12 decimal places", false},
		{"no_int_digits", ".5", 0, "", "no digits before the decimal point", false},
		{"no_frac_digits", "5.", 0, "", "no digits after the decimal point", false},
		{"exponent", "4e-4", 0, "", "invalid character 'e'", false},
		{"space", "0. 5", 0, "", "invalid character ' '", false},
		{"overflow_by_one", "9223372.036854775808", 0, "", "out of range", true},
		{"overflow_integer", "9223373", 0, "", "out of range", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.ParsePrice(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParsePrice(%q): unexpected error %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("ParsePrice(%q) = %d, want %d", tc.in, int64(got), int64(tc.want))
				}
				if s := got.String(); s != tc.str {
					t.Errorf("String() = %q, want %q", s, tc.str)
				}
				if back, err := money.ParsePrice(got.String()); err != nil || back != got {
					t.Errorf("round trip of %q: %d, %v", got.String(), int64(back), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePrice(%q) = %s, want error containing %q", tc.in, got, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "money: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParsePrice(%q) error %q, want it to contain %q", tc.in, err, tc.wantErr)
			}
			if errors.Is(err, money.ErrOverflow) != tc.isOvf {
				t.Errorf("errors.Is(%v, ErrOverflow) = %v, want %v", err, !tc.isOvf, tc.isOvf)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name    string
		a, b    money.Amount
		want    money.Amount
		wantOvf bool
	}{
		{"simple", 1, 2, 3, false},
		{"mixed_signs", 5, -7, -2, false},
		{"max_plus_zero", math.MaxInt64, 0, math.MaxInt64, false},
		{"max_plus_min", math.MaxInt64, math.MinInt64, -1, false},
		{"max_plus_one", math.MaxInt64, 1, 0, true},
		{"min_minus_one", math.MinInt64, -1, 0, true},
		{"min_plus_min", math.MinInt64, math.MinInt64, 0, true},
		{"max_plus_max", math.MaxInt64, math.MaxInt64, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.Add(tc.b)
			if tc.wantOvf {
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("%d.Add(%d) = %d, %v; want ErrOverflow", int64(tc.a), int64(tc.b), int64(got), err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%d.Add(%d) = %d, %v; want %d", int64(tc.a), int64(tc.b), int64(got), err, int64(tc.want))
			}
		})
	}
}

func TestSumAmounts(t *testing.T) {
	tests := []struct {
		name    string
		xs      []money.Amount
		want    money.Amount
		wantOvf bool
	}{
		{"empty", nil, 0, false},
		{"one", []money.Amount{7}, 7, false},
		{"several", []money.Amount{1, 2, 3, -4}, 2, false},
		{"overflow", []money.Amount{math.MaxInt64, 1}, 0, true},
		{"negative_overflow", []money.Amount{math.MinInt64, -1}, 0, true},
		{"transient_overflow_cancels", []money.Amount{math.MaxInt64, 1, -1}, math.MaxInt64, false},
		{"transient_underflow_cancels", []money.Amount{math.MinInt64, math.MinInt64, math.MaxInt64, 1}, math.MinInt64, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.SumAmounts(tc.xs...)
			if tc.wantOvf {
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("SumAmounts = %d, %v; want ErrOverflow", int64(got), err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("SumAmounts = %d, %v; want %d", int64(got), err, int64(tc.want))
			}
		})
	}
}

func TestAmountJSON(t *testing.T) {
	t.Run("marshal", func(t *testing.T) {
		b, err := json.Marshal(struct {
			Cost money.Amount `json:"cost"`
		}{725925278})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"cost":"7.25925278"}`; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	tests := []struct {
		name    string
		in      string
		want    money.Amount
		wantErr string
	}{
		{"string", `"7.25925278"`, 725925278, ""},
		{"negative_string", `"-0.5"`, -50000000, ""},
		{"escaped_string", `"\u0037.25"`, 725000000, ""},
		{"number", `7.25`, 0, "must be a JSON string"},
		{"null", `null`, 0, "must be a JSON string"},
		{"bool", `true`, 0, "must be a JSON string"},
		{"bad_string", `"7.123456789"`, 0, "more than 8 decimal places"},
		{"empty_string", `""`, 0, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				A money.Amount `json:"a"`
			}
			err := json.Unmarshal([]byte(`{"a":`+tc.in+`}`), &v)
			if tc.wantErr == "" {
				if err != nil || v.A != tc.want {
					t.Fatalf("Unmarshal %s = %d, %v; want %d", tc.in, int64(v.A), err, int64(tc.want))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Unmarshal %s error = %v, want it to contain %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestPriceJSON(t *testing.T) {
	t.Run("marshal", func(t *testing.T) {
		b, err := json.Marshal(map[string]money.Price{"price": 310000000000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"price":"0.31"}`; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"string", `"0.31"`, "0.31", ""},
		{"number", `0.31`, "0.31", ""},
		{"number_tiny", `0.000000000001`, "0.000000000001", ""},
		{"number_integer", `2`, "2", ""},
		{"number_exponent", `4e-4`, "", "invalid character 'e'"},
		{"number_negative", `-0.31`, "", "is negative"},
		{"number_too_precise", `0.0000000000001`, "", "more than 12 decimal places"},
		{"null", `null`, "", "must be a JSON string or number"},
		{"object", `{}`, "", "must be a JSON string or number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				P money.Price `json:"p"`
			}
			err := json.Unmarshal([]byte(`{"p":`+tc.in+`}`), &v)
			if tc.wantErr == "" {
				if err != nil || v.P.String() != tc.want {
					t.Fatalf("Unmarshal %s = %s, %v; want %s", tc.in, v.P, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Unmarshal %s error = %v, want it to contain %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestPriceAmount(t *testing.T) {
	tests := []struct {
		name, price, want string
	}{
		{"exact", "0.31", "0.31000000"},
		{"round_down", "0.000000004999", "0.00000000"},
		{"half_rounds_up", "0.000000005", "0.00000001"},
		{"half_up_not_even", "0.000000025", "0.00000003"},
		{"zero", "0", "0.00000000"},
		{"max", "9223372.036854775807", "9223372.03685478"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPrice(t, tc.price)
			if got := p.Amount().String(); got != tc.want {
				t.Errorf("Price(%s).Amount() = %s, want %s", tc.price, got, tc.want)
			}
			if got := money.PricePerUnit(p).String(); got != tc.want {
				t.Errorf("PricePerUnit(%s) = %s, want %s", tc.price, got, tc.want)
			}
		})
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		name     string
		quantity int64
		period   int64
		cpu      money.Amount
		want     money.Amount
		wantErr  string
		wantOvf  bool
	}{
		{"half_rounds_up", 1, 2, 1, 1, "", false},
		{"below_half_rounds_down", 1, 3, 1, 0, "", false},
		{"zero_quantity", 0, 3600, 31000000, 0, "", false},
		{"wide_product_fits", 1 << 40, 1 << 20, 1 << 40, 1 << 60, "", false},
		{"result_is_max", math.MaxInt64, 1, 1, math.MaxInt64, "", false},
		{"wide_product_equals_max", math.MaxInt64, 2, 2, math.MaxInt64, "", false},
		{"overflow_just_above_max", math.MaxInt64, 1, 2, 0, "", true},
		{"overflow_high_word", math.MaxInt64, 3, math.MaxInt64, 0, "", true},
		{"overflow_high_word_period_1", math.MaxInt64, 1, math.MaxInt64, 0, "", true},
		{"negative_quantity", -1, 3600, 1, 0, "quantity", false},
		{"zero_period", 1, 0, 1, 0, "measurement period", false},
		{"negative_period", 1, -5, 1, 0, "measurement period", false},
		{"negative_cost_per_unit", 1, 3600, -1, 0, "cost per unit", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.Cost(tc.quantity, tc.period, tc.cpu)
			switch {
			case tc.wantOvf:
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("Cost = %s, %v; want ErrOverflow", got, err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, money.ErrOverflow) {
					t.Fatalf("Cost error = %v, want it to contain %q", err, tc.wantErr)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("Cost = %d, %v; want %d", int64(got), err, int64(tc.want))
				}
			}
		})
	}
}

func TestCostPerUnitErrors(t *testing.T) {
	tests := []struct {
		name                  string
		num, den              int64
		price                 money.Price
		period, periodSeconds int64
		wantErr               string
		wantOvf               bool
	}{
		{"negative_units", -1, 1, 1, 1, 1, "numerator", false},
		{"zero_den", 1, 0, 1, 1, 1, "denominator", false},
		{"negative_den", 1, -1, 1, 1, 1, "denominator", false},
		{"negative_price", 1, 1, -1, 1, 1, "price", false},
		{"zero_period", 1, 1, 1, 0, 1, "measurement period", false},
		{"zero_period_seconds", 1, 1, 1, 1, 0, "period seconds", false},
		{"overflow", math.MaxInt64, 1, math.MaxInt64, math.MaxInt64, 1, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.CostPerUnit(tc.num, tc.den, tc.price, tc.period, tc.periodSeconds)
			if tc.wantOvf {
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("CostPerUnit = %s, %v; want ErrOverflow", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CostPerUnit error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestTrafficCost(t *testing.T) {
	tests := []struct {
		name    string
		gb4     int64
		cpu     string
		want    string
		wantErr string
		wantOvf bool
	}{
		{"one_gb", 10000, "0.05000000", "0.05000000", "", false},
		{"fractional_gb", 123457, "0.05000000", "0.61728500", "", false},
		{"half_rounds_up", 5000, "0.00000001", "0.00000001", "", false},
		{"below_half", 4999, "0.00000001", "0.00000000", "", false},
		{"zero", 0, "0.09000000", "0.00000000", "", false},
		{"overflow", math.MaxInt64, "92233720368.54775807", "", "", true},
		{"negative_quantity", -1, "0.05000000", "", "quantity", false},
		{"negative_cpu", 1, "-0.05000000", "", "cost per unit", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.TrafficCost(tc.gb4, mustAmount(t, tc.cpu))
			switch {
			case tc.wantOvf:
				if !errors.Is(err, money.ErrOverflow) {
					t.Fatalf("TrafficCost = %s, %v; want ErrOverflow", got, err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("TrafficCost error = %v, want it to contain %q", err, tc.wantErr)
				}
			default:
				if err != nil || got.String() != tc.want {
					t.Fatalf("TrafficCost = %s, %v; want %s", got, err, tc.want)
				}
			}
		})
	}
}

func TestGBFromBytes(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name  string
		bytes int64
		want  int64
		str   string
	}{
		{"zero", 0, 0, "0.0000"},
		{"one_gib", gib, 10000, "1.0000"},
		{"half_unit_rounds_up", 53688, 1, "0.0001"},            // 53688/2^30*1e4 = 0.50000...
		{"below_half_unit", 53687, 0, "0.0000"},                // 0.49999...
		{"twelve_point_three", 13256050000, 123457, "12.3457"}, // 123456.58...
		{"negative", -gib, -10000, "-1.0000"},
		{"max", math.MaxInt64, 85899345920000, "8589934592.0000"},
		{"min", math.MinInt64, -85899345920000, "-8589934592.0000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := money.GBFromBytes(tc.bytes)
			if got != tc.want {
				t.Fatalf("GBFromBytes(%d) = %d, want %d", tc.bytes, got, tc.want)
			}
			if s := money.FormatGB4(got); s != tc.str {
				t.Errorf("FormatGB4(%d) = %q, want %q", got, s, tc.str)
			}
		})
	}
}

func TestFormatGB4(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"zero", 0, "0.0000"},
		{"one_unit", 1, "0.0001"},
		{"example", 123457, "12.3457"},
		{"negative", -5, "-0.0005"},
		{"min", math.MinInt64, "-922337203685477.5808"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := money.FormatGB4(tc.in); got != tc.want {
				t.Errorf("FormatGB4(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

var sinkAmount money.Amount

func BenchmarkCost(b *testing.B) {
	cpu := money.Amount(1601563) // 0.01601563
	var acc money.Amount
	for i := 0; b.Loop(); i++ {
		c, err := money.Cost(250369+int64(i&1023), 3600, cpu)
		if err != nil {
			b.Fatal(err)
		}
		acc += c
	}
	sinkAmount = acc
}
