package gpu

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Usage says how a buffer is bound.
type Usage uint8

// Buffer usages. Every buffer can also be written from the host and copied
// from and to.
const (
	Storage Usage = iota // var<storage> in shaders; tensors and weights
	Uniform              // var<uniform>; kernel parameter blocks
)

func (u Usage) flags() wgpu.BufferUsage {
	f := wgpu.BufferUsage_CopyDst | wgpu.BufferUsage_CopySrc
	if u == Uniform {
		return f | wgpu.BufferUsage_Uniform
	}
	return f | wgpu.BufferUsage_Storage
}

// Buffer is a region of device memory.
type Buffer struct {
	d     *Device
	b     *wgpu.Buffer
	size  uint64
	label string
	usage Usage
}

// Size returns the buffer's size in bytes.
func (b *Buffer) Size() uint64 { return b.size }

// Label returns the name the buffer was created with.
func (b *Buffer) Label() string { return b.label }

// Usage returns how the buffer is bound.
func (b *Buffer) Usage() Usage { return b.usage }

// align4 rounds n up to a multiple of 4, as wgpu requires of buffer sizes
// and copies.
func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// alignUp rounds n up to a multiple of a (a power of two).
func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

// NewBuffer creates a zero-filled buffer of at least size bytes (rounded up
// to a multiple of 4).
func (d *Device) NewBuffer(label string, size uint64, u Usage) (*Buffer, error) {
	if size == 0 {
		size = 4
	}
	size = align4(size)
	if size > d.limits.MaxBufferSize {
		return nil, fmt.Errorf("gpu: buffer %q: %d bytes exceed the adapter's largest buffer (%d bytes)", label, size, d.limits.MaxBufferSize)
	}
	if err := d.acquire(); err != nil {
		return nil, err
	}
	defer d.life.RUnlock()
	wb, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: label, Usage: u.flags(), Size: size})
	if err != nil {
		return nil, fmt.Errorf("gpu: create buffer %q (%d bytes): %w", label, size, err)
	}
	b := &Buffer{d: d, b: wb, size: size, label: label, usage: u}
	d.mu.Lock()
	d.buffers[b] = struct{}{}
	d.mu.Unlock()
	return b, nil
}

// Upload creates a buffer holding data (padded with zeros to a multiple of
// 4 bytes). Weights are uploaded this way, once.
func (d *Device) Upload(label string, data []byte, u Usage) (*Buffer, error) {
	b, err := d.NewBuffer(label, uint64(len(data)), u)
	if err != nil {
		return nil, err
	}
	if err := d.Write(b, 0, data); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// Write copies data into b at offset through the queue; the copy happens
// before any later submit. offset must be a multiple of 4; data is padded to
// a multiple of 4 bytes.
func (d *Device) Write(b *Buffer, offset uint64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if offset%4 != 0 {
		return fmt.Errorf("gpu: write %q at offset %d: offset must be a multiple of 4", b.label, offset)
	}
	if offset+align4(uint64(len(data))) > b.size {
		return fmt.Errorf("gpu: write %d bytes to %q at offset %d: the buffer holds %d", len(data), b.label, offset, b.size)
	}
	if len(data)%4 != 0 {
		data = append(data[:len(data):len(data)], make([]byte, 4-len(data)%4)...)
	}
	if err := d.acquire(); err != nil {
		return err
	}
	defer d.life.RUnlock()
	if err := d.queue.WriteBuffer(b.b, offset, data); err != nil {
		return fmt.Errorf("gpu: write buffer %q: %w", b.label, err)
	}
	return nil
}

// Read copies size bytes of b at offset back to the host: one submit and a
// wait. To read several buffers after a run, use Recorder.Readback instead.
func (d *Device) Read(ctx context.Context, b *Buffer, offset, size uint64) ([]byte, error) {
	r := d.NewRecorder("read " + b.label)
	rb := r.Readback(b, offset, size)
	if _, err := r.Submit(ctx); err != nil {
		return nil, err
	}
	return rb.Bytes(), nil
}

// Release frees the buffer's device memory now. Using the buffer afterwards
// is an error; releasing twice does nothing.
func (b *Buffer) Release() {
	d := b.d
	if d.acquire() != nil {
		return // Close has freed it
	}
	defer d.life.RUnlock()
	d.mu.Lock()
	_, live := d.buffers[b]
	delete(d.buffers, b)
	d.mu.Unlock()
	if live {
		b.free()
	}
}

// free drops the buffer. It does not call wgpu's Destroy: wgpu 0.17 frees a
// destroyed buffer's memory at once even while bind groups still name it,
// and lavapipe then writes through the stale descriptors into freed memory.
// Released, the buffer is freed when its last bind group is.
func (b *Buffer) free() {
	b.b.Release()
}

// Bytes views a slice of 4-byte numbers as bytes, without copying, for
// Write and Upload. The result aliases s.
func Bytes[T float32 | uint32 | int32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

// Float32s decodes little-endian float32s from b (len(b)/4 of them).
func Float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// Int32s decodes little-endian int32s from b (len(b)/4 of them).
func Int32s(b []byte) []int32 {
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
