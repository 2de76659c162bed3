//go:build linux && !wayland

package viewer

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
)

// The window test runs the viewer's window in a child process (this test
// binary again, GLFW needing the main thread, which TestMain has) on a
// private Xvfb server, takes a real screenshot of the X server with
// ImageMagick's import, and compares the window's pixels with the
// headless renderer's picture of the same frame and state.

const (
	childEnv = "GOSIG_VIEWER_WINDOW_CHILD" // the child's JSON config
	// The Xvfb screen: large enough that the window can be placed so that
	// the pointer, which X puts at the screen's centre, is over a chosen
	// patch.
	screenW, screenH = 1600, 1000
)

// childConfig tells the child what to show and where to report.
type childConfig struct {
	Images []string    // image files
	Labels []string    // zero-shot labels
	State  State       // initial state
	Pos    image.Point // window position
	Out    string      // folder for presented.json and headless PNGs
}

// presentedReport is what the child writes after each frame is on screen.
type presentedReport struct {
	Seq       int
	Presented Presented
	Headless  string // the headless render of the same frame and state, at the window's scale
}

func TestMain(m *testing.M) {
	// The viewer's shader does not compile on lavapipe at 512 bits (see
	// gpu.KeepLavapipeWidth), and the tests' first device may be a model's.
	gpu.KeepLavapipeWidth()
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(windowChild(cfg))
	}
	os.Exit(m.Run())
}

// windowChild opens the window and, after each presented frame, renders the
// same state headless and writes a report; it exits when signalled.
func windowChild(cfgJSON string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	m, dev, err := testModel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer m.Close()
	defer dev.Close()
	src, err := NewModelSource(ctx, m, cfg.Images, cfg.Labels, shapesTemplate)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	seq := 0
	var reportErr error
	opts := WindowOptions{Initial: &cfg.State, Pos: &cfg.Pos, SaveDir: cfg.Out, OnPresent: func(p Presented) {
		seq++
		f, err := src.Frame(ctx, p.State.Image)
		if err == nil {
			var img *image.RGBA
			if img, err = Render(ctx, dev, f, p.State, src.Len(), Fit(p.Framebuffer.X, p.Framebuffer.Y).Scale); err == nil {
				png := filepath.Join(cfg.Out, fmt.Sprintf("headless-%d.png", seq))
				if err = WritePNG(png, img); err == nil {
					err = writeJSON(filepath.Join(cfg.Out, "presented.json"), presentedReport{seq, p, png})
				}
			}
		}
		if err != nil && reportErr == nil {
			reportErr = err
		}
	}}
	if err := Run(ctx, dev, src, opts); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	if reportErr != nil {
		fmt.Fprintln(os.Stderr, "report:", reportErr)
		return 1
	}
	return 0
}

// writeJSON writes v to path atomically (a reader never sees half a file).
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// startXvfb starts a private X server and returns its DISPLAY, or skips
// the test when Xvfb is not installed (make setup installs it).
func startXvfb(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb is not installed (make setup installs the xvfb package): cannot test the window")
	}
	for n := 90; n < 190; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		display := ":" + strconv.Itoa(n)
		cmd := exec.Command(bin, display, "-screen", "0", fmt.Sprintf("%dx%dx24", screenW, screenH), "-nolisten", "tcp")
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
			}
		})
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			select {
			case <-exited: // lost a race for this display number
				deadline = time.Time{}
				continue
			default:
			}
			if _, err := os.Stat(sock); err == nil {
				t.Setenv("DISPLAY", display) // for CheckDisplay in this process
				return display
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Fatal("could not start Xvfb on any display :90 to :189")
	return ""
}

// screenshot grabs the X server's root window with ImageMagick's import.
func screenshot(t *testing.T, display, path string) image.Image {
	t.Helper()
	out, err := exec.Command("import", "-display", display, "-window", "root", "png:"+path).CombinedOutput()
	require.NoError(t, err, "import: %s", out)
	return readPNG(t, path)
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, path)
	return img
}

