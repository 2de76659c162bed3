package viewer

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"math"

	"github.com/rajveermalviya/go-webgpu/wgpu"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/shaders"
)

// shaderName is the render shader in package shaders.
const shaderName = "viewer.wgsl"

// viewSize is the size of the shader's View struct in bytes.
const viewSize = 128

// Renderer draws frames with shaders/viewer.wgsl on a gpu.Device, into a
// window's swap-chain texture or an offscreen one. It holds the frame's
// image and attention maps on the device, and the text layer, and redraws
// the text only when what it shows changes. A Renderer is not safe for
// concurrent use.
type Renderer struct {
	dev    *gpu.Device
	raw    gpu.Raw
	module *wgpu.ShaderModule
	layout *wgpu.BindGroupLayout
	plLay  *wgpu.PipelineLayout
	pipes  map[wgpu.TextureFormat]*wgpu.RenderPipeline

	uniform *wgpu.Buffer
	lut     *wgpu.Buffer
	attn    *wgpu.Buffer
	attnCap uint64
	img     *texture
	ov      *texture
	group   *wgpu.BindGroup // nil when a binding changed

	frame *Frame
	ovKey overlayKey
}

// overlayKey says what the text layer currently holds.
type overlayKey struct {
	frame  *Frame
	st     State
	images int
	w, h   int
	scale  float64
}

// texture is a 2D RGBA8 texture with its view.
type texture struct {
	t    *wgpu.Texture
	v    *wgpu.TextureView
	w, h int
}

func (t *texture) release() {
	if t == nil {
		return
	}
	// Release, not Destroy: a submitted frame may still read the texture,
	// and wgpu frees it once nothing does.
	t.v.Release()
	t.t.Release()
}

// NewRenderer compiles the viewer's shader on dev. The renderer shares dev
// with the model's executor: the heat map is drawn on the device that
// computed it.
func NewRenderer(dev *gpu.Device) (*Renderer, error) {
	raw, err := dev.Raw()
	if err != nil {
		return nil, err
	}
	src, err := shaders.Source(shaderName)
	if err != nil {
		return nil, err
	}
	r := &Renderer{dev: dev, raw: raw, pipes: map[wgpu.TextureFormat]*wgpu.RenderPipeline{}}
	d := raw.Device
	r.module, err = d.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: shaderName, WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: src}})
	if err != nil {
		return nil, fmt.Errorf("viewer: compile %s: %w", shaderName, err)
	}
	frag := wgpu.ShaderStage_Fragment
	tex := wgpu.TextureBindingLayout{SampleType: wgpu.TextureSampleType_Float, ViewDimension: wgpu.TextureViewDimension_2D}
	r.layout, err = d.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: "viewer", Entries: []wgpu.BindGroupLayoutEntry{
		{Binding: 0, Visibility: frag, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform, MinBindingSize: viewSize}},
		{Binding: 1, Visibility: frag, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_ReadOnlyStorage}},
		{Binding: 2, Visibility: frag, Texture: tex},
		{Binding: 3, Visibility: frag, Texture: tex},
		{Binding: 4, Visibility: frag, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform, MinBindingSize: uint64(lutSize)}},
	}})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("viewer: bind group layout: %w", err)
	}
	r.plLay, err = d.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: "viewer", BindGroupLayouts: []*wgpu.BindGroupLayout{r.layout}})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("viewer: pipeline layout: %w", err)
	}
	r.uniform, err = d.CreateBuffer(&wgpu.BufferDescriptor{Label: "viewer view", Size: viewSize, Usage: wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("viewer: uniform buffer: %w", err)
	}
	r.lut, err = d.CreateBufferInit(&wgpu.BufferInitDescriptor{Label: "viewer colour map", Contents: lutBytes(), Usage: wgpu.BufferUsage_Uniform})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("viewer: colour map buffer: %w", err)
	}
	return r, nil
}

