//go:build linux && !wayland

package viewer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"
	"github.com/rajveermalviya/go-webgpu/wgpu"

	"github.com/gosig/gosig/gpu"
)

// GLFW must be driven from the process's main thread: package
// initialisation runs on it, so lock main's goroutine to it here.
func init() { runtime.LockOSThread() }

// Run opens a window showing src's images, drawn on dev (the device the
// model runs on), and returns nil when the window is closed, Q or Escape is
// pressed, or ctx is done (an interrupt is a way to close it). It must be
// called from the main goroutine.
// Without an X11 display it fails with ErrNoDisplay before touching GLFW.
//
// Keys: ←/→ (or [ ]) previous/next head, 1–9 a head, M or 0 the mean over
// heads, ↑/↓ (or + −) opacity, G grid, N/P (or PageDown/PageUp, Space)
// next/previous image, S save the picture as a PNG, Q or Escape quit.
// Hovering over a patch shows its position and weight.
func Run(ctx context.Context, dev *gpu.Device, src Source, opts WindowOptions) (err error) {
	if src == nil || src.Len() == 0 {
		return errors.New("viewer: no images to show")
	}
	if syscall.Gettid() != os.Getpid() {
		return errors.New("viewer: Run must be called from the main goroutine (GLFW needs the main OS thread)")
	}
	if err := CheckDisplay(); err != nil {
		return err
	}
	st := NewState()
	if opts.Initial != nil {
		st = *opts.Initial
	}
	st.Image = min(max(st.Image, 0), src.Len()-1)
	st.Interactive = true
	frame, err := src.Frame(ctx, st.Image)
	if err != nil {
		return err
	}
	// go-gl/glfw panics on errors it considers programming mistakes; turn
	// any into an error rather than a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("viewer: window system: %v", r)
		}
	}()
	if err := glfw.Init(); err != nil {
		return fmt.Errorf("viewer: initialise GLFW: %w", err)
	}
	defer glfw.Terminate()
	w, err := newWindow(dev, st, opts)
	if err != nil {
		return err
	}
	defer w.close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // wake the event loop when ctx ends
		defer wg.Done()
		select {
		case <-ctx.Done():
			glfw.PostEmptyEvent()
		case <-stop:
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	return w.loop(ctx, src, frame)
}

// window is an open viewer window and what it draws with.
type window struct {
	win     *glfw.Window
	display unsafe.Pointer
	dev     *gpu.Device
	raw     gpu.Raw
	surface *wgpu.Surface
	caps    wgpu.SurfaceCapabilities
	format  wgpu.TextureFormat
	swap    *wgpu.SwapChain
	fbW     int
	fbH     int
	r       *Renderer
	st      State
	opts    WindowOptions

	dirty, resized, quit bool
	actions              []keyPress
}

type keyPress struct {
	key  glfw.Key
	mods glfw.ModifierKey
}

