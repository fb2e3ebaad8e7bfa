package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"math/bits"
	"strings"
)

// Charts are SVG drawn on the server: no script, no font or asset from elsewhere. Each
// has a title and a description for assistive technology (role="img" labelled by both),
// a <title> on every mark, and the page shows the numbers behind it in a table. Lengths
// are scaled with integers: a chart draws figures, it never computes them.

// bar is one group of a bar chart: a label and one value per series, with the text that
// names each value exactly.
type bar struct {
	Label  string // under the bar (short)
	Values []int64
	Texts  []string
}

// chart is what every chart needs: an id for its labels, a title and a description.
type chart struct {
	ID, Title, Desc string
	Series          []string // the series' names, for the legend (one series: none)
}

// scale returns v * length / max, rounded down, for 0 <= v <= max (0 when max <= 0).
func scale(v, length, max int64) int64 {
	if v <= 0 || max <= 0 || length <= 0 {
		return 0
	}
	if v >= max {
		return length
	}
	hi, lo := bits.Mul64(uint64(v), uint64(length))
	q, _ := bits.Div64(hi, lo, uint64(max))
	return int64(q)
}

type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func esc(s string) string { return html.EscapeString(s) }

func (s *svg) open(c chart, w, h int64) {
	s.f(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" preserveAspectRatio="xMinYMin meet">`,
		w, h, c.ID, c.ID)
	s.f(`<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, c.ID, esc(c.Title), c.ID, esc(c.Desc))
}

func (s *svg) legend(c chart, x, y int64) {
	if len(c.Series) < 2 {
		return
	}
	for i, name := range c.Series {
		s.f(`<rect class="s%d" x="%d" y="%d" width="12" height="12"/><text x="%d" y="%d">%s</text>`, i, x, y-10, x+16, y, esc(name))
		x += 24 + 8*int64(len(name))
	}
}

func (s *svg) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String())
}

// columns draws vertical bars, one group per label (such as days of a month), with
// every series side by side in a group. maxText labels the top of the axis.
func columns(c chart, bars []bar, maxText string) template.HTML {
	const w, h, left, right, top, bottom = 720, 260, 8, 8, 28, 34
	plotW, plotH := int64(w-left-right), int64(h-top-bottom)
	var max int64
	for _, b := range bars {
		for _, v := range b.Values {
			max = maxOf(max, v)
		}
	}
	s := &svg{}
	s.open(c, w, h)
	s.legend(c, left, 16)
	if len(c.Series) < 2 {
		s.f(`<text x="%d" y="16">max %s</text>`, left, esc(maxText))
	}
	s.f(`<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top+plotH, left+plotW, top+plotH)
	if len(bars) == 0 {
		return s.html()
	}
	slot := plotW / int64(len(bars))
	nSeries := int64(max1(len(c.Series)))
	barW := maxOf(1, (slot-2)/nSeries)
	every := int64(1)
	if len(bars) > 16 {
		every = 5
	}
	for i, b := range bars {
		x0 := left + int64(i)*slot + 1
		for j, v := range b.Values {
			bh := scale(v, plotH, max)
			s.f(`<rect class="s%d" x="%d" y="%d" width="%d" height="%d"><title>%s: %s</title></rect>`,
				j, x0+int64(j)*barW, top+plotH-bh, barW, bh, esc(b.Label), esc(b.Texts[j]))
		}
		if int64(i)%every == 0 || i == len(bars)-1 {
			s.f(`<text class="tick" x="%d" y="%d">%s</text>`, x0, h-bottom+16, esc(b.Label))
		}
	}
	return s.html()
}

// rows draws horizontal bars, one row per label, every series in a row one under
// another.
func rows(c chart, bars []bar) template.HTML {
	const w, labelW, right, top, rowH = 720, 260, 8, 26, 22
	plotW := int64(w - labelW - right)
	nSeries := int64(max1(len(c.Series)))
	var max int64
	for _, b := range bars {
		for _, v := range b.Values {
			max = maxOf(max, v)
		}
	}
	h := int64(top) + int64(len(bars))*(nSeries*rowH+6) + 8
	s := &svg{}
	s.open(c, w, h)
	s.legend(c, 8, 16)
	y := int64(top)
	for _, b := range bars {
		s.f(`<text x="8" y="%d">%s</text>`, y+15, esc(b.Label))
		for j, v := range b.Values {
			bw := scale(v, plotW, max)
			s.f(`<rect class="s%d" x="%d" y="%d" width="%d" height="%d"><title>%s: %s</title></rect>`,
				j, labelW, y, bw, rowH-4, esc(b.Label), esc(b.Texts[j]))
			if bw > plotW-170 {
				// No room right of the bar: the figure goes inside its end.
				s.f(`<text class="value inside" x="%d" y="%d">%s</text>`, labelW+bw-4, y+14, esc(b.Texts[j]))
			} else {
				s.f(`<text class="value" x="%d" y="%d">%s</text>`, labelW+bw+4, y+14, esc(b.Texts[j]))
			}
			y += rowH
		}
		y += 6
	}
	return s.html()
}

// segment is one stretch of a timeline.
type segment struct {
	Start, End int64
	Class      string // the CSS class that colours it (its power state)
	Label      string // left of its row
	Text       string // its <title>
}

// timeline draws each segment as a horizontal bar on one time axis from start to end.
func timeline(c chart, start, end int64, segs []segment, startText, endText string) template.HTML {
	const w, labelW, right, top, rowH = 720, 260, 8, 26, 22
	plotW := int64(w - labelW - right)
	span := end - start + 1
	h := int64(top) + int64(len(segs))*rowH + 24
	s := &svg{}
	s.open(c, w, h)
	s.f(`<text x="%d" y="16">%s</text><text class="end" x="%d" y="16">%s</text>`, labelW, esc(startText), w-right, esc(endText))
	y := int64(top)
	for _, g := range segs {
		a, b := maxOf(g.Start, start), minOf(g.End, end)
		x := scale(a-start, plotW, span)
		bw := maxOf(1, scale(b-a+1, plotW, span))
		s.f(`<text x="8" y="%d">%s</text>`, y+15, esc(g.Label))
		s.f(`<rect class="%s" x="%d" y="%d" width="%d" height="%d"><title>%s</title></rect>`, esc(g.Class), labelW+x, y, bw, rowH-4, esc(g.Text))
		y += rowH
	}
	s.f(`<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, labelW, y+2, w-right, y+2)
	return s.html()
}

// gauge draws a balance as a bar with its threshold marked.
func gauge(c chart, value, threshold int64, valueText, thresholdText string) template.HTML {
	const w, h, left, right = 720, 84, 8, 8
	plotW := int64(w - left - right)
	max := maxOf(maxOf(value, threshold), 1)
	max += max / 10
	s := &svg{}
	s.open(c, w, h)
	class := "ok"
	if value < threshold {
		class = "low"
	}
	s.f(`<rect class="track" x="%d" y="28" width="%d" height="22"/>`, left, plotW)
	s.f(`<rect class="%s" x="%d" y="28" width="%d" height="22"><title>credit %s</title></rect>`, class, left, scale(value, plotW, max), esc(valueText))
	tx := left + scale(threshold, plotW, max)
	s.f(`<line class="threshold" x1="%d" y1="20" x2="%d" y2="58"><title>threshold %s</title></line>`, tx, tx, esc(thresholdText))
	s.f(`<text x="%d" y="16">credit %s</text>`, left, esc(valueText))
	s.f(`<text x="%d" y="76">threshold %s</text>`, left+minOf(tx-left, plotW-260), esc(thresholdText))
	return s.html()
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func minOf(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
