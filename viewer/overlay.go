package viewer

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The viewer's colours: a dark theme, so that the image and the heat map
// are the brightest things on screen.
var (
	colBackground = color.RGBA{23, 24, 28, 255}
	colLetterbox  = color.RGBA{10, 10, 12, 255}
	colText       = color.RGBA{232, 233, 236, 255}
	colMuted      = color.RGBA{150, 153, 161, 255}
	colFrame      = color.RGBA{88, 91, 100, 255}
	colTrack      = color.RGBA{40, 42, 49, 255}
	colBarTop     = color.RGBA{252, 165, 10, 255} // inferno at 0.8
	colBar        = color.RGBA{188, 55, 84, 255}  // inferno at 0.55
)

// fontKind picks a typeface.
type fontKind int

const (
	regular fontKind = iota
	bold
)

// faces caches parsed fonts and their faces by size: text is drawn at the
// window's scale, which changes only on resize.
var faces struct {
	sync.Mutex
	fonts [2]*sfnt.Font
	cache map[faceKey]font.Face
}

type faceKey struct {
	kind fontKind
	px   float64
}

// face returns the Go font of kind at px pixels.
func face(kind fontKind, px float64) (font.Face, error) {
	faces.Lock()
	defer faces.Unlock()
	k := faceKey{kind, px}
	if f, ok := faces.cache[k]; ok {
		return f, nil
	}
	if faces.fonts[kind] == nil {
		ttf := goregular.TTF
		if kind == bold {
			ttf = gobold.TTF
		}
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, fmt.Errorf("viewer: parse the Go font: %w", err)
		}
		faces.fonts[kind] = f
	}
	f, err := opentype.NewFace(faces.fonts[kind], &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("viewer: a %g px face: %w", px, err)
	}
	if faces.cache == nil {
		faces.cache = map[faceKey]font.Face{}
	}
	faces.cache[k] = f
	return f, nil
}

// painter draws the text layer at a scale: every coordinate and size it is
// given is in canvas units.
type painter struct {
	dst   *image.RGBA
	scale float64
	err   error
}

func (p *painter) px(v float64) int { return int(math.Round(v * p.scale)) }

// fill paints r (canvas units) with c.
func (p *painter) fill(r Rect, c color.RGBA) {
	rr := image.Rect(p.px(r.X), p.px(r.Y), p.px(r.X+r.W), p.px(r.Y+r.H))
	draw.Draw(p.dst, rr, image.NewUniform(c), image.Point{}, draw.Over)
}

// outline draws a one-pixel frame just outside r.
func (p *painter) outline(r Rect, c color.RGBA) {
	x0, y0, x1, y1 := p.px(r.X)-1, p.px(r.Y)-1, p.px(r.X+r.W), p.px(r.Y+r.H)
	u := image.NewUniform(c)
	for _, rr := range []image.Rectangle{
		image.Rect(x0, y0, x1+1, y0+1), image.Rect(x0, y1, x1+1, y1+1),
		image.Rect(x0, y0, x0+1, y1+1), image.Rect(x1, y0, x1+1, y1+1),
	} {
		draw.Draw(p.dst, rr, u, image.Point{}, draw.Over)
	}
}

// drawer returns a font drawer for kind at size (canvas units).
func (p *painter) drawer(kind fontKind, size float64, c color.RGBA) *font.Drawer {
	f, err := face(kind, size*p.scale)
	if err != nil {
		if p.err == nil {
			p.err = err
		}
		return nil
	}
	return &font.Drawer{Dst: p.dst, Src: image.NewUniform(c), Face: f}
}

// width returns the width of s in canvas units.
func (p *painter) width(kind fontKind, size float64, s string) float64 {
	d := p.drawer(kind, size, colText)
	if d == nil {
		return 0
	}
	return float64(d.MeasureString(s)) / 64 / p.scale
}

// text draws s with its baseline's left end at (x, y), cut to maxW canvas
// units (0: no limit) with an ellipsis.
func (p *painter) text(kind fontKind, size float64, c color.RGBA, x, y, maxW float64, s string) {
	d := p.drawer(kind, size, c)
	if d == nil {
		return
	}
	if maxW > 0 {
		s = fit(d, s, fixed.I(int(maxW*p.scale)))
	}
	d.Dot = fixed.P(p.px(x), p.px(y))
	d.DrawString(s)
}

// textRight draws s with its baseline's right end at (x, y).
func (p *painter) textRight(kind fontKind, size float64, c color.RGBA, x, y float64, s string) {
	p.text(kind, size, c, x-p.width(kind, size, s), y, 0, s)
}

// fit cuts s so that it is at most w wide, ending it with "…" when cut.
func fit(d *font.Drawer, s string, w fixed.Int26_6) string {
	if d.MeasureString(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		t := strings.TrimRight(string(r), " ") + "…"
		if d.MeasureString(t) <= w {
			return t
		}
	}
	return ""
}

// fmtWeight prints an attention weight with three significant digits.
func fmtWeight(w float32) string { return strconv.FormatFloat(float64(w), 'g', 3, 32) }

// headName says which map is shown.
func headName(f *Frame, head int) string {
	if head < 0 || head >= len(f.Heads) {
		return fmt.Sprintf("mean of %d heads", len(f.Heads))
	}
	return fmt.Sprintf("head %d of %d", head+1, len(f.Heads))
}

// keyHelp is the footer's reminder of the keys.
const keyHelp = "←/→ head · 1–9 head · M mean · ↑/↓ opacity · G grid · N/P image · S save PNG · Q quit"

