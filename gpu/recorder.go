package gpu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Recorder collects dispatches, copies and readbacks and submits them as one
// command buffer: one encoder, one submit, one wait, one map of a staging
// buffer for everything read back. Consecutive dispatches share a compute
// pass (wgpu orders them by their buffer uses). A Recorder is used by one
// goroutine and submitted once.
type Recorder struct {
	d      *Device
	label  string
	cmds   []command
	reads  []*Readback
	timing bool
	err    error
	nDisp  int
}

type cmdKind uint8

const (
	cmdDispatch cmdKind = iota
	cmdCopy
	cmdClear
	cmdCopyTexture // buffer to texture: src, srcOff, tex, x (first row), size (texels)
)

type command struct {
	kind    cmdKind
	label   string
	p       *Pipeline
	bg      *BindGroup
	x, y, z uint32
	src     *Buffer
	srcOff  uint64
	dst     *Buffer
	dstOff  uint64
	size    uint64
	tex     *Texture
}

// Readback is a range of a buffer copied to the host by a Recorder's
// submit; its bytes are valid after Submit returns without error.
type Readback struct {
	buf       *Buffer
	off, size uint64
	stageOff  uint64
	data      []byte
}

// Bytes returns the bytes read back.
func (r *Readback) Bytes() []byte { return r.data }

// Float32s returns the bytes read back as float32s.
func (r *Readback) Float32s() []float32 { return Float32s(r.data) }

// Timing is the GPU time of one dispatch, from timestamp queries.
type Timing struct {
	Label    string // the label given to Dispatch
	Shader   string // the pipeline's label
	Duration time.Duration
}

// Result reports what a submit did.
type Result struct {
	Dispatches int
	// Timings has one entry per dispatch, in order, when Time(true) was
	// set and the device has timestamp queries; nil otherwise.
	Timings []Timing
}

// NewRecorder starts an empty command recording.
func (d *Device) NewRecorder(label string) *Recorder {
	return &Recorder{d: d, label: label}
}

// Time asks for per-dispatch GPU timestamps (each dispatch then gets a
// compute pass of its own, which costs a little). It does nothing on a
// device without timestamp queries.
func (r *Recorder) Time(on bool) { r.timing = on && r.d.tsQuery }

// Dispatches returns the number of dispatches recorded so far.
func (r *Recorder) Dispatches() int { return r.nDisp }

func (r *Recorder) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Dispatch records x·y·z workgroups of p with bind group bg. label names
// the dispatch in timings and errors.
func (r *Recorder) Dispatch(label string, p *Pipeline, bg *BindGroup, x, y, z uint32) {
	max := r.d.limits.MaxComputeWorkgroupsPerDimension
	if x == 0 || y == 0 || z == 0 {
		r.fail(fmt.Errorf("gpu: dispatch %s (%s): empty grid %d×%d×%d", label, p.label, x, y, z))
		return
	}
	if x > max || y > max || z > max {
		r.fail(fmt.Errorf("gpu: dispatch %s (%s): grid %d×%d×%d exceeds the adapter's %d workgroups per dimension", label, p.label, x, y, z, max))
		return
	}
	if bg == nil || bg.bg == nil {
		r.fail(fmt.Errorf("gpu: dispatch %s (%s): no bind group", label, p.label))
		return
	}
	r.cmds = append(r.cmds, command{kind: cmdDispatch, label: label, p: p, bg: bg, x: x, y: y, z: z})
	r.nDisp++
}

// Copy records a buffer-to-buffer copy; offsets and size must be multiples
// of 4.
func (r *Recorder) Copy(src *Buffer, srcOff uint64, dst *Buffer, dstOff, size uint64) {
	if srcOff%4 != 0 || dstOff%4 != 0 || size%4 != 0 {
		r.fail(fmt.Errorf("gpu: copy %q→%q: offsets and size must be multiples of 4 (%d, %d, %d)", src.label, dst.label, srcOff, dstOff, size))
		return
	}
	if srcOff+size > src.size || dstOff+size > dst.size {
		r.fail(fmt.Errorf("gpu: copy %d bytes %q[%d:]→%q[%d:]: out of range (%d and %d bytes)", size, src.label, srcOff, dst.label, dstOff, src.size, dst.size))
		return
	}
	r.cmds = append(r.cmds, command{kind: cmdCopy, src: src, srcOff: srcOff, dst: dst, dstOff: dstOff, size: size})
}

