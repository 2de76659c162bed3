package gpu

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Shader is WGSL source with a name (its file name, for errors and the
// pipeline cache) and the values of its `override` constants.
//
// wgpu 0.17 cannot set pipeline-overridable constants, so gosig specialises
// them in the source: each `override NAME: T = default;` becomes
// `const NAME: T = value;` before compilation. Every name in Constants must
// be declared with `override` in the source; undeclared overrides keep their
// defaults. Constants named in @workgroup_size become literals there too
// (naga 0.13, wgpu 0.17's WGSL compiler, accepts only literals).
//
// Every storage binding is compiled read_write, whatever the source says
// (`var<storage, read>` documents intent and is listed as ReadOnly by
// Pipeline.Bindings): wgpu 0.17 tracks usage per buffer, not per range, so a
// dispatch that reads one range of a buffer and writes another (tensors in
// one arena) must bind both read_write.
//
// naga 0.13 leaves a function variable declared without an initializer
// undefined: write `var acc = array<f32, 16>();`, and zero variables
// declared inside loops explicitly. It cannot parse `enable f16;` nor
// evaluate expressions in const declarations or array sizes.
//
// On lavapipe (Mesa's CPU Vulkan driver) an invocation's loops end silently
// after 65535 iterations in all, nested loops counted by their inner
// iterations: a kernel that loops longer computes garbage with no error
// (see shaders.LavapipeLoopLimit and the shaders package documentation).
type Shader struct {
	Name      string
	Source    string
	Entry     string             // entry point; empty means "main"
	Constants map[string]float64 // override values by name
}

// key identifies a specialised pipeline in the cache.
func (s Shader) key() string { return s.Label() }

func (s Shader) entry() string {
	if s.Entry == "" {
		return "main"
	}
	return s.Entry
}

// Label is the shader's name, entry point (when not main) and constants, as
// errors, the cache and timings show it: "layernorm.wgsl{D=768 WG=256}".
func (s Shader) Label() string {
	var sb strings.Builder
	sb.WriteString(s.Name)
	if e := s.entry(); e != "main" {
		sb.WriteString(":" + e)
	}
	names := make([]string, 0, len(s.Constants))
	for k := range s.Constants {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		sep := " "
		if i == 0 {
			sep = "{"
		}
		fmt.Fprintf(&sb, "%s%s=%v", sep, k, s.Constants[k])
	}
	if len(names) > 0 {
		sb.WriteString("}")
	}
	return sb.String()
}

var (
	overrideRE      = regexp.MustCompile(`(?m)^(\s*)override\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(u32|i32|f32|bool)\s*(?:=\s*([^;]+))?;`)
	workgroupSizeRE = regexp.MustCompile(`@workgroup_size\(([^)]*)\)`)
	identRE         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// specialise rewrites the source's override declarations into constants,
// and the constants named in @workgroup_size into literals (naga 0.13, in
// wgpu 0.17, accepts only literals there).
func specialise(s Shader) (string, error) {
	used := map[string]bool{}
	values := map[string]string{} // override name → literal, for @workgroup_size
	var bad error
	src := overrideRE.ReplaceAllStringFunc(s.Source, func(decl string) string {
		m := overrideRE.FindStringSubmatch(decl)
		indent, name, typ, lit := m[1], m[2], m[3], strings.TrimSpace(m[4])
		if v, ok := s.Constants[name]; ok {
			used[name] = true
			var err error
			if lit, err = literal(typ, v); err != nil {
				bad = fmt.Errorf("override %s: %w", name, err)
				return decl
			}
		} else if lit == "" {
			bad = fmt.Errorf("override %s has no default and no value was given", name)
			return decl
		}
		values[name] = lit
		return fmt.Sprintf("%sconst %s: %s = %s;", indent, name, typ, lit)
	})
	if bad != nil {
		return "", bad
	}
	for name := range s.Constants {
		if !used[name] {
			return "", fmt.Errorf("constant %s is not declared with `override` in the shader", name)
		}
	}
	src = workgroupSizeRE.ReplaceAllStringFunc(src, func(attr string) string {
		args := strings.Split(workgroupSizeRE.FindStringSubmatch(attr)[1], ",")
		for i, a := range args {
			a = strings.TrimSpace(a)
			args[i] = a
			if lit, ok := values[a]; ok {
				args[i] = strings.TrimRight(lit, "ui")
			} else if identRE.MatchString(a) {
				bad = fmt.Errorf("@workgroup_size(%s): %s must be an override or a literal", strings.Join(args, ","), a)
			}
		}
		return "@workgroup_size(" + strings.Join(args, ", ") + ")"
	})
	if bad != nil {
		return "", bad
	}
	return storageReadWriteRE.ReplaceAllString(src, "var<storage, read_write>"), nil
}

var storageReadWriteRE = regexp.MustCompile(`var\s*<\s*storage\s*(?:,\s*read\s*)?>`)

// literal formats v as a WGSL literal of type typ.
func literal(typ string, v float64) (string, error) {
	switch typ {
	case "u32":
		if v < 0 || v > math.MaxUint32 || v != math.Trunc(v) {
			return "", fmt.Errorf("%v is not a u32", v)
		}
		return strconv.FormatUint(uint64(v), 10) + "u", nil
	case "i32":
		if v < math.MinInt32 || v > math.MaxInt32 || v != math.Trunc(v) {
			return "", fmt.Errorf("%v is not an i32", v)
		}
		return strconv.FormatInt(int64(v), 10) + "i", nil
	case "f32":
		if math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v) > math.MaxFloat32 {
			return "", fmt.Errorf("%v is not a finite f32", v)
		}
		s := strconv.FormatFloat(v, 'g', -1, 32)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s + "f", nil
	case "bool":
		return strconv.FormatBool(v != 0), nil
	}
	return "", fmt.Errorf("unsupported override type %s", typ)
}

// BindingKind is how a shader declares a binding.
type BindingKind uint8

// Binding kinds, from `var<storage, read>`, `var<storage, read_write>`,
// `var<uniform>`, `var name: texture_2d<T>` (read with textureLoad, no
// sampler) and `var name: texture_storage_2d<F, read>` (see Texture).
const (
	ReadOnly BindingKind = iota
	ReadWrite
	UniformBinding
	SampledTexture
	StorageTextureRead
)

// BindingInfo is one `@group(0) @binding(N) var...` declaration.
type BindingInfo struct {
	Index int
	Name  string
	Kind  BindingKind
}

// binding is a BindingInfo with the texel format a texture binding takes:
// the declared format of a storage texture, the format of a sampled
// texture's sample type (f32: RGBA32Float, u32: RGBA32Uint).
type binding struct {
	BindingInfo
	format TextureFormat
}

// IsTexture reports whether the binding is a texture.
func (b BindingInfo) IsTexture() bool {
	return b.Kind == SampledTexture || b.Kind == StorageTextureRead
}

const bindingAttrs = `(?m)^\s*((?:@(?:group|binding)\(\s*\d+\s*\)\s*){2})var`

var (
	bindingRE  = regexp.MustCompile(bindingAttrs + `\s*<\s*(storage|uniform)\s*(?:,\s*(read|read_write)\s*)?>\s*([A-Za-z_][A-Za-z0-9_]*)`)
	sampledRE  = regexp.MustCompile(bindingAttrs + `\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*texture_2d\s*<\s*([a-z0-9]+)\s*>`)
	storageRE  = regexp.MustCompile(bindingAttrs + `\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*texture_storage_2d\s*<\s*([a-z0-9]+)\s*,\s*([a-z_]+)\s*>`)
	otherTexRE = regexp.MustCompile(bindingAttrs + `\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(texture_[a-z0-9_]+|sampler[a-z_]*)`)
	attrRE     = regexp.MustCompile(`@(group|binding)\(\s*(\d+)\s*\)`)
)

// bindingSlot reads the group and index attributes of a declaration.
func bindingSlot(attrs, name string) (int, error) {
	group, index := -1, -1
	for _, a := range attrRE.FindAllStringSubmatch(attrs, -1) {
		n, _ := strconv.Atoi(a[2])
		if a[1] == "group" {
			group = n
		} else {
			index = n
		}
	}
	if group != 0 {
		return 0, fmt.Errorf("binding %s is in group %d; gosig's kernels use group 0 only", name, group)
	}
	return index, nil
}

// parseBindings finds the shader's buffer and texture bindings; they must
// all be in group 0 and numbered 0..n-1.
func parseBindings(src string) ([]binding, error) {
	var out []binding
	for _, m := range bindingRE.FindAllStringSubmatch(src, -1) {
		index, err := bindingSlot(m[1], m[4])
		if err != nil {
			return nil, err
		}
		kind := UniformBinding
		if m[2] == "storage" {
			kind = ReadOnly
			if m[3] == "read_write" {
				kind = ReadWrite
			}
		}
		out = append(out, binding{BindingInfo: BindingInfo{Index: index, Name: m[4], Kind: kind}})
	}
	known := map[string]bool{}
	for _, m := range sampledRE.FindAllStringSubmatch(src, -1) {
		index, err := bindingSlot(m[1], m[2])
		if err != nil {
			return nil, err
		}
		var f TextureFormat
		switch m[3] {
		case "f32":
			f = RGBA32Float
		case "u32":
			f = RGBA32Uint
		default:
			return nil, fmt.Errorf("texture %s: texture_2d<%s> is not supported; use texture_2d<f32> or texture_2d<u32>", m[2], m[3])
		}
		known[m[2]] = true
		out = append(out, binding{BindingInfo{Index: index, Name: m[2], Kind: SampledTexture}, f})
	}
	for _, m := range storageRE.FindAllStringSubmatch(src, -1) {
		index, err := bindingSlot(m[1], m[2])
		if err != nil {
			return nil, err
		}
		var f TextureFormat
		switch m[3] {
		case "rgba32float":
			f = RGBA32Float
		case "rgba32uint":
			f = RGBA32Uint
		default:
			return nil, fmt.Errorf("texture %s: format %s is not supported; use rgba32float or rgba32uint", m[2], m[3])
		}
		if m[4] != "read" {
			return nil, fmt.Errorf("texture %s: access %s is not supported; gosig's kernels read storage textures only (read)", m[2], m[4])
		}
		known[m[2]] = true
		out = append(out, binding{BindingInfo{Index: index, Name: m[2], Kind: StorageTextureRead}, f})
	}
	for _, m := range otherTexRE.FindAllStringSubmatch(src, -1) {
		if !known[m[2]] {
			return nil, fmt.Errorf("binding %s: %s is not supported; gosig's kernels bind buffers, texture_2d<f32|u32> and texture_storage_2d<rgba32float|rgba32uint, read>", m[2], m[3])
		}
	}
	slices.SortFunc(out, func(a, b binding) int { return a.Index - b.Index })
	for i, b := range out {
		if b.Index != i {
			return nil, fmt.Errorf("bindings must be numbered 0..%d without gaps; found @binding(%d) for %s", len(out)-1, b.Index, b.Name)
		}
	}
	return out, nil
}

// Pipeline is a compiled compute pipeline with an explicit bind-group layout
// derived from the shader's declarations (so a binding the shader declares
// but does not use is still part of the layout).
type Pipeline struct {
	d        *Device
	label    string
	bindings []binding
	module   *wgpu.ShaderModule
	layout   *wgpu.BindGroupLayout
	pl       *wgpu.PipelineLayout
	pipeline *wgpu.ComputePipeline
}

// Label names the pipeline: the shader's name and its constants.
func (p *Pipeline) Label() string { return p.label }

// Bindings lists the shader's bindings in index order.
func (p *Pipeline) Bindings() []BindingInfo {
	out := make([]BindingInfo, len(p.bindings))
	for i, b := range p.bindings {
		out[i] = b.BindingInfo
	}
	return out
}

// Pipeline returns the compute pipeline for s, compiling it on first use and
// caching it by name, entry point and constants. Compilation and validation
// errors name the shader.
func (d *Device) Pipeline(s Shader) (*Pipeline, error) {
	key := s.key()
	if err := d.acquire(); err != nil {
		return nil, err
	}
	defer d.life.RUnlock()
	// Compiling under d.mu keeps two goroutines from compiling the same
	// shader; pipelines are few and compiled once.
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.pipelines[key]; ok {
		return p, nil
	}
	p, err := d.compile(s)
	if err != nil {
		return nil, fmt.Errorf("gpu: shader %s: %w", s.Label(), err)
	}
	d.pipelines[key] = p
	return p, nil
}

func (d *Device) compile(s Shader) (*Pipeline, error) {
	binds, err := parseBindings(s.Source)
	if err != nil {
		return nil, err
	}
	src, err := specialise(s)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{d: d, label: s.Label(), bindings: binds}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()
	p.module, err = d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
		Label:          s.Name,
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: src},
	})
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(binds, func(b binding) bool { return b.Kind == StorageTextureRead }) {
		// wgpu 0.17's C API has no read-only storage-texture access for
		// explicit layouts: let wgpu derive the layout from the shader.
		if !d.texRead {
			return nil, fmt.Errorf("it reads storage textures, which this adapter (%s) does not offer (wgpu's texture-adapter-specific-format-features)", d.info.Name)
		}
		p.pipeline, err = d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
			Label:   p.label,
			Compute: wgpu.ProgrammableStageDescriptor{Module: p.module, EntryPoint: s.entry()},
		})
		if err != nil {
			return nil, err
		}
		p.layout = p.pipeline.GetBindGroupLayout(0)
		ok = true
		return p, nil
	}
	entries := make([]wgpu.BindGroupLayoutEntry, len(binds))
	for i, b := range binds {
		entries[i] = wgpu.BindGroupLayoutEntry{Binding: uint32(i), Visibility: wgpu.ShaderStage_Compute}
		switch b.Kind {
		case SampledTexture:
			st := wgpu.TextureSampleType_UnfilterableFloat // rgba32float cannot be filtered
			if b.format == RGBA32Uint {
				st = wgpu.TextureSampleType_Uint
			}
			entries[i].Texture = wgpu.TextureBindingLayout{SampleType: st, ViewDimension: wgpu.TextureViewDimension_2D}
		case UniformBinding:
			entries[i].Buffer = wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform}
		default:
			// See Shader: all storage is read_write.
			entries[i].Buffer = wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Storage}
		}
	}
	p.layout, err = d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: p.label, Entries: entries})
	if err != nil {
		return nil, err
	}
	p.pl, err = d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{
		Label:            p.label,
		BindGroupLayouts: []*wgpu.BindGroupLayout{p.layout},
	})
	if err != nil {
		return nil, err
	}
	p.pipeline, err = d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Label:   p.label,
		Layout:  p.pl,
		Compute: wgpu.ProgrammableStageDescriptor{Module: p.module, EntryPoint: s.entry()},
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