// pipeline returns the render pipeline for a target format.
func (r *Renderer) pipeline(format wgpu.TextureFormat) (*wgpu.RenderPipeline, error) {
	if p, ok := r.pipes[format]; ok {
		return p, nil
	}
	p, err := r.raw.Device.CreateRenderPipeline(&wgpu.RenderPipelineDescriptor{
		Label:     "viewer " + format.String(),
		Layout:    r.plLay,
		Vertex:    wgpu.VertexState{Module: r.module, EntryPoint: "vs_main"},
		Primitive: wgpu.PrimitiveState{Topology: wgpu.PrimitiveTopology_TriangleList, FrontFace: wgpu.FrontFace_CCW, CullMode: wgpu.CullMode_None},
		Multisample: wgpu.MultisampleState{
			Count: 1, Mask: 0xFFFFFFFF,
		},
		Fragment: &wgpu.FragmentState{Module: r.module, EntryPoint: "fs_main", Targets: []wgpu.ColorTargetState{
			{Format: format, WriteMask: wgpu.ColorWriteMask_All},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("viewer: render pipeline for %s: %w", format, err)
	}
	r.pipes[format] = p
	return p, nil
}

// newTexture creates a w×h RGBA8 texture with the given usage.
func (r *Renderer) newTexture(label string, w, h int, usage wgpu.TextureUsage) (*texture, error) {
	t, err := r.raw.Device.CreateTexture(&wgpu.TextureDescriptor{
		Label: label, Usage: usage, Dimension: wgpu.TextureDimension_2D,
		Size:   wgpu.Extent3D{Width: uint32(w), Height: uint32(h), DepthOrArrayLayers: 1},
		Format: wgpu.TextureFormat_RGBA8Unorm, MipLevelCount: 1, SampleCount: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("viewer: %d×%d texture %q: %w", w, h, label, err)
	}
	v, err := t.CreateView(nil)
	if err != nil {
		t.Release()
		return nil, fmt.Errorf("viewer: view of texture %q: %w", label, err)
	}
	return &texture{t: t, v: v, w: w, h: h}, nil
}

// writeTexture uploads tightly packed RGBA rows into t.
func (r *Renderer) writeTexture(t *texture, rgba []byte) error {
	return r.raw.Queue.WriteTexture(t.t.AsImageCopy(), rgba,
		&wgpu.TextureDataLayout{BytesPerRow: uint32(4 * t.w), RowsPerImage: uint32(t.h)},
		&wgpu.Extent3D{Width: uint32(t.w), Height: uint32(t.h), DepthOrArrayLayers: 1})
}

// SetFrame uploads f's image and all its maps (each head's, then the
// mean) to the device. Switching heads afterwards changes only the view
// parameters.
//
// The maps come from the host: siglip2 reads the pooling head's attention
// back with the embedding (the viewer needs the values on the host anyway,
// for the colour bar, the peak and the hover read-out), and at most a few
// thousand floats per head, one queue write costs far less than a frame.
func (r *Renderer) SetFrame(f *Frame) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if r.frame == f {
		return nil
	}
	n := f.GridH * f.GridW
	maps := make([]float32, 0, n*(len(f.Heads)+1))
	for _, m := range f.Heads {
		maps = append(maps, m...)
	}
	maps = append(maps, f.Mean...)
	size := uint64(4 * len(maps))
	if size > r.attnCap {
		if r.attn != nil {
			r.attn.Release()
		}
		b, err := r.raw.Device.CreateBuffer(&wgpu.BufferDescriptor{Label: "viewer attention", Size: size, Usage: wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopyDst})
		if err != nil {
			r.attn, r.attnCap = nil, 0
			return fmt.Errorf("viewer: attention buffer of %d bytes: %w", size, err)
		}
		r.attn, r.attnCap = b, size
		r.invalidate()
	}
	if err := r.raw.Queue.WriteBuffer(r.attn, 0, gpu.Bytes(maps)); err != nil {
		return fmt.Errorf("viewer: upload the attention maps: %w", err)
	}
	if r.img == nil || r.img.w != f.Image.W || r.img.h != f.Image.H {
		r.img.release()
		t, err := r.newTexture("viewer image", f.Image.W, f.Image.H, wgpu.TextureUsage_TextureBinding|wgpu.TextureUsage_CopyDst)
		if err != nil {
			r.img = nil
			return err
		}
		r.img = t
		r.invalidate()
	}
	rgba := make([]byte, 4*f.Image.W*f.Image.H)
	for i, j := 0, 0; i < len(f.Image.Pix); i, j = i+3, j+4 {
		rgba[j], rgba[j+1], rgba[j+2], rgba[j+3] = f.Image.Pix[i], f.Image.Pix[i+1], f.Image.Pix[i+2], 0xff
	}
	if err := r.writeTexture(r.img, rgba); err != nil {
		return fmt.Errorf("viewer: upload the image: %w", err)
	}
	r.frame = f
	return nil
}

// setOverlay redraws and uploads the text layer when what it shows changed.
func (r *Renderer) setOverlay(st State, images int, l Layout, vp Viewport) error {
	key := overlayKey{r.frame, st, images, vp.W, vp.H, vp.Scale}
	if r.ov != nil && r.ovKey == key {
		return nil
	}
	ov, err := drawOverlay(r.frame, st, images, l, vp.W, vp.H, vp.Scale)
	if err != nil {
		return err
	}
	if r.ov == nil || r.ov.w != vp.W || r.ov.h != vp.H {
		r.ov.release()
		t, err := r.newTexture("viewer text", vp.W, vp.H, wgpu.TextureUsage_TextureBinding|wgpu.TextureUsage_CopyDst)
		if err != nil {
			r.ov = nil
			return err
		}
		r.ov = t
		r.invalidate()
	}
	if err := r.writeTexture(r.ov, ov.Pix); err != nil {
		return fmt.Errorf("viewer: upload the text layer: %w", err)
	}
	r.ovKey = key
	return nil
}

// viewParams packs the shader's View struct.
func viewParams(f *Frame, st State, l Layout, vp Viewport, srgbTarget bool) []byte {
	b := make([]byte, 0, viewSize)
	f32 := func(vs ...float64) {
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		}
	}
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	rgb := func(c [4]uint8) { f32(float64(c[0])/255, float64(c[1])/255, float64(c[2])/255, 1) }
	f32(l.Image.X, l.Image.Y, l.Image.W, l.Image.H)
	f32(l.Bar.X, l.Bar.Y, l.Bar.W, l.Bar.H)
	rgb([4]uint8{colBackground.R, colBackground.G, colBackground.B})
	rgb([4]uint8{colLetterbox.R, colLetterbox.G, colLetterbox.B})
	f32(float64(vp.X), float64(vp.Y), l.W, l.H, vp.Scale, float64(st.Opacity))
	u32(uint32(f.GridW))
	u32(uint32(f.GridH))
	f32(float64(f.PatchSize))
	grid := uint32(0)
	if st.Grid {
		grid = 1
	}
	u32(grid)
	head := st.Head
	if head < 0 || head >= len(f.Heads) {
		head = len(f.Heads) // the mean follows the heads
	}
	u32(uint32(head * f.GridH * f.GridW))
	u32(uint32(int32(st.Hover)))
	lo, hi := f.Range(st.Head)
	f32(float64(lo), float64(hi))
	srgb := uint32(0)
	if srgbTarget {
		srgb = 1
	}
	u32(srgb)
	u32(0)
	return append(b, make([]byte, viewSize-len(b))...)
}

// isSRGB reports whether a target format encodes sRGB on write.
func isSRGB(f wgpu.TextureFormat) bool {
	return f == wgpu.TextureFormat_RGBA8UnormSrgb || f == wgpu.TextureFormat_BGRA8UnormSrgb
}

// Draw renders the current frame (see SetFrame) in state st into target, a
// fbW×fbH texture of the given format: the canvas fitted and centred,
// letterboxed. It submits the work and returns; the caller presents or
// reads the target.
func (r *Renderer) Draw(target *wgpu.TextureView, format wgpu.TextureFormat, fbW, fbH int, st State, images int) error {
	if r.frame == nil {
		return fmt.Errorf("viewer: Draw before SetFrame")
	}
	f := r.frame
	l := NewLayout(f.Image.W, f.Image.H)
	vp := Fit(fbW, fbH)
	if vp.W <= 0 || vp.H <= 0 {
		return nil // a minimised window: nothing to draw
	}
	if err := r.setOverlay(st, images, l, vp); err != nil {
		return err
	}
	pipe, err := r.pipeline(format)
	if err != nil {
		return err
	}
	if err := r.raw.Queue.WriteBuffer(r.uniform, 0, viewParams(f, st, l, vp, isSRGB(format))); err != nil {
		return fmt.Errorf("viewer: write the view parameters: %w", err)
	}
	if r.group == nil {
		r.group, err = r.raw.Device.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: "viewer", Layout: r.layout, Entries: []wgpu.BindGroupEntry{
			{Binding: 0, Buffer: r.uniform, Size: viewSize},
			{Binding: 1, Buffer: r.attn, Size: r.attnCap},
			{Binding: 2, TextureView: r.img.v},
			{Binding: 3, TextureView: r.ov.v},
			{Binding: 4, Buffer: r.lut, Size: uint64(lutSize)},
		}})
		if err != nil {
			return fmt.Errorf("viewer: bind group: %w", err)
		}
	}
	enc, err := r.raw.Device.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "viewer"})
	if err != nil {
		return fmt.Errorf("viewer: command encoder: %w", err)
	}
	defer enc.Release()
	pass := enc.BeginRenderPass(&wgpu.RenderPassDescriptor{Label: "viewer", ColorAttachments: []wgpu.RenderPassColorAttachment{{
		View: target, LoadOp: wgpu.LoadOp_Clear, StoreOp: wgpu.StoreOp_Store, ClearValue: wgpu.Color{A: 1},
	}}})
	pass.SetPipeline(pipe)
	pass.SetBindGroup(0, r.group, nil)
	pass.Draw(3, 1, 0, 0)
	err = pass.End()
	pass.Release()
	if err != nil {
		return fmt.Errorf("viewer: render pass: %w", err)
	}
	cb, err := enc.Finish(&wgpu.CommandBufferDescriptor{Label: "viewer"})
	if err != nil {
		return fmt.Errorf("viewer: finish the frame: %w", err)
	}
	defer cb.Release()
	r.raw.Queue.Submit(cb)
	return nil
}