// Clear records zeroing size bytes of b from offset (multiples of 4).
func (r *Recorder) Clear(b *Buffer, offset, size uint64) {
	if offset%4 != 0 || size%4 != 0 || offset+size > b.size {
		r.fail(fmt.Errorf("gpu: clear %q [%d, %d): must be in range and 4-byte aligned (%d bytes)", b.label, offset, offset+size, b.size))
		return
	}
	r.cmds = append(r.cmds, command{kind: cmdClear, dst: b, dstOff: offset, size: size})
}

// Readback records a copy of size bytes of b at offset to the host, after
// everything recorded before it. Offset and size must be multiples of 4.
func (r *Recorder) Readback(b *Buffer, offset, size uint64) *Readback {
	rb := &Readback{buf: b, off: offset, size: size}
	if offset%4 != 0 || size%4 != 0 || offset+size > b.size {
		r.fail(fmt.Errorf("gpu: read back %q [%d, %d): must be in range and 4-byte aligned (%d bytes)", b.label, offset, offset+size, b.size))
		return rb
	}
	r.cmds = append(r.cmds, command{kind: cmdCopy, src: b, srcOff: offset, size: size, dst: nil, dstOff: uint64(len(r.reads))})
	r.reads = append(r.reads, rb)
	return rb
}

// Submit encodes everything recorded, submits it, waits for the device and
// copies the readbacks out. The context is checked before the submit; a
// submitted command buffer cannot be interrupted.
func (r *Recorder) Submit(ctx context.Context) (*Result, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := r.d
	if err := d.acquire(); err != nil {
		return nil, err
	}
	defer d.life.RUnlock()

	// Lay out the staging buffer: readbacks, then timestamps.
	var stage uint64
	for _, rb := range r.reads {
		stage = alignUp(stage, wgpu.MapAlignment)
		rb.stageOff = stage
		stage += rb.size
	}
	nq := 0
	if r.timing {
		nq = 2 * r.nDisp
	}
	tsOff := alignUp(stage, wgpu.MapAlignment)
	if nq > 0 {
		stage = tsOff + uint64(nq)*wgpu.QuerySize
	}
	var staging *wgpu.Buffer
	if stage > 0 {
		var err error
		if staging, err = d.takeStaging(stage); err != nil {
			return nil, err
		}
		defer d.putStaging(staging)
	}
	var t *timestamps
	if nq > 0 {
		var err error
		if t, err = d.newTimestamps(r.label, nq); err != nil {
			return nil, err
		}
		defer t.release()
	}
	if err := r.encodeAndSubmit(staging, t, tsOff); err != nil {
		return nil, err
	}
	res := &Result{Dispatches: r.nDisp}
	if staging == nil {
		return res, nil
	}
	data, err := mapCopy(d, staging, stage)
	if err != nil {
		return nil, fmt.Errorf("gpu: %s: read back: %w", r.label, err)
	}
	for _, rb := range r.reads {
		rb.data = data[rb.stageOff : rb.stageOff+rb.size]
	}
	if nq > 0 {
		res.Timings = r.timings(data[tsOff:tsOff+uint64(nq)*wgpu.QuerySize], d.timestampPeriod())
	}
	return res, nil
}

// timestamps is the query sets and resolve buffer of one timed submit.
type timestamps struct {
	n       int
	sets    []*wgpu.QuerySet
	resolve *wgpu.Buffer
}

func (d *Device) newTimestamps(label string, n int) (*timestamps, error) {
	t := &timestamps{n: n}
	for left := n; left > 0; left -= wgpu.QuerySetMaxQueries {
		q, err := d.dev.CreateQuerySet(&wgpu.QuerySetDescriptor{Label: label, Type: wgpu.QueryType_Timestamp,
			Count: uint32(min(left, wgpu.QuerySetMaxQueries))})
		if err != nil {
			t.release()
			return nil, fmt.Errorf("gpu: %s: timestamp queries: %w", label, err)
		}
		t.sets = append(t.sets, q)
	}
	var err error
	t.resolve, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: label + " timestamps", Size: uint64(n) * wgpu.QuerySize,
		Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc})
	if err != nil {
		t.release()
		return nil, fmt.Errorf("gpu: %s: timestamp buffer: %w", label, err)
	}
	return t, nil
}

// write records timestamp i.
func (t *timestamps) write(enc *wgpu.CommandEncoder, i int) error {
	return enc.WriteTimestamp(t.sets[i/wgpu.QuerySetMaxQueries], uint32(i%wgpu.QuerySetMaxQueries))
}