func newWindow(dev *gpu.Device, st State, opts WindowOptions) (*window, error) {
	cw, ch := CanvasSize()
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI) // wgpu draws, not OpenGL
	glfw.WindowHint(glfw.Resizable, glfw.True)
	glfw.WindowHint(glfw.Visible, glfw.False)
	win, err := glfw.CreateWindow(cw, ch, "gosig view", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("viewer: open a window: %w", err)
	}
	w := &window{win: win, dev: dev, st: st, opts: opts, dirty: true}
	raw, err := dev.Raw()
	if err != nil {
		w.close()
		return nil, err
	}
	w.raw = raw
	w.display = unsafe.Pointer(glfw.GetX11Display())
	w.surface, w.caps, err = dev.SurfaceFromXlib(w.display, uint32(win.GetX11Window()))
	if err != nil {
		w.close()
		return nil, fmt.Errorf("viewer: %w", err)
	}
	w.format = pickFormat(w.caps.Formats)
	if w.r, err = NewRenderer(dev); err != nil {
		w.close()
		return nil, err
	}
	win.SetSizeLimits(cw/4, ch/4, glfw.DontCare, glfw.DontCare)
	if opts.Pos != nil {
		win.SetPos(opts.Pos.X, opts.Pos.Y)
	}
	win.SetFramebufferSizeCallback(func(_ *glfw.Window, _, _ int) { w.resized, w.dirty = true, true })
	win.SetRefreshCallback(func(*glfw.Window) { w.dirty = true })
	win.SetKeyCallback(func(_ *glfw.Window, k glfw.Key, _ int, a glfw.Action, mods glfw.ModifierKey) {
		if a == glfw.Press || a == glfw.Repeat {
			w.actions = append(w.actions, keyPress{k, mods})
		}
	})
	win.SetCursorPosCallback(func(_ *glfw.Window, x, y float64) { w.hover(x, y) })
	win.SetCursorEnterCallback(func(_ *glfw.Window, entered bool) {
		if !entered {
			w.setHover(-1)
		}
	})
	win.Show()
	if err := w.configure(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// pickFormat prefers a UNORM target, so that the shader's sRGB-encoded
// output reaches the screen as the PNG export has it.
func pickFormat(formats []wgpu.TextureFormat) wgpu.TextureFormat {
	for _, want := range []wgpu.TextureFormat{wgpu.TextureFormat_BGRA8Unorm, wgpu.TextureFormat_RGBA8Unorm} {
		for _, f := range formats {
			if f == want {
				return f
			}
		}
	}
	return formats[0]
}

// configure (re)creates the swap chain at the framebuffer's size.
func (w *window) configure() error {
	fw, fh := w.win.GetFramebufferSize()
	if w.swap != nil {
		w.swap.Release()
		w.swap = nil
	}
	w.fbW, w.fbH = fw, fh
	if fw <= 0 || fh <= 0 {
		return nil // minimised
	}
	alpha := wgpu.CompositeAlphaMode_Auto
	for _, a := range w.caps.AlphaModes {
		if a == wgpu.CompositeAlphaMode_Opaque {
			alpha = a
		}
	}
	swap, err := w.raw.Device.CreateSwapChain(w.surface, &wgpu.SwapChainDescriptor{
		Usage: wgpu.TextureUsage_RenderAttachment, Format: w.format,
		Width: uint32(fw), Height: uint32(fh), PresentMode: wgpu.PresentMode_Fifo, AlphaMode: alpha,
	})
	if err != nil {
		return fmt.Errorf("viewer: swap chain %d×%d %s: %w", fw, fh, w.format, err)
	}
	w.swap = swap
	return nil
}

// loop handles events and redraws until the window is closed.
func (w *window) loop(ctx context.Context, src Source, frame *Frame) error {
	if err := w.r.SetFrame(frame); err != nil {
		return err
	}
	w.setTitle(frame, src.Len())
	// The pointer may already be over the window when it opens.
	w.hover(w.win.GetCursorPos())
	for !w.win.ShouldClose() && !w.quit && ctx.Err() == nil {
		for _, kp := range w.actions {
			if err := w.key(ctx, src, kp); err != nil {
				return err
			}
		}
		w.actions = w.actions[:0]
		if w.resized {
			w.resized = false
			if err := w.configure(); err != nil {
				return err
			}
			w.hover(w.win.GetCursorPos()) // the canvas moved under the pointer
		}
		if w.dirty && w.swap != nil {
			if err := w.draw(src.Len()); err != nil {
				return err
			}
		}
		glfw.WaitEventsTimeout(0.25)
	}
	return nil
}

// draw renders the current state and presents it.
func (w *window) draw(images int) error {
	view, err := w.swap.GetCurrentTextureView()
	if err != nil {
		// An outdated surface (a resize in flight): make a new swap chain
		// and draw on the next turn.
		w.resized = true
		return nil
	}
	err = w.r.Draw(view, w.format, w.fbW, w.fbH, w.st, images)
	if err == nil {
		w.swap.Present()
	}
	view.Release()
	if err != nil {
		return err
	}
	w.dirty = false
	xSync(w.display)
	if w.opts.OnPresent != nil {
		x, y := w.win.GetPos()
		ww, wh := w.win.GetSize()
		w.opts.OnPresent(Presented{State: w.st, Window: image.Rect(x, y, x+ww, y+wh), Framebuffer: image.Pt(w.fbW, w.fbH)})
	}
	return nil
}

// hover updates the hovered patch from a pointer position in window
// coordinates.
func (w *window) hover(x, y float64) {
	f := w.r.frame
	if f == nil {
		return
	}
	ww, wh := w.win.GetSize()
	if ww > 0 && wh > 0 { // window to framebuffer pixels
		x, y = x*float64(w.fbW)/float64(ww), y*float64(w.fbH)/float64(wh)
	}
	cx, cy := Fit(w.fbW, w.fbH).Canvas(x, y)
	w.setHover(NewLayout(f.Image.W, f.Image.H).PatchAt(cx, cy, f.GridW, f.GridH, f.PatchSize))
}

func (w *window) setHover(p int) {
	if p != w.st.Hover {
		w.st.Hover = p
		w.dirty = true
	}
}

// keyActions maps keys to actions; digits select heads (see key).
var keyActions = map[glfw.Key]Action{
	glfw.KeyRight: NextHead, glfw.KeyRightBracket: NextHead,
	glfw.KeyLeft: PrevHead, glfw.KeyLeftBracket: PrevHead,
	glfw.KeyM: MeanHeads, glfw.Key0: MeanHeads, glfw.KeyKP0: MeanHeads,
	glfw.KeyUp: OpacityUp, glfw.KeyEqual: OpacityUp, glfw.KeyKPAdd: OpacityUp,
	glfw.KeyDown: OpacityDown, glfw.KeyMinus: OpacityDown, glfw.KeyKPSubtract: OpacityDown,
	glfw.KeyG: ToggleGrid,
	glfw.KeyN: NextImage, glfw.KeyPageDown: NextImage, glfw.KeySpace: NextImage,
	glfw.KeyP: PrevImage, glfw.KeyPageUp: PrevImage, glfw.KeyBackspace: PrevImage,
	glfw.KeyS: Save,
	glfw.KeyQ: Quit, glfw.KeyEscape: Quit,
}

// key acts on one key press.
func (w *window) key(ctx context.Context, src Source, kp keyPress) error {
	f := w.r.frame
	heads := len(f.Heads)
	if kp.key >= glfw.Key1 && kp.key <= glfw.Key9 {
		w.dirty = w.st.SelectHead(int(kp.key-glfw.Key1), heads) || w.dirty
		return nil
	}
	if kp.key >= glfw.KeyKP1 && kp.key <= glfw.KeyKP9 {
		w.dirty = w.st.SelectHead(int(kp.key-glfw.KeyKP1), heads) || w.dirty
		return nil
	}
	a := keyActions[kp.key]
	switch a {
	case NoAction:
		return nil
	case Quit:
		w.quit = true
		return nil
	case Save:
		w.st.Status = w.save(ctx, src.Len())
		w.dirty = true
		return nil
	}
	prev := w.st.Image
	if !w.st.Apply(a, heads, src.Len()) {
		return nil
	}
	w.dirty = true
	if w.st.Image == prev {
		return nil
	}
	next, err := src.Frame(ctx, w.st.Image)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.st.Image, w.st.Status = prev, oneLine(err.Error())
		return nil
	}
	if err := w.r.SetFrame(next); err != nil {
		return err
	}
	w.setTitle(next, src.Len())
	if w.st.Head >= len(next.Heads) {
		w.st.Head = -1
	}
	w.hover(w.win.GetCursorPos())
	return nil
}