// viewerProc is a viewer window running in a child process on Xvfb.
type viewerProc struct {
	t       *testing.T
	display string
	out     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startViewer starts the child with cfg (its Out is filled in) on display.
func startViewer(t *testing.T, display string, cfg childConfig) *viewerProc {
	t.Helper()
	cfg.Out = t.TempDir()
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	v := &viewerProc{t: t, display: display, out: cfg.Out, exited: make(chan struct{})}
	v.cmd = exec.Command(os.Args[0], "-test.run=^$")
	v.cmd.Env = append(os.Environ(), childEnv+"="+string(b), "DISPLAY="+display)
	v.cmd.Stdout, v.cmd.Stderr = os.Stdout, os.Stderr
	require.NoError(t, v.cmd.Start())
	go func() { v.waitErr = v.cmd.Wait(); close(v.exited) }()
	t.Cleanup(func() {
		v.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-v.exited:
		case <-time.After(20 * time.Second):
			v.cmd.Process.Kill()
		}
	})
	return v
}

func (v *viewerProc) report() (presentedReport, bool) {
	var r presentedReport
	b, err := os.ReadFile(filepath.Join(v.out, "presented.json"))
	return r, err == nil && json.Unmarshal(b, &r) == nil
}

// waitFor waits until a presented frame satisfies ok, then takes a
// screenshot that no later frame raced, and returns both.
func (v *viewerProc) waitFor(what string, ok func(presentedReport) bool) (presentedReport, image.Image) {
	v.t.Helper()
	// The first frame waits for the model; later ones are quick.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case <-v.exited:
			v.t.Fatalf("the viewer exited while waiting for %s: %v", what, v.waitErr)
		default:
		}
		require.True(v.t, time.Now().Before(deadline), "no frame with %s within 3 minutes", what)
		r1, got := v.report()
		if !got || !ok(r1) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		time.Sleep(300 * time.Millisecond) // let a redraw in flight land
		img := screenshot(v.t, v.display, filepath.Join(v.out, "screen.png"))
		if r2, got := v.report(); got && r2.Seq == r1.Seq {
			return r1, img
		}
	}
}

// xdotool runs xdotool on the viewer's display.
func (v *viewerProc) xdotool(args ...string) string {
	v.t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+v.display)
	out, err := cmd.CombinedOutput()
	require.NoError(v.t, err, "xdotool %v: %s", args, out)
	return string(out)
}

// compareWindow compares the canvas in the screenshot (the window's
// viewport) with the report's headless render, checks that the letterbox
// around it has the letterbox colour, and returns how many pixels differ.
func compareWindow(t *testing.T, rep presentedReport, shot image.Image) {
	t.Helper()
	headless := readPNG(t, rep.Headless)
	vp := Fit(rep.Presented.Framebuffer.X, rep.Presented.Framebuffer.Y)
	require.Equal(t, image.Rect(0, 0, vp.W, vp.H), headless.Bounds(), "headless render at the window's scale %g", vp.Scale)
	win := rep.Presented.Window.Min
	maxDiff, differing := 0, 0
	for y := range rep.Presented.Framebuffer.Y {
		for x := range rep.Presented.Framebuffer.X {
			a := color8(shot.At(win.X+x, win.Y+y))
			var b [3]uint8
			if p := image.Pt(x, y); p.In(vp.Bounds()) {
				b = color8(headless.At(x-vp.X, y-vp.Y))
			} else {
				b = [3]uint8{colLetterbox.R, colLetterbox.G, colLetterbox.B}
			}
			d := 0
			for c := range 3 {
				d = max(d, abs(int(a[c])-int(b[c])))
			}
			if d > 0 {
				differing++
			}
			maxDiff = max(maxDiff, d)
		}
	}
	t.Logf("window %v, canvas at %v scale %.3f: %d of %d pixels differ from the headless render, by at most %d/255",
		rep.Presented.Window, vp.Bounds(), vp.Scale, differing, rep.Presented.Framebuffer.X*rep.Presented.Framebuffer.Y, maxDiff)
	assert.LessOrEqual(t, maxDiff, windowTolerance, "largest difference between the window and the headless render (of 255)")
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make setup installs it): cannot test the window", tool)
		}
	}
}

