package gpu

// This file opens the device to rendering code (the attention-map viewer):
// package gpu wraps only compute work, so code that draws with render
// pipelines, textures and window surfaces reaches the wgpu objects here,
// and gets the two services that need the device's internals: a window
// surface checked against the device's adapter, and texture readback
// through the device's staging pool.

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Raw holds the wgpu objects under a Device, for code that renders (render
// pipelines, textures, surfaces), which package gpu does not wrap. They
// belong to the Device: never release them, and never use them after
// Device.Close.
type Raw struct {
	Instance *wgpu.Instance
	Adapter  *wgpu.Adapter
	Device   *wgpu.Device
	Queue    *wgpu.Queue
}

// Raw returns the wgpu objects under d, so that rendering shares the device
// (and its buffers) with compute work.
func (d *Device) Raw() (Raw, error) {
	if err := d.acquire(); err != nil {
		return Raw{}, err
	}
	defer d.life.RUnlock()
	return Raw{Instance: d.instance, Adapter: d.adapter, Device: d.dev, Queue: d.queue}, nil
}

// SurfaceFromXlib creates a presentation surface for an X11 window (an Xlib
// Display* and Window id, as GLFW's GetX11Display and GetX11Window give
// them) on d's instance and checks that d's adapter can present to it. The
// adapter was chosen without a surface, so an adapter that cannot present
// (a headless-only driver, or a GPU not attached to this X server) gets an
// error here rather than a crash at the first frame. The caller releases
// the surface before closing d.
func (d *Device) SurfaceFromXlib(display unsafe.Pointer, window uint32) (*wgpu.Surface, wgpu.SurfaceCapabilities, error) {
	var caps wgpu.SurfaceCapabilities
	if display == nil || window == 0 {
		return nil, caps, fmt.Errorf("gpu: no X11 display or window to make a surface for")
	}
	if err := d.acquire(); err != nil {
		return nil, caps, err
	}
	defer d.life.RUnlock()
	s, err := createSurface(d.instance, &wgpu.SurfaceDescriptor{
		Label:      "gosig window",
		XlibWindow: &wgpu.SurfaceDescriptorFromXlibWindow{Display: display, Window: window},
	})
	if err != nil {
		return nil, caps, err
	}
	caps = s.GetCapabilities(d.adapter)
	if len(caps.Formats) == 0 || len(caps.PresentModes) == 0 {
		s.Release()
		return nil, caps, fmt.Errorf("gpu: the adapter %q (%s) cannot present to this X11 window; "+
			"choose another with GOSIG_ADAPTER (see gosig devices) or GOSIG_BACKEND", d.info.Name, d.info.Backend)
	}
	return s, caps, nil
}

// createSurface turns the panic go-webgpu raises when wgpu returns no
// surface into an error.
func createSurface(inst *wgpu.Instance, desc *wgpu.SurfaceDescriptor) (s *wgpu.Surface, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("gpu: create a window surface: %v", r)
		}
	}()
	return inst.CreateSurface(desc), nil
}

// ReadTexture copies a 2D texture of 4-byte texels (RGBA8 or BGRA8, as its
// format says) to the host: width·height·4 bytes, rows tightly packed. The
// texture needs the CopySrc usage. It waits until the copy is done.
func (d *Device) ReadTexture(ctx context.Context, tex *wgpu.Texture, width, height uint32) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if width == 0 || height == 0 {
		return nil, fmt.Errorf("gpu: read a %d×%d texture: nothing to read", width, height)
	}
	if err := d.acquire(); err != nil {
		return nil, err
	}
	defer d.life.RUnlock()
	// Texture-to-buffer copies need rows aligned to 256 bytes.
	stride := uint32(alignUp(uint64(width)*4, 256))
	size := uint64(stride) * uint64(height)
	staging, err := d.takeStaging(size)
	if err != nil {
		return nil, err
	}
	defer d.putStaging(staging)
	enc, err := d.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "gosig read texture"})
	if err != nil {
		return nil, fmt.Errorf("gpu: read texture: %w", err)
	}
	defer enc.Release()
	err = enc.CopyTextureToBuffer(
		&wgpu.ImageCopyTexture{Texture: tex, Aspect: wgpu.TextureAspect_All},
		&wgpu.ImageCopyBuffer{Buffer: staging, Layout: wgpu.TextureDataLayout{BytesPerRow: stride, RowsPerImage: height}},
		&wgpu.Extent3D{Width: width, Height: height, DepthOrArrayLayers: 1})
	if err != nil {
		return nil, fmt.Errorf("gpu: copy a %d×%d texture to the host: %w", width, height, err)
	}
	cb, err := enc.Finish(&wgpu.CommandBufferDescriptor{Label: "gosig read texture"})
	if err != nil {
		return nil, fmt.Errorf("gpu: read texture: %w", err)
	}
	defer cb.Release()
	d.submitWait(cb)
	raw, err := mapCopy(d, staging, size)
	if err != nil {
		return nil, fmt.Errorf("gpu: read a %d×%d texture: %w", width, height, err)
	}
	out := make([]byte, int(width)*int(height)*4)
	row := int(width) * 4
	for y := range int(height) {
		copy(out[y*row:(y+1)*row], raw[y*int(stride):])
	}
	return out, nil
}
