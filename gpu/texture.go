package gpu

import (
	"fmt"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Textures.
//
// Compute kernels may read operands through 2D textures instead of storage
// buffers. On lavapipe (a CPU adapter) a storage-buffer load is a loop over
// the SIMD lanes with a branch per lane, and a sampled-texture load a call
// into a generic texel-fetch function that works out mip-level sizes per
// lane; a load from a read-only storage texture is neither, and costs about
// a third of either (9 ns per vec4 per 8 lanes against 24–38 ns, measured
// on Mesa 22.3 with LLVM 15). So gosig's CPU Linear kernel reads both of
// its operands through textures.
//
// WGSL declares them as
//
//	@group(0) @binding(N) var name: texture_storage_2d<rgba32float, read>;  // or rgba32uint
//	@group(0) @binding(N) var name: texture_2d<f32>;                        // or u32, i32: textureLoad, no sampler
//
// Read-only storage textures are a native wgpu feature (Device.
// HasStorageTextureRead), and wgpu 0.17's C API cannot describe them in a
// bind-group layout; a shader that declares one is compiled with the layout
// wgpu derives from the shader, so it must use every binding it declares,
// and it must write (if only on a path never taken) every storage buffer it
// declares: the derived layout binds a buffer the shader only reads as
// read-only, which conflicts with a read_write binding of the same buffer
// (another range of one arena) in the same dispatch.
// Sampled textures get explicit layouts with a non-filterable sample type
// (rgba32float cannot be filtered).

// featureTextureAdapterSpecificFormatFeatures is wgpu-native's
// WGPUNativeFeature_TextureAdapterSpecificFormatFeatures, which go-webgpu
// v0.17.1 does not name. It enables read-only storage textures.
const featureTextureAdapterSpecificFormatFeatures = wgpu.FeatureName(0x60000002)

// TextureFormat is the texel format of a Texture. Both formats hold 16
// bytes per texel: four f32, or four u32 (e.g. eight packed f16).
type TextureFormat uint8

// Texture formats.
const (
	RGBA32Float TextureFormat = iota // texture_2d<f32>, texture_storage_2d<rgba32float, read>
	RGBA32Uint                       // texture_2d<u32>, texture_storage_2d<rgba32uint, read>
)

// TexelBytes is the size of one texel of every TextureFormat.
const TexelBytes = 16

// CopyRowAlign is the multiple of bytes that a buffer row must be in a
// buffer-to-texture copy (WebGPU's bytesPerRow alignment).
const CopyRowAlign = 256

func (f TextureFormat) wgpu() wgpu.TextureFormat {
	if f == RGBA32Uint {
		return wgpu.TextureFormat_RGBA32Uint
	}
	return wgpu.TextureFormat_RGBA32Float
}

// String returns the format's WGSL name.
func (f TextureFormat) String() string {
	if f == RGBA32Uint {
		return "rgba32uint"
	}
	return "rgba32float"
}

// Texture is a 2D texture on the device, one mip level, readable by
// compute shaders as a sampled texture and, where the device has
// HasStorageTextureRead, as a read-only storage texture.
type Texture struct {
	d             *Device
	t             *wgpu.Texture
	view          *wgpu.TextureView
	format        TextureFormat
	width, height uint32
	label         string
}

// Width returns the texture's width in texels.
func (t *Texture) Width() int { return int(t.width) }

// Height returns the texture's height in texels.
func (t *Texture) Height() int { return int(t.height) }

// Format returns the texture's texel format.
func (t *Texture) Format() TextureFormat { return t.format }

// Label returns the name the texture was created with.
func (t *Texture) Label() string { return t.label }

// Bytes returns the texture's size in bytes.
func (t *Texture) Bytes() uint64 { return uint64(t.width) * uint64(t.height) * TexelBytes }

// HasStorageTextureRead reports whether shaders on d may declare
// texture_storage_2d bindings with read access.
func (d *Device) HasStorageTextureRead() bool { return d.texRead }

// NewTexture creates a zero-filled width×height texture. Both sides must
// be within the adapter's MaxTextureDimension2D (16384 on lavapipe); larger
// data must be split by the caller.
func (d *Device) NewTexture(label string, format TextureFormat, width, height int) (*Texture, error) {
	max := int(d.limits.MaxTextureDimension2D)
	if width < 1 || height < 1 || width > max || height > max {
		return nil, fmt.Errorf("gpu: texture %q: %d×%d texels: each side must be 1 to %d (the adapter's largest 2D texture); split the data", label, width, height, max)
	}
	if err := d.acquire(); err != nil {
		return nil, err
	}
	defer d.life.RUnlock()
	usage := wgpu.TextureUsage_TextureBinding | wgpu.TextureUsage_CopyDst | wgpu.TextureUsage_CopySrc
	if d.texRead {
		usage |= wgpu.TextureUsage_StorageBinding
	}
	wt, err := d.dev.CreateTexture(&wgpu.TextureDescriptor{
		Label:         label,
		Usage:         usage,
		Dimension:     wgpu.TextureDimension_2D,
		Size:          wgpu.Extent3D{Width: uint32(width), Height: uint32(height), DepthOrArrayLayers: 1},
		Format:        format.wgpu(),
		MipLevelCount: 1,
		SampleCount:   1,
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: create texture %q (%d×%d %s): %w", label, width, height, format, err)
	}
	view, err := wt.CreateView(nil)
	if err != nil {
		wt.Release()
		return nil, fmt.Errorf("gpu: view of texture %q: %w", label, err)
	}
	t := &Texture{d: d, t: wt, view: view, format: format, width: uint32(width), height: uint32(height), label: label}
	d.mu.Lock()
	d.textures[t] = struct{}{}
	d.mu.Unlock()
	return t, nil
}

// UploadTexture creates a width×height texture holding data: rows of
// width texels (16 bytes each), tightly packed, at most width·height·16
// bytes (the rest stays zero). Weights are uploaded this way, once.
func (d *Device) UploadTexture(label string, format TextureFormat, width, height int, data []byte) (*Texture, error) {
	t, err := d.NewTexture(label, format, width, height)
	if err != nil {
		return nil, err
	}
	if err := d.WriteTexture(t, data); err != nil {
		t.Release()
		return nil, err
	}
	return t, nil
}

// WriteTexture copies data into t from its first texel on, through the
// queue: rows of t.Width() texels, tightly packed; a last partial row is
// allowed. It happens before any later submit.
func (d *Device) WriteTexture(t *Texture, data []byte) error {
	row := uint64(t.width) * TexelBytes
	if len(data)%TexelBytes != 0 || uint64(len(data)) > t.Bytes() {
		return fmt.Errorf("gpu: write %d bytes to texture %q: want whole texels (16 bytes), at most %d bytes (%d×%d)", len(data), t.label, t.Bytes(), t.width, t.height)
	}
	if err := d.acquire(); err != nil {
		return err
	}
	defer d.life.RUnlock()
	full := uint64(len(data)) / row
	write := func(y uint32, part []byte, width uint32, rows uint32) error {
		err := d.queue.WriteTexture(&wgpu.ImageCopyTexture{Texture: t.t, Origin: wgpu.Origin3D{Y: y}, Aspect: wgpu.TextureAspect_All}, part,
			&wgpu.TextureDataLayout{BytesPerRow: width * TexelBytes, RowsPerImage: rows},
			&wgpu.Extent3D{Width: width, Height: rows, DepthOrArrayLayers: 1})
		if err != nil {
			return fmt.Errorf("gpu: write texture %q: %w", t.label, err)
		}
		return nil
	}
	if full > 0 {
		if err := write(0, data[:full*row], t.width, uint32(full)); err != nil {
			return err
		}
	}
	if rest := data[full*row:]; len(rest) > 0 {
		return write(uint32(full), rest, uint32(len(rest)/TexelBytes), 1)
	}
	return nil
}

// Release frees the texture's device memory now. Using it afterwards is an
// error; releasing twice does nothing.
func (t *Texture) Release() {
	d := t.d
	if d.acquire() != nil {
		return // Close has freed it
	}
	defer d.life.RUnlock()
	d.mu.Lock()
	_, live := d.textures[t]
	delete(d.textures, t)
	d.mu.Unlock()
	if live {
		t.free()
	}
}

// free drops the view and the texture; like buffers, textures are not
// destroyed, so that bind groups still naming them stay valid until they
// are released too.
func (t *Texture) free() {
	t.view.Release()
	t.t.Release()
}

// CopyToTexture records a copy of texels texels (16 bytes each, packed)
// from src at srcOff into t, filling t's rows from row y on; when texels is
// not a multiple of t's width the last row is partial. WebGPU wants the
// source's row pitch, here t.Width()·16 bytes, to be a multiple of
// CopyRowAlign (256): give the texture a width that is a multiple of 16
// texels. srcOff must be a multiple of 16.
func (r *Recorder) CopyToTexture(src *Buffer, srcOff uint64, t *Texture, y, texels int) {
	w := int(t.width)
	bpr := uint64(w) * TexelBytes
	rows := (texels + w - 1) / w
	switch {
	case bpr%CopyRowAlign != 0:
		r.fail(fmt.Errorf("gpu: copy %q→texture %q: rows of %d bytes; buffer-to-texture copies need a multiple of %d (use a texture width that is a multiple of %d texels)",
			src.label, t.label, bpr, CopyRowAlign, CopyRowAlign/TexelBytes))
		return
	case srcOff%TexelBytes != 0:
		r.fail(fmt.Errorf("gpu: copy %q→texture %q: source offset %d is not a multiple of %d bytes", src.label, t.label, srcOff, TexelBytes))
		return
	case texels < 1 || y < 0 || y+rows > int(t.height):
		r.fail(fmt.Errorf("gpu: copy %d texels to texture %q from row %d: it has %d rows of %d", texels, t.label, y, t.height, t.width))
		return
	case srcOff+uint64(texels)*TexelBytes > src.size:
		r.fail(fmt.Errorf("gpu: copy %d texels from %q at %d: past its end (%d bytes)", texels, src.label, srcOff, src.size))
		return
	}
	r.cmds = append(r.cmds, command{kind: cmdCopyTexture, src: src, srcOff: srcOff, tex: t, x: uint32(y), size: uint64(texels)})
}

// encodeCopyToTexture encodes a cmdCopyTexture: whole rows, then the rest.
func encodeCopyToTexture(enc *wgpu.CommandEncoder, c command) error {
	t := c.tex
	w := uint64(t.width)
	full, rest := c.size/w, c.size%w
	copyRows := func(off uint64, y uint32, width, rows uint32) error {
		return enc.CopyBufferToTexture(
			&wgpu.ImageCopyBuffer{Buffer: c.src.b, Layout: wgpu.TextureDataLayout{Offset: off, BytesPerRow: t.width * TexelBytes, RowsPerImage: rows}},
			&wgpu.ImageCopyTexture{Texture: t.t, Origin: wgpu.Origin3D{Y: y}, Aspect: wgpu.TextureAspect_All},
			&wgpu.Extent3D{Width: width, Height: rows, DepthOrArrayLayers: 1})
	}
	if full > 0 {
		if err := copyRows(c.srcOff, c.x, t.width, uint32(full)); err != nil {
			return err
		}
	}
	if rest > 0 {
		return copyRows(c.srcOff+full*w*TexelBytes, c.x+uint32(full), uint32(rest), 1)
	}
	return nil
}
