package gpu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// AdapterType is the kind of device behind an adapter. Kernels pick their
// variants by it: CPU adapters want per-invocation register work, GPUs want
// workgroup-memory tiles.
type AdapterType uint8

// Adapter types. wgpu 0.17's C API has no separate "virtual GPU" type:
// virtual and other adapters report Unknown.
const (
	Unknown AdapterType = iota
	Discrete
	Integrated
	CPU
)

// String returns the type's name as `gosig devices` prints it.
func (t AdapterType) String() string {
	switch t {
	case Discrete:
		return "discrete"
	case Integrated:
		return "integrated"
	case CPU:
		return "cpu"
	}
	return "unknown"
}

// MarshalText writes the type's name, so JSON shows "cpu", not a number.
func (t AdapterType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Features lists the optional WebGPU features gosig cares about.
type Features struct {
	// ShaderF16 is the adapter's shader-f16 feature. gosig does not use it:
	// wgpu 0.17's WGSL front end cannot parse `enable f16;`, so f16 weights
	// are stored packed and read with unpack2x16float, which needs nothing.
	ShaderF16      bool `json:"shader_f16"`
	TimestampQuery bool `json:"timestamp_query"` // GPU timestamps for per-kernel timing
}

// Limits are the device limits gosig's kernels and buffers depend on.
type Limits struct {
	MaxBufferSize                     uint64 `json:"max_buffer_size"`
	MaxStorageBufferBindingSize       uint64 `json:"max_storage_buffer_binding_size"`
	MaxUniformBufferBindingSize       uint64 `json:"max_uniform_buffer_binding_size"`
	MinStorageBufferOffsetAlignment   uint32 `json:"min_storage_buffer_offset_alignment"`
	MinUniformBufferOffsetAlignment   uint32 `json:"min_uniform_buffer_offset_alignment"`
	MaxStorageBuffersPerShaderStage   uint32 `json:"max_storage_buffers_per_shader_stage"`
	MaxComputeWorkgroupStorageSize    uint32 `json:"max_compute_workgroup_storage_size"`
	MaxComputeInvocationsPerWorkgroup uint32 `json:"max_compute_invocations_per_workgroup"`
	MaxComputeWorkgroupSizeX          uint32 `json:"max_compute_workgroup_size_x"`
	MaxComputeWorkgroupsPerDimension  uint32 `json:"max_compute_workgroups_per_dimension"`
	MaxTextureDimension2D             uint32 `json:"max_texture_dimension_2d"`
}

func limitsFrom(l wgpu.Limits) Limits {
	return Limits{
		MaxBufferSize:                     l.MaxBufferSize,
		MaxStorageBufferBindingSize:       l.MaxStorageBufferBindingSize,
		MaxUniformBufferBindingSize:       l.MaxUniformBufferBindingSize,
		MinStorageBufferOffsetAlignment:   l.MinStorageBufferOffsetAlignment,
		MinUniformBufferOffsetAlignment:   l.MinUniformBufferOffsetAlignment,
		MaxStorageBuffersPerShaderStage:   l.MaxStorageBuffersPerShaderStage,
		MaxComputeWorkgroupStorageSize:    l.MaxComputeWorkgroupStorageSize,
		MaxComputeInvocationsPerWorkgroup: l.MaxComputeInvocationsPerWorkgroup,
		MaxComputeWorkgroupSizeX:          l.MaxComputeWorkgroupSizeX,
		MaxComputeWorkgroupsPerDimension:  l.MaxComputeWorkgroupsPerDimension,
		MaxTextureDimension2D:             l.MaxTextureDimension2D,
	}
}

// AdapterInfo describes one adapter: what it is, its driver, backend,
// features and limits.
type AdapterInfo struct {
	Name         string      `json:"name"`
	Vendor       string      `json:"vendor,omitempty"` // vendor name where the driver reports one
	VendorID     uint32      `json:"vendor_id"`
	DeviceID     uint32      `json:"device_id"`
	Architecture string      `json:"architecture,omitempty"`
	Driver       string      `json:"driver,omitempty"` // driver description, e.g. "Mesa 22.3.6 (LLVM 15.0.6)"
	Type         AdapterType `json:"type"`
	Backend      string      `json:"backend"` // vulkan, metal, dx12, dx11, gl
	Features     Features    `json:"features"`
	Limits       Limits      `json:"limits"`
}

// SIMDLanes returns the number of 32-bit lanes in one SIMD vector of a CPU
// adapter that states it in its name, as lavapipe does ("llvmpipe (LLVM
// 15.0.6, 256 bits)": 8; Mesa's LP_NATIVE_VECTOR_WIDTH=512 makes it 16),
// else 0. Kernels for CPU adapters size their workgroups by it: lavapipe
// runs the invocations of a workgroup as the lanes of such vectors.
func (a AdapterInfo) SIMDLanes() int {
	if a.Type != CPU {
		return 0
	}
	m := simdBitsRE.FindStringSubmatch(a.Name)
	if m == nil {
		return 0
	}
	bits, _ := strconv.Atoi(m[1])
	return bits / 32
}

var simdBitsRE = regexp.MustCompile(`\b(128|256|512) bits\)`)

// String is a one-line summary: name, type, backend, driver.
func (a AdapterInfo) String() string {
	s := fmt.Sprintf("%s (%s, %s", a.Name, a.Type, a.Backend)
	if a.Driver != "" {
		s += ", " + a.Driver
	}
	return s + ")"
}

func backendName(t wgpu.BackendType) string {
	switch t {
	case wgpu.BackendType_Vulkan:
		return "vulkan"
	case wgpu.BackendType_Metal:
		return "metal"
	case wgpu.BackendType_D3D12:
		return "dx12"
	case wgpu.BackendType_D3D11:
		return "dx11"
	case wgpu.BackendType_OpenGL, wgpu.BackendType_OpenGLES:
		return "gl"
	}
	return strings.ToLower(t.String())
}

func adapterInfo(a *wgpu.Adapter) AdapterInfo {
	p := a.GetProperties()
	info := AdapterInfo{
		Name:         p.Name,
		Vendor:       p.VendorName,
		VendorID:     p.VendorId,
		DeviceID:     p.DeviceId,
		Architecture: p.Architecture,
		Driver:       p.DriverDescription,
		Backend:      backendName(p.BackendType),
		Limits:       limitsFrom(a.GetLimits().Limits),
	}
	switch p.AdapterType {
	case wgpu.AdapterType_DiscreteGPU:
		info.Type = Discrete
	case wgpu.AdapterType_IntegratedGPU:
		info.Type = Integrated
	case wgpu.AdapterType_CPU:
		info.Type = CPU
	}
	info.Features.ShaderF16 = a.HasFeature(wgpu.FeatureName_ShaderF16)
	info.Features.TimestampQuery = a.HasFeature(wgpu.FeatureName_TimestampQuery)
	return info
}