// resolveTo records the resolution of all timestamps into dst at off.
func (t *timestamps) resolveTo(enc *wgpu.CommandEncoder, dst *wgpu.Buffer, off uint64) error {
	for i, q := range t.sets {
		first := i * wgpu.QuerySetMaxQueries
		n := min(t.n-first, wgpu.QuerySetMaxQueries)
		if err := enc.ResolveQuerySet(q, 0, uint32(n), t.resolve, uint64(first)*wgpu.QuerySize); err != nil {
			return err
		}
	}
	return enc.CopyBufferToBuffer(t.resolve, 0, dst, off, uint64(t.n)*wgpu.QuerySize)
}

func (t *timestamps) release() {
	for _, q := range t.sets {
		q.Release()
	}
	if t.resolve != nil {
		t.resolve.Release()
	}
}

func (r *Recorder) encodeAndSubmit(staging *wgpu.Buffer, t *timestamps, tsOff uint64) error {
	d := r.d
	enc, err := d.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: r.label})
	if err != nil {
		return fmt.Errorf("gpu: %s: %w", r.label, err)
	}
	defer enc.Release()
	stamp := func(i int) error { return t.write(enc, i) }
	var pass *wgpu.ComputePassEncoder
	var passLabels []string
	endPass := func() error {
		if pass == nil {
			return nil
		}
		err := pass.End()
		pass.Release()
		pass = nil
		if err != nil {
			return fmt.Errorf("gpu: %s: compute pass with %v: %w", r.label, passLabels, err)
		}
		passLabels = passLabels[:0]
		return nil
	}
	disp := 0
	for _, c := range r.cmds {
		switch c.kind {
		case cmdDispatch:
			if r.timing {
				if err := stamp(2 * disp); err != nil {
					return fmt.Errorf("gpu: %s: timestamp: %w", r.label, err)
				}
			}
			if pass == nil {
				pass = enc.BeginComputePass(&wgpu.ComputePassDescriptor{Label: r.label})
			}
			pass.SetPipeline(c.p.pipeline)
			pass.SetBindGroup(0, c.bg.bg, nil)
			pass.DispatchWorkgroups(c.x, c.y, c.z)
			passLabels = append(passLabels, c.label+" ("+c.p.label+")")
			if r.timing {
				if err := endPass(); err != nil {
					return err
				}
				if err := stamp(2*disp + 1); err != nil {
					return fmt.Errorf("gpu: %s: timestamp: %w", r.label, err)
				}
			}
			disp++
		case cmdCopy:
			if err := endPass(); err != nil {
				return err
			}
			dst, dstOff := c.dst, c.dstOff
			var err error
			if dst == nil { // readback into staging
				rb := r.reads[c.dstOff]
				err = enc.CopyBufferToBuffer(c.src.b, c.srcOff, staging, rb.stageOff, c.size)
			} else {
				err = enc.CopyBufferToBuffer(c.src.b, c.srcOff, dst.b, dstOff, c.size)
			}
			if err != nil {
				return fmt.Errorf("gpu: %s: copy from %q: %w", r.label, c.src.label, err)
			}
		case cmdCopyTexture:
			if err := endPass(); err != nil {
				return err
			}
			if err := encodeCopyToTexture(enc, c); err != nil {
				return fmt.Errorf("gpu: %s: copy %q to texture %q: %w", r.label, c.src.label, c.tex.label, err)
			}
		case cmdClear:
			if err := endPass(); err != nil {
				return err
			}
			if err := enc.ClearBuffer(c.dst.b, c.dstOff, c.size); err != nil {
				return fmt.Errorf("gpu: %s: clear %q: %w", r.label, c.dst.label, err)
			}
		}
	}
	if err := endPass(); err != nil {
		return err
	}
	if t != nil {
		if err := t.resolveTo(enc, staging, tsOff); err != nil {
			return fmt.Errorf("gpu: %s: resolve timestamps: %w", r.label, err)
		}
	}
	cb, err := enc.Finish(&wgpu.CommandBufferDescriptor{Label: r.label})
	if err != nil {
		return fmt.Errorf("gpu: %s: %w", r.label, err)
	}
	defer cb.Release()
	d.submitWait(cb)
	return nil
}

func (r *Recorder) timings(raw []byte, period float64) []Timing {
	ticks := Int64s(raw)
	out := make([]Timing, 0, r.nDisp)
	i := 0
	for _, c := range r.cmds {
		if c.kind != cmdDispatch {
			continue
		}
		dt := float64(ticks[2*i+1]-ticks[2*i]) * period
		out = append(out, Timing{Label: c.label, Shader: c.p.label, Duration: time.Duration(math.Max(dt, 0))})
		i++
	}
	return out
}