func (p *Pipeline) release() {
	if p.pipeline != nil {
		p.pipeline.Release()
	}
	if p.pl != nil {
		p.pl.Release()
	}
	if p.layout != nil {
		p.layout.Release()
	}
	if p.module != nil {
		p.module.Release()
	}
}

// Binding is a buffer range, or a texture, bound to one of a shader's
// bindings. Size 0 means from Offset to the end of the buffer. A texture
// binding sets Texture only.
type Binding struct {
	Buffer  *Buffer
	Offset  uint64
	Size    uint64
	Texture *Texture
}

// BindGroup is a set of buffer ranges for one pipeline's bindings. Release
// it with the buffers it names; Close releases what is left.
type BindGroup struct {
	d     *Device
	bg    *wgpu.BindGroup
	label string
}

// Release frees the bind group; releasing twice does nothing.
func (g *BindGroup) Release() {
	d := g.d
	if d.acquire() != nil {
		return // Close has freed it
	}
	defer d.life.RUnlock()
	d.mu.Lock()
	_, live := d.groups[g]
	delete(d.groups, g)
	d.mu.Unlock()
	if live {
		g.bg.Release()
	}
}

// BindGroup binds one buffer range or texture to each of the shader's
// bindings, in binding order. It checks counts, usages, alignment and size limits itself
// so that a mistake names the shader and the binding.
func (p *Pipeline) BindGroup(bs ...Binding) (*BindGroup, error) {
	if len(bs) != len(p.bindings) {
		return nil, fmt.Errorf("gpu: shader %s has %d bindings, %d given", p.label, len(p.bindings), len(bs))
	}
	lim := p.d.limits
	entries := make([]wgpu.BindGroupEntry, len(bs))
	for i, b := range bs {
		info := p.bindings[i]
		if info.IsTexture() {
			if b.Texture == nil || b.Buffer != nil {
				return nil, fmt.Errorf("gpu: shader %s: binding %d (%s) is a %s texture: bind a Texture, not a buffer", p.label, i, info.Name, info.format)
			}
			if b.Texture.format != info.format {
				return nil, fmt.Errorf("gpu: shader %s: binding %d (%s) reads %s texels but texture %q is %s", p.label, i, info.Name, info.format, b.Texture.label, b.Texture.format)
			}
			entries[i] = wgpu.BindGroupEntry{Binding: uint32(i), TextureView: b.Texture.view}
			continue
		}
		if b.Texture != nil {
			return nil, fmt.Errorf("gpu: shader %s: binding %d (%s) is a buffer binding but was given texture %q", p.label, i, info.Name, b.Texture.label)
		}
		if b.Buffer == nil {
			return nil, fmt.Errorf("gpu: shader %s: binding %d (%s) has no buffer", p.label, i, info.Name)
		}
		size := b.Size
		if size == 0 {
			if b.Offset >= b.Buffer.size {
				return nil, fmt.Errorf("gpu: shader %s: binding %d (%s): offset %d is past the end of %q (%d bytes)", p.label, i, info.Name, b.Offset, b.Buffer.label, b.Buffer.size)
			}
			size = b.Buffer.size - b.Offset
		}
		size = align4(size)
		if b.Offset+size > b.Buffer.size {
			return nil, fmt.Errorf("gpu: shader %s: binding %d (%s): range [%d, %d) exceeds %q (%d bytes)", p.label, i, info.Name, b.Offset, b.Offset+size, b.Buffer.label, b.Buffer.size)
		}
		align, max := uint64(lim.MinStorageBufferOffsetAlignment), lim.MaxStorageBufferBindingSize
		if info.Kind == UniformBinding {
			align, max = uint64(lim.MinUniformBufferOffsetAlignment), lim.MaxUniformBufferBindingSize
			if b.Buffer.usage != Uniform {
				return nil, fmt.Errorf("gpu: shader %s: binding %d (%s) is a uniform but %q is a storage buffer", p.label, i, info.Name, b.Buffer.label)
			}
		} else if b.Buffer.usage != Storage {
			return nil, fmt.Errorf("gpu: shader %s: binding %d (%s) is a storage binding but %q is a uniform buffer", p.label, i, info.Name, b.Buffer.label)
		}
		if b.Offset%align != 0 {
			return nil, fmt.Errorf("gpu: shader %s: binding %d (%s): offset %d in %q is not a multiple of %d", p.label, i, info.Name, b.Offset, b.Buffer.label, align)
		}
		if size > max {
			return nil, fmt.Errorf("gpu: shader %s: binding %d (%s): %d MiB of %q exceed the adapter's binding limit of %d MiB: split the work (smaller batches)", p.label, i, info.Name, size>>20, b.Buffer.label, max>>20)
		}
		entries[i] = wgpu.BindGroupEntry{Binding: uint32(i), Buffer: b.Buffer.b, Offset: b.Offset, Size: size}
	}
	if err := p.d.acquire(); err != nil {
		return nil, err
	}
	defer p.d.life.RUnlock()
	bg, err := p.d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: p.label, Layout: p.layout, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("gpu: bind group for shader %s: %w", p.label, err)
	}
	g := &BindGroup{d: p.d, bg: bg, label: p.label}
	p.d.mu.Lock()
	p.d.groups[g] = struct{}{}
	p.d.mu.Unlock()
	return g, nil
}