var redCircle = filepath.Join(shapesDir, "samples", "red_circle.png")

// TestWindowMatchesHeadless opens the window on Xvfb at its natural size
// with the pointer over a known patch, takes a screenshot of the X server,
// and compares the window's area with the headless render of the same
// frame and state. They are drawn by the same shader from the same inputs
// into UNORM targets, so they should agree exactly; the tolerance is one
// level of 255 per channel (windowTolerance), for a driver that rounds
// BGRA and RGBA targets differently.
func TestWindowMatchesHeadless(t *testing.T) {
	requireTools(t, "import")
	display := startXvfb(t)
	require.NoError(t, CheckDisplay())

	// red_circle.png is 8×8 patches drawn 4× (64 px a patch) at (24, 64).
	// Put the screen's centre, where X starts the pointer, on patch row 2,
	// column 5 (0-based).
	l := NewLayout(128, 128)
	require.Equal(t, Rect{24, 64, 512, 512}, l.Image)
	const row, col = 2, 5
	cx, cy := int(l.Image.X)+col*64+32, int(l.Image.Y)+row*64+32
	pos := image.Pt(screenW/2-cx, screenH/2-cy)

	st := NewState()
	st.Head, st.Grid, st.Opacity = 1, true, 0.7
	v := startViewer(t, display, childConfig{
		Images: []string{redCircle}, Labels: []string{"red circle", "red square", "blue circle", "green star"},
		State: st, Pos: pos,
	})
	rep, shot := v.waitFor("the first frame", func(presentedReport) bool { return true })

	// The window is where it was asked to be, at the canvas's size, and
	// the pointer's patch is highlighted.
	cw, ch := CanvasSize()
	assert.Equal(t, image.Rect(pos.X, pos.Y, pos.X+cw, pos.Y+ch), rep.Presented.Window)
	assert.Equal(t, image.Pt(cw, ch), rep.Presented.Framebuffer)
	assert.Equal(t, row*8+col, rep.Presented.State.Hover, "the patch under the pointer")
	assert.Equal(t, 1, rep.Presented.State.Head)
	compareWindow(t, rep, shot)

	// A clean exit on SIGTERM.
	require.NoError(t, v.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-v.exited:
		assert.NoError(t, v.waitErr, "the viewer's exit")
	case <-time.After(30 * time.Second):
		t.Fatal("the viewer did not exit within 30 s of SIGTERM")
	}
}