// Int64s decodes little-endian 64-bit integers (timestamps).
func Int64s(b []byte) []int64 {
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// takeStaging returns an idle staging buffer of at least size bytes, or a
// new one. The caller holds d.life.
func (d *Device) takeStaging(size uint64) (*wgpu.Buffer, error) {
	d.mu.Lock()
	best := -1
	for i, s := range d.staging {
		if s.GetSize() >= size && (best < 0 || s.GetSize() < d.staging[best].GetSize()) {
			best = i
		}
	}
	if best >= 0 {
		s := d.staging[best]
		d.staging = append(d.staging[:best], d.staging[best+1:]...)
		d.mu.Unlock()
		return s, nil
	}
	d.mu.Unlock()
	n := uint64(64 << 10)
	for n < size {
		n *= 2
	}
	n = min(n, max(size, d.limits.MaxBufferSize&^7))
	s, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "gosig staging", Size: n, Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst})
	if err != nil {
		return nil, fmt.Errorf("gpu: staging buffer of %d bytes: %w", n, err)
	}
	return s, nil
}

// putStaging returns a staging buffer to the pool, which keeps at most
// four. The caller holds d.life.
func (d *Device) putStaging(s *wgpu.Buffer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.staging) >= 4 {
		s.Release()
		return
	}
	d.staging = append(d.staging, s)
}

// mapCopy maps the first size bytes of a staging buffer, copies them out
// and unmaps it. The caller holds d.life.
func mapCopy(d *Device, s *wgpu.Buffer, size uint64) ([]byte, error) {
	size = alignUp(size, 4)
	if err := d.mapRead(s, size); err != nil {
		return nil, err
	}
	out := make([]byte, size)
	copy(out, s.GetMappedRange(0, uint(size)))
	if err := s.Unmap(); err != nil {
		return nil, err
	}
	return out, nil
}

// timestampPeriod returns nanoseconds per timestamp tick. wgpu 0.17 does
// not expose the queue's timestamp period, so it is measured once: two
// submits a known wall-clock interval apart each write a timestamp. The
// caller holds d.life.
func (d *Device) timestampPeriod() float64 {
	d.mu.Lock()
	p := d.tsPeriod
	d.mu.Unlock()
	if p > 0 {
		return p
	}
	p, err := d.calibrate()
	if err != nil || !(p > 0) || math.IsInf(p, 0) {
		p = 1 // the most common Vulkan period; only timings depend on it
	}
	d.mu.Lock()
	d.tsPeriod = p
	d.mu.Unlock()
	return p
}

// TimestampPeriod returns the measured nanoseconds per timestamp tick, or 0
// on a device without timestamp queries.
func (d *Device) TimestampPeriod() float64 {
	if !d.tsQuery || d.acquire() != nil {
		return 0
	}
	defer d.life.RUnlock()
	return d.timestampPeriod()
}

func (d *Device) calibrate() (float64, error) {
	t, err := d.newTimestamps("calibrate", 2)
	if err != nil {
		return 0, err
	}
	defer t.release()
	s, err := d.takeStaging(16)
	if err != nil {
		return 0, err
	}
	defer d.putStaging(s)
	stamp := func(i int) (time.Time, error) {
		enc, err := d.dev.CreateCommandEncoder(nil)
		if err != nil {
			return time.Time{}, err
		}
		defer enc.Release()
		if err := t.write(enc, i); err != nil {
			return time.Time{}, err
		}
		if i == 1 {
			if err := t.resolveTo(enc, s, 0); err != nil {
				return time.Time{}, err
			}
		}
		cb, err := enc.Finish(nil)
		if err != nil {
			return time.Time{}, err
		}
		defer cb.Release()
		t0 := time.Now()
		d.submitWait(cb)
		return t0.Add(time.Since(t0) / 2), nil
	}
	w0, err := stamp(0)
	if err != nil {
		return 0, err
	}
	time.Sleep(20 * time.Millisecond)
	w1, err := stamp(1)
	if err != nil {
		return 0, err
	}
	raw, err := mapCopy(d, s, 16)
	if err != nil {
		return 0, err
	}
	ticks := Int64s(raw)
	if ticks[1] <= ticks[0] {
		return 0, errors.New("timestamps did not advance")
	}
	return float64(w1.Sub(w0).Nanoseconds()) / float64(ticks[1]-ticks[0]), nil
}