// Image renders the current frame in state st offscreen at scale (1: the
// canvas's own size, the window's natural size) and reads it back.
func (r *Renderer) Image(ctx context.Context, st State, images int, scale float64) (*image.RGBA, error) {
	if scale <= 0 || scale > 8 {
		return nil, fmt.Errorf("viewer: scale %g: want a value in (0, 8]", scale)
	}
	cw, ch := CanvasSize()
	w, h := int(math.Round(float64(cw)*scale)), int(math.Round(float64(ch)*scale))
	target, err := r.newTexture("viewer offscreen", w, h, wgpu.TextureUsage_RenderAttachment|wgpu.TextureUsage_CopySrc)
	if err != nil {
		return nil, err
	}
	defer target.release()
	if err := r.Draw(target.v, wgpu.TextureFormat_RGBA8Unorm, w, h, st, images); err != nil {
		return nil, err
	}
	pix, err := r.dev.ReadTexture(ctx, target.t, uint32(w), uint32(h))
	if err != nil {
		return nil, fmt.Errorf("viewer: read the picture back: %w", err)
	}
	return &image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}, nil
}

// invalidate drops the bind group after a binding's buffer or texture was
// replaced; Draw makes a new one.
func (r *Renderer) invalidate() {
	if r.group != nil {
		r.group.Release()
		r.group = nil
	}
}

// Close releases what the renderer holds on the device (not the device).
func (r *Renderer) Close() {
	r.invalidate()
	for f, p := range r.pipes {
		p.Release()
		delete(r.pipes, f)
	}
	r.img.release()
	r.ov.release()
	r.img, r.ov = nil, nil
	for _, b := range []*wgpu.Buffer{r.attn, r.uniform, r.lut} {
		if b != nil {
			b.Release()
		}
	}
	r.attn, r.uniform, r.lut = nil, nil, nil
	if r.plLay != nil {
		r.plLay.Release()
		r.plLay = nil
	}
	if r.layout != nil {
		r.layout.Release()
		r.layout = nil
	}
	if r.module != nil {
		r.module.Release()
		r.module = nil
	}
}