// mapNote says what the map is, in pictures made without a window.
const mapNote = "Each map is the pooling head's attention over the image's patches (padding excluded) and sums to 1; " +
	"colours run from its smallest weight to its largest."

// drawOverlay rasterises the text layer of frame f in state st (image
// number st.Image of images) for a viewport of size w×h pixels at scale
// pixels per canvas unit: premultiplied RGBA, transparent where the shader's
// drawing shows through.
func drawOverlay(f *Frame, st State, images int, l Layout, w, h int, scale float64) (*image.RGBA, error) {
	p := &painter{dst: image.NewRGBA(image.Rect(0, 0, w, h)), scale: scale}

	// Header: the image, its grid; on the right, the map shown.
	p.text(bold, 20, colText, margin, 34, l.Panel.X-margin-16, f.Name)
	sub := fmt.Sprintf("%d×%d patches of %d px · %d×%d pixels as the model saw it",
		f.GridH, f.GridW, f.PatchSize, f.Image.W, f.Image.H)
	if images > 1 {
		sub += fmt.Sprintf(" · image %d of %d", st.Image+1, images)
	}
	p.text(regular, 13, colMuted, margin, 54, l.Panel.X-margin-16, sub)
	p.text(bold, 16, colText, l.Panel.X, 34, l.Panel.W, "Attention: "+headName(f, st.Head))
	grid := "off"
	if st.Grid {
		grid = "on"
	}
	p.text(regular, 13, colMuted, l.Panel.X, 54, l.Panel.W, fmt.Sprintf("opacity %d%% · grid %s", int(math.Round(float64(st.Opacity)*100)), grid))

	// Colour bar: title, frame, ticks at the ends and the middle.
	lo, hi := f.Range(st.Head)
	b := l.Bar
	p.text(regular, 12, colMuted, b.X, b.Y-10, 0, "weight")
	p.outline(b, colFrame)
	for i, t := range []float64{1, 0.5, 0} {
		y := b.Y + (1-t)*b.H
		if i == 2 {
			y -= 1 / p.scale // the last row of the bar
		}
		p.fill(Rect{b.X + b.W, y, 4, 1 / p.scale}, colFrame)
		v := lo + float32(t)*(hi-lo)
		p.text(regular, 12, colText, b.X+b.W+8, y+4, barLabelW-8, fmtWeight(v))
	}

	// Score panel.
	pn := l.Panel
	y := pn.Y + 24
	p.text(bold, 16, colText, pn.X, y, pn.W, "Scores")
	if len(f.Scores) == 0 {
		p.text(regular, 13, colMuted, pn.X, y+22, pn.W, "No labels given: pass --labels \"a,b,…\"")
		p.text(regular, 13, colMuted, pn.X, y+40, pn.W, "to see zero-shot scores here.")
	} else {
		p.text(regular, 12, colMuted, pn.X, y+18, pn.W, f.ScoreKind+"; bars relative to the best")
		const rowH, labelW, trackX, trackW = 26.0, 188.0, 196.0, 108.0
		top := pn.Y + 56
		rows := int((pn.Y + pn.H - top) / rowH)
		shown := f.Scores
		more := 0
		if len(shown) > rows {
			shown, more = shown[:rows-1], len(shown)-(rows-1)
		}
		best := f.Scores[0].Score
		for i, s := range shown {
			ry := top + float64(i)*rowH
			kind, bar := regular, colBar
			if i == 0 {
				kind, bar = bold, colBarTop
			}
			p.text(kind, 14, colText, pn.X, ry+17, labelW-8, s.Label)
			p.fill(Rect{pn.X + trackX, ry + 8, trackW, 10}, colTrack)
			if best > 0 && s.Score > 0 {
				p.fill(Rect{pn.X + trackX, ry + 8, math.Max(1, math.Round(trackW*float64(s.Score/best))), 10}, bar)
			}
			p.textRight(regular, 13, colText, pn.X+pn.W, ry+17, strconv.FormatFloat(float64(s.Score), 'f', 3, 32))
		}
		if more > 0 {
			p.text(regular, 13, colMuted, pn.X, top+float64(len(shown))*rowH+17, pn.W, fmt.Sprintf("+ %d more", more))
		}
	}

	// Footer: the hovered patch (or the peak), then the status or the keys.
	m := f.Map(st.Head)
	var line string
	if st.Hover >= 0 && st.Hover < len(m) {
		r, c := st.Hover/f.GridW, st.Hover%f.GridW
		line = fmt.Sprintf("Patch row %d of %d, column %d of %d: weight %s (%.2f%% of the map)",
			r+1, f.GridH, c+1, f.GridW, fmtWeight(m[st.Hover]), 100*m[st.Hover])
	} else {
		r, c, w := f.Peak(st.Head)
		line = fmt.Sprintf("Peak: row %d of %d, column %d of %d, weight %s", r+1, f.GridH, c+1, f.GridW, fmtWeight(w))
		if st.Interactive {
			line += " · hover over a patch to read its weight"
		}
	}
	p.text(regular, 14, colText, l.Footer.X, l.Footer.Y+28, l.Footer.W, line)
	status := st.Status
	switch {
	case status != "":
	case st.Interactive:
		status = keyHelp
	default:
		status = mapNote
	}
	p.text(regular, 12, colMuted, l.Footer.X, l.Footer.Y+50, l.Footer.W, status)
	return p.dst, p.err
}
