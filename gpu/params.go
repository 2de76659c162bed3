package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Params builds a kernel's uniform parameter block: 4-byte scalars in the
// order the shader's struct declares them. Bytes pads the block to 16 bytes,
// the size granule of uniform structs.
//
//	p := new(gpu.Params).U32(rows).U32(cols).F32(eps)
type Params struct{ b []byte }

// U32 appends an unsigned 32-bit field.
func (p *Params) U32(v uint32) *Params {
	p.b = binary.LittleEndian.AppendUint32(p.b, v)
	return p
}

// I32 appends a signed 32-bit field.
func (p *Params) I32(v int32) *Params { return p.U32(uint32(v)) }

// F32 appends a float32 field.
func (p *Params) F32(v float32) *Params { return p.U32(math.Float32bits(v)) }

// Bytes returns the block padded to a multiple of 16 bytes.
func (p *Params) Bytes() []byte {
	n := alignUp(uint64(len(p.b)), 16)
	if n == 0 {
		n = 16
	}
	out := make([]byte, n)
	copy(out, p.b)
	return out
}

// UniformPack packs many small parameter blocks into one uniform buffer,
// each at an offset the device's uniform alignment allows, so that a whole
// plan's parameters take one buffer and one upload.
type UniformPack struct {
	align uint64
	data  []byte
	refs  []*Binding
}

// NewUniformPack returns an empty pack for d's alignment.
func (d *Device) NewUniformPack() *UniformPack {
	return &UniformPack{align: uint64(d.limits.MinUniformBufferOffsetAlignment)}
}

// Add appends a parameter block and returns a binding that becomes valid
// once Upload has created the buffer.
func (u *UniformPack) Add(p *Params) *Binding {
	b := p.Bytes()
	off := alignUp(uint64(len(u.data)), u.align)
	u.data = append(u.data, make([]byte, off-uint64(len(u.data)))...)
	u.data = append(u.data, b...)
	ref := &Binding{Offset: off, Size: uint64(len(b))}
	u.refs = append(u.refs, ref)
	return ref
}

// Upload creates the uniform buffer and points every binding Add returned
// at it. The caller releases the buffer.
func (u *UniformPack) Upload(d *Device, label string) (*Buffer, error) {
	if len(u.data) == 0 {
		return nil, nil
	}
	b, err := d.Upload(label, u.data, Uniform)
	if err != nil {
		return nil, fmt.Errorf("gpu: upload parameters %q: %w", label, err)
	}
	for _, r := range u.refs {
		r.Buffer = b
	}
	return b, nil
}