// TestWindowKeysAndResize drives the window with real key presses (XTest,
// through xdotool): heads, opacity, grid, next image, save, then a resize
// that letterboxes the canvas, compared with the headless render at the
// window's scale, and Q.
func TestWindowKeysAndResize(t *testing.T) {
	requireTools(t, "import", "xdotool")
	display := startXvfb(t)
	blueCircle := filepath.Join(shapesDir, "samples", "blue_circle.png")
	// The pointer (screen centre) is over the score panel: no hover.
	v := startViewer(t, display, childConfig{
		Images: []string{redCircle, blueCircle}, Labels: []string{"red circle", "blue circle"},
		State: NewState(), Pos: image.Pt(0, 0),
	})
	v.waitFor("the first frame", func(presentedReport) bool { return true })
	id := strings.TrimSpace(v.xdotool("search", "--name", "^gosig view"))
	require.NotEmpty(t, id, "the viewer's X window")
	id = strings.Fields(id)[0]

	steps := []struct {
		key  string
		want func(State) bool
	}{
		{"Right", func(s State) bool { return s.Head == 0 }},
		{"Right", func(s State) bool { return s.Head == 1 }},
		{"Left", func(s State) bool { return s.Head == 0 }},
		{"4", func(s State) bool { return s.Head == 3 }},
		{"m", func(s State) bool { return s.Head == -1 }},
		{"Up", func(s State) bool { return s.Opacity == 0.7 }},
		{"Down", func(s State) bool { return s.Opacity == 0.6 }},
		{"g", func(s State) bool { return s.Grid }},
		{"n", func(s State) bool { return s.Image == 1 }},
		{"s", func(s State) bool { return strings.HasPrefix(s.Status, "saved ") }},
	}
	var rep presentedReport
	for _, step := range steps {
		v.xdotool("key", "--window", id, step.key)
		rep, _ = v.waitFor("the effect of key "+step.key, func(r presentedReport) bool { return step.want(r.Presented.State) })
	}
	// S saved the picture shown (without hover, status or key help) at
	// scale 1: the same pixels as a headless render of that state.
	saved := filepath.Join(v.out, "blue_circle-attn-mean.png")
	assert.Equal(t, "saved "+saved, rep.Presented.State.Status)
	m, dev, err := testModel()
	require.NoError(t, err)
	defer m.Close()
	defer dev.Close()
	src, err := NewModelSource(context.Background(), m, []string{redCircle, blueCircle}, []string{"red circle", "blue circle"}, shapesTemplate)
	require.NoError(t, err)
	f, err := src.Frame(context.Background(), 1)
	require.NoError(t, err)
	st := rep.Presented.State
	st.Status, st.Hover, st.Interactive = "", -1, false
	want, err := Render(context.Background(), dev, f, st, 2, 1)
	require.NoError(t, err)
	got := readPNG(t, saved)
	require.Equal(t, want.Bounds(), got.Bounds())
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			if color8(want.At(x, y)) != color8(got.At(x, y)) {
				t.Fatalf("the saved PNG differs from the headless render at (%d, %d)", x, y)
			}
		}
	}

	// A resize keeps the canvas's aspect ratio: scaled to fit, centred,
	// letterboxed.
	v.xdotool("windowsize", id, "700", "760")
	rep, shot := v.waitFor("the resized window", func(r presentedReport) bool { return r.Presented.Framebuffer == image.Pt(700, 760) })
	vp := Fit(700, 760)
	assert.Less(t, vp.Scale, 1.0)
	assert.Equal(t, 700, vp.W)
	assert.Greater(t, vp.Y, 0, "letterbox above and below")
	compareWindow(t, rep, shot)

	// Pointer motion: the patch under the pointer, in the scaled canvas.
	require.Equal(t, 1, rep.Presented.State.Image)
	l := NewLayout(160, 96) // blue_circle.png as the model saw it: 6×10 patches
	const row, col = 4, 2
	cx := l.Image.X + (col+0.5)*l.Image.W/10
	cy := l.Image.Y + (row+0.5)*l.Image.H/6
	win := rep.Presented.Window.Min
	sx, sy := win.X+vp.X+int(cx*vp.Scale), win.Y+vp.Y+int(cy*vp.Scale)
	v.xdotool("mousemove", strconv.Itoa(sx), strconv.Itoa(sy))
	rep, shot = v.waitFor("the hovered patch", func(r presentedReport) bool { return r.Presented.State.Hover == row*10+col })
	compareWindow(t, rep, shot)
	// Growing the window moves the canvas under the still pointer.
	v.xdotool("windowsize", id, "1000", "760")
	rep, _ = v.waitFor("the window at 1000×760", func(r presentedReport) bool { return r.Presented.Framebuffer == image.Pt(1000, 760) })
	vp = Fit(1000, 760)
	cxNow, cyNow := vp.Canvas(float64(sx-win.X)+0.5, float64(sy-win.Y)+0.5)
	assert.Equal(t, l.PatchAt(cxNow, cyNow, 10, 6, 16), rep.Presented.State.Hover, "the patch under the pointer after the resize")

	v.xdotool("key", "--window", id, "q")
	select {
	case <-v.exited:
		assert.NoError(t, v.waitErr, "the viewer's exit on Q")
	case <-time.After(30 * time.Second):
		t.Fatal("the viewer did not exit within 30 s of Q")
	}
}

// windowTolerance is the largest per-channel difference, in levels of 255,
// allowed between the window's screenshot and the headless render.
const windowTolerance = 1

func color8(c interface{ RGBA() (r, g, b, a uint32) }) [3]uint8 {
	r, g, b, _ := c.RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