// save writes the picture shown as a PNG at the canvas's own size, as
// gosig attn would draw it (no pointer highlight, no key help), and returns
// the status line saying where.
func (w *window) save(ctx context.Context, images int) string {
	f := w.r.frame
	st := w.st
	st.Hover, st.Status, st.Interactive = -1, "", false
	img, err := w.r.Image(ctx, st, images, 1)
	w.dirty = true // the text layer was redrawn for the offscreen size
	if err != nil {
		return "save failed: " + oneLine(err.Error())
	}
	head := "mean"
	if st.Head >= 0 {
		head = fmt.Sprintf("head%d", st.Head+1)
	}
	name := strings.TrimSuffix(f.Name, filepath.Ext(f.Name)) + "-attn-" + head + ".png"
	path := filepath.Join(w.opts.SaveDir, name)
	if err := WritePNG(path, img); err != nil {
		return "save failed: " + oneLine(err.Error())
	}
	return "saved " + path
}

func (w *window) setTitle(f *Frame, images int) {
	t := "gosig view — " + f.Name
	if images > 1 {
		t += fmt.Sprintf(" (%d/%d)", w.st.Image+1, images)
	}
	w.win.SetTitle(t)
}

// oneLine keeps the first line of a message, for the footer.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (w *window) close() {
	if w.r != nil {
		w.r.Close()
	}
	if w.swap != nil {
		w.swap.Release()
	}
	if w.surface != nil {
		w.surface.Release()
	}
	w.win.Destroy()
}
