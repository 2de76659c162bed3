package viewer

import (
	"context"
	"testing"
)

// BenchmarkRender times one offscreen frame at the canvas's natural size:
// the text layer, the render pass and the readback (frames/s).
func BenchmarkRender(b *testing.B) {
	dev := openDevice(&testing.T{})
	r, err := NewRenderer(dev)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := r.SetFrame(synthFrame()); err != nil {
		b.Fatal(err)
	}
	st := NewState()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		st.Opacity = float32(i%10) / 10 // a new text layer every frame
		if _, err := r.Image(context.Background(), st, 1, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkOverlay times rasterising the text layer alone.
func BenchmarkOverlay(b *testing.B) {
	f := synthFrame()
	l := NewLayout(f.Image.W, f.Image.H)
	cw, ch := CanvasSize()
	for b.Loop() {
		if _, err := drawOverlay(f, NewState(), 1, l, cw, ch, 1); err != nil {
			b.Fatal(err)
		}
	}
}
