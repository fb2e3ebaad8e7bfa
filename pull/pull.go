// Package pull imports utilization from other systems: resource_utilization_detailed of
// any MetalSoft-compatible endpoint and /v1/billing/billing/usage of any
// Hyperstack-compatible one. What it imports are source-tagged records kept as the
// source gave them (quantities and costs are never priced again), stored through
// package service as the system caller, by window, so that pulling a window again
// changes nothing.
package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// Progress is told how far a pull is: done of total steps.
type Progress func(done, total int)

// Result says what a pull did.
type Result struct {
	Source  string
	Windows int
	// Changed counts the windows whose records changed (0 when the same windows were
	// pulled before from an unchanged source).
	Changed int
	Records int
	Cost    money.Amount
	// Warnings lists what the source gave that could not be imported as it was.
	Warnings []string
}

// maxAnswerBytes bounds the answer of one request to a source.
const maxAnswerBytes = 1 << 30

// imported stores the records of one pulled window through the service and counts them
// in res.
func (res *Result) imported(ctx context.Context, svc *service.Service, w cloudmeter.PullWindow, recs []cloudmeter.PulledRecord) error {
	changed, err := svc.ImportPulled(ctx, service.SystemKey, w, recs)
	if err != nil {
		return err
	}
	res.Windows++
	if changed {
		res.Changed++
	}
	res.Records += len(recs)
	for _, r := range recs {
		if res.Cost, err = res.Cost.Add(r.Cost); err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "the pulled cost does not fit: %v", err)
		}
	}
	return nil
}

func defaultClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Minute}
}

// get sends a request and decodes a 200 JSON answer into v; anything else is an error
// that names the endpoint and the status (never the credentials).
func do(ctx context.Context, client *http.Client, req *http.Request, v any) error {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "%s %s: %v", req.Method, redactURL(req), unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "%s %s: reading the answer: %v", req.Method, redactURL(req), err)
	}
	if len(body) > maxAnswerBytes {
		return cloudmeter.Errorf(cloudmeter.KindTooLarge, "%s %s: the answer is larger than %d bytes: pull a shorter window", req.Method, redactURL(req), maxAnswerBytes)
	}
	if resp.StatusCode != http.StatusOK {
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 300 {
			snippet = snippet[:300] + "..."
		}
		kind := cloudmeter.KindUnavailable
		if resp.StatusCode == http.StatusUnauthorized {
			kind = cloudmeter.KindUnauthenticated
		} else if resp.StatusCode == http.StatusForbidden {
			kind = cloudmeter.KindForbidden
		} else if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			kind = cloudmeter.KindInvalid
		}
		return cloudmeter.Errorf(kind, "%s %s answered HTTP %d: %s", req.Method, redactURL(req), resp.StatusCode, snippet)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s %s: the answer is not the JSON expected: %v", req.Method, redactURL(req), err)
	}
	return nil
}

func redactURL(req *http.Request) string {
	u := *req.URL
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// flex is a JSON value a source may write as a string or as a number ("3600" or 3600);
// it keeps the text.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s is neither a string nor a number", b)
	}
	*f = flex(n)
	return nil
}

// decimalScaled reads a non-negative decimal exactly as an integer count of
// 1/10^scale, rounding half-up past scale places (only numbers with more places than
// the scale are rounded: JSON numbers written from floats). rounded says whether it was.
func decimalScaled(field, s string, scale int) (v int64, rounded bool, err error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || r.Sign() < 0 {
		return 0, false, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q is not a non-negative decimal", field, s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() != 0 {
		rounded = true
		if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, rounded, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q is too large", field, s)
	}
	return q.Int64(), rounded, nil
}

// amount reads a money amount; one with more than 8 places is rounded half-up to 8.
func amount(field, s string) (money.Amount, bool, error) {
	v, rounded, err := decimalScaled(field, s, 8)
	return money.Amount(v), rounded, err
}

// monthChunks splits [from, to] at the starts of UTC months, so that a long pull is
// stored (and shown in progress) a month at a time, and its windows line up with the
// billing periods of exports.
func monthChunks(from, to int64) [][2]int64 {
	var out [][2]int64
	for from <= to {
		t := time.Unix(from, 0).UTC()
		next := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).Unix()
		end := min(next-1, to)
		out = append(out, [2]int64{from, end})
		from = end + 1
	}
	return out
}
