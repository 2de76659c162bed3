// Package gpu is a small layer over WebGPU (wgpu-native through
// github.com/rajveermalviya/go-webgpu) for compute work: it opens a device on a
// chosen backend and adapter, creates buffers, compiles WGSL into a cache of
// compute pipelines, records many dispatches into one command encoder, submits
// once, reads back only what is asked, and times dispatches with timestamp
// queries where the adapter has them.
//
// It knows nothing of graphs or models. Every wgpu validation or shader
// compilation error comes back as a Go error naming the shader or buffer it
// concerns, and every object is released by Close.
//
// Environment variables (an Options field, when set, wins):
//
//	GOSIG_BACKEND   vulkan | metal | dx12 | gl (default vulkan; metal on macOS)
//	GOSIG_ADAPTER   a case-insensitive substring of the adapter name to use
//	GOSIG_WGPU_LOG  wgpu's log level: off | error (default) | warn | info | debug | trace
//
// and one of Mesa's: on x86 CPUs with AVX-512, gosig sets
// LP_NATIVE_VECTOR_WIDTH=512 when it is unset, before the first adapter is
// enumerated, so that lavapipe (Mesa's Vulkan driver on the CPU) compiles
// kernels for 16-lane vectors instead of its default 8: SigLIP2-base's
// vision tower then ran 1.2–1.45× as fast (gosig bench vision, same
// machine, same hour). Kernels for CPU adapters size their workgroups by
// AdapterInfo.SIMDLanes. Set LP_NATIVE_VECTOR_WIDTH=256 to keep Mesa's
// default; processes that draw keep it (KeepLavapipeWidth).
package gpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"golang.org/x/sys/cpu"
)

// PowerPreference says which kind of adapter to prefer when several are
// present and none is named.
type PowerPreference uint8

// Power preferences. The default prefers a discrete GPU, then an integrated
// one, and a CPU adapter (lavapipe, WARP, SwiftShader) last.
const (
	HighPerformance PowerPreference = iota
	LowPower                        // integrated before discrete
)

// Options choose the backend and adapter a device is opened on.
type Options struct {
	// Backend is vulkan, metal, dx12 or gl; empty means $GOSIG_BACKEND, then
	// vulkan (metal on macOS).
	Backend string
	// Adapter is a case-insensitive substring of the adapter's name; empty
	// means $GOSIG_ADAPTER, then the best adapter for Power.
	Adapter string
	// Power ranks adapters when none is named.
	Power PowerPreference
	// NoTimestamps leaves the timestamp-query feature off even where the
	// adapter has it.
	NoTimestamps bool
	// Label names the device in wgpu's messages.
	Label string
}

// Device is an open WebGPU device with its queue, a pipeline cache and a
// pool of staging buffers. Its methods are safe for concurrent use; a
// Recorder is not.
type Device struct {
	info     AdapterInfo
	limits   Limits
	tsQuery  bool
	texRead  bool // read-only storage textures are available
	instance *wgpu.Instance
	adapter  *wgpu.Adapter
	dev      *wgpu.Device
	queue    *wgpu.Queue

	// life is read-locked by every call that uses the wgpu device and
	// write-locked by Close, so that Close never frees what a call uses.
	life   sync.RWMutex
	closed bool

	mu        sync.Mutex // guards the maps and pools below
	pipelines map[string]*Pipeline
	buffers   map[*Buffer]struct{}    // live buffers, released by Close
	textures  map[*Texture]struct{}   // live textures, released by Close
	groups    map[*BindGroup]struct{} // live bind groups, released by Close
	staging   []*wgpu.Buffer          // idle readback buffers
	tsPeriod  float64                 // ns per timestamp tick, 0 until calibrated
}

// Backend names as Options.Backend and GOSIG_BACKEND spell them.
var backends = map[string]wgpu.InstanceBackend{
	"vulkan": wgpu.InstanceBackend_Vulkan,
	"metal":  wgpu.InstanceBackend_Metal,
	"dx12":   wgpu.InstanceBackend_DX12,
	"gl":     wgpu.InstanceBackend_GL,
}

func defaultBackend() string {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return "metal"
	}
	return "vulkan"
}

// resolve fills the options from the environment and defaults.
func (o Options) resolve() (Options, wgpu.InstanceBackend, error) {
	if o.Backend == "" {
		o.Backend = os.Getenv("GOSIG_BACKEND")
	}
	if o.Backend == "" {
		o.Backend = defaultBackend()
	}
	o.Backend = strings.ToLower(o.Backend)
	be, ok := backends[o.Backend]
	if !ok {
		return o, 0, fmt.Errorf("gpu: unknown backend %q (GOSIG_BACKEND or --backend): use vulkan, metal, dx12 or gl", o.Backend)
	}
	if o.Adapter == "" {
		o.Adapter = os.Getenv("GOSIG_ADAPTER")
	}
	return o, be, nil
}

var logOnce, widthOnce sync.Once

// lavapipeWidth sets LP_NATIVE_VECTOR_WIDTH=512 for lavapipe on CPUs with
// AVX-512 when the variable is unset (see the package documentation). Mesa
// reads it once, when the first instance loads the driver.
func lavapipeWidth() {
	widthOnce.Do(func() {
		if _, set := os.LookupEnv("LP_NATIVE_VECTOR_WIDTH"); set || !cpu.X86.HasAVX512F {
			return
		}
		envMu.Lock()
		defer envMu.Unlock()
		os.Setenv("LP_NATIVE_VECTOR_WIDTH", "512")
		setWidth = true
	})
}

// KeepLavapipeWidth keeps lavapipe at Mesa's default vector width in this
// process, instead of the 512 bits gosig asks for on AVX-512 CPUs (see the
// package documentation). A process that draws calls it before it opens
// its first device: Mesa 22.3's LLVM 15 crashes the process (SIGSEGV in
// its EarlyCSE pass, on a driver thread, so Go cannot recover) compiling
// gosig's viewer shader at 512 bits. It reports false when it is too late:
// a device was already opened with the variable set by gosig.
func KeepLavapipeWidth() bool {
	kept := true
	widthOnce.Do(func() {}) // from now on, lavapipeWidth does nothing
	envMu.Lock()
	defer envMu.Unlock()
	if setWidth {
		kept = false
	}
	return kept
}

// setWidth records that lavapipeWidth set LP_NATIVE_VECTOR_WIDTH.
var setWidth bool

// setLogLevel quiets wgpu-native's logger (it warns "No config found!" on
// every instance) unless GOSIG_WGPU_LOG asks for more. Errors are still
// returned through error scopes whatever the level.
func setLogLevel() {
	logOnce.Do(func() {
		level := wgpu.LogLevel_Error
		switch strings.ToLower(os.Getenv("GOSIG_WGPU_LOG")) {
		case "off":
			level = wgpu.LogLevel_Off
		case "warn":
			level = wgpu.LogLevel_Warn
		case "info":
			level = wgpu.LogLevel_Info
		case "debug":
			level = wgpu.LogLevel_Debug
		case "trace":
			level = wgpu.LogLevel_Trace
		}
		wgpu.SetLogLevel(level)
	})
}

// envMu serialises quietWayland's changes to the process environment.
var envMu sync.Mutex

// quietWayland runs f with XDG_RUNTIME_DIR pointing at an empty private
// directory when it is unset or invalid and no Wayland display is named.
// Mesa's Vulkan drivers probe for a Wayland compositor while enumerating
// adapters, and libwayland prints "XDG_RUNTIME_DIR is invalid or not set"
// to stderr on every probe when the variable is missing; with no display to
// reach, pointing it at an empty directory changes nothing but the noise.
func quietWayland(f func()) {
	envMu.Lock()
	defer envMu.Unlock()
	xdg, wl := os.Getenv("XDG_RUNTIME_DIR"), os.Getenv("WAYLAND_DISPLAY")
	if strings.HasPrefix(xdg, "/") || wl != "" || runtime.GOOS != "linux" {
		f()
		return
	}
	dir, err := os.MkdirTemp("", "gosig-xdg-")
	if err != nil {
		f()
		return
	}
	defer os.Remove(dir)
	old, had := os.LookupEnv("XDG_RUNTIME_DIR")
	os.Setenv("XDG_RUNTIME_DIR", dir)
	defer func() {
		if had {
			os.Setenv("XDG_RUNTIME_DIR", old)
		} else {
			os.Unsetenv("XDG_RUNTIME_DIR")
		}
	}()
	f()
}

// installHint says what to install when no adapter is found.
func installHint(backend string) string {
	switch backend {
	case "vulkan":
		return "install a Vulkan driver and loader (on Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1, " +
			"which includes lavapipe, a Vulkan driver that runs on the CPU; `make setup` does it), " +
			"or choose another backend with GOSIG_BACKEND=gl"
	case "gl":
		return "install an OpenGL ES driver (on Debian/Ubuntu: apt-get install libegl1 libgles2 libegl-mesa0), or use GOSIG_BACKEND=vulkan"
	case "metal":
		return "Metal needs macOS 10.13 or later on hardware with a Metal GPU"
	case "dx12":
		return "DirectX 12 needs Windows 10 or later with a D3D12 driver; try GOSIG_BACKEND=vulkan"
	}
	return "check the GPU driver"
}

// Adapters lists the adapters the backend of opts offers (opts.Adapter is
// ignored), for `gosig devices` and for choosing one by name.
func Adapters(opts Options) ([]AdapterInfo, error) {
	_, be, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	setLogLevel()
	lavapipeWidth()
	var infos []AdapterInfo
	quietWayland(func() {
		inst := wgpu.CreateInstance(&wgpu.InstanceDescriptor{Backends: be})
		defer inst.Release()
		for _, a := range inst.EnumerateAdapters(&wgpu.InstanceEnumerateAdapterOptons{Backends: be}) {
			infos = append(infos, adapterInfo(a))
			a.Release()
		}
	})
	return infos, nil
}

// rank orders adapter types by preference: lower is better.
func rank(t AdapterType, p PowerPreference) int {
	order := []AdapterType{Discrete, Integrated, Unknown, CPU}
	if p == LowPower {
		order = []AdapterType{Integrated, Discrete, Unknown, CPU}
	}
	return slices.Index(order, t)
}

// Open opens a device on the adapter opts choose. With no adapter on the
// backend the error says which driver to install; with no adapter matching
// the name it lists the ones there are.
func Open(opts Options) (*Device, error) {
	opts, be, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	setLogLevel()
	lavapipeWidth()
	var d *Device
	quietWayland(func() { d, err = open(opts, be) })
	return d, err
}

func open(opts Options, be wgpu.InstanceBackend) (*Device, error) {
	inst := wgpu.CreateInstance(&wgpu.InstanceDescriptor{Backends: be})
	adapters := inst.EnumerateAdapters(&wgpu.InstanceEnumerateAdapterOptons{Backends: be})
	if len(adapters) == 0 {
		inst.Release()
		return nil, fmt.Errorf("gpu: no WebGPU adapter on the %s backend: %s", opts.Backend, installHint(opts.Backend))
	}
	infos := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		infos[i] = adapterInfo(a)
	}
	pick := -1
	if opts.Adapter != "" {
		want := strings.ToLower(opts.Adapter)
		for i, info := range infos {
			if strings.Contains(strings.ToLower(info.Name), want) {
				pick = i
				break
			}
		}
	} else {
		for i, info := range infos {
			if pick < 0 || rank(info.Type, opts.Power) < rank(infos[pick].Type, opts.Power) {
				pick = i
			}
		}
	}
	for i, a := range adapters {
		if i != pick {
			a.Release()
		}
	}
	if pick < 0 {
		inst.Release()
		var names []string
		for _, info := range infos {
			names = append(names, fmt.Sprintf("%q (%s)", info.Name, info.Type))
		}
		return nil, fmt.Errorf("gpu: no %s adapter's name contains %q (GOSIG_ADAPTER or --adapter); there are: %s",
			opts.Backend, opts.Adapter, strings.Join(names, ", "))
	}
	adapter, info := adapters[pick], infos[pick]

	// Ask for everything the adapter allows: SigLIP's weights reach hundreds
	// of megabytes per tensor, far above WebGPU's default limits.
	limits := adapter.GetLimits().Limits
	// shader-f16 is not requested: naga 0.13 (wgpu 0.17) cannot parse
	// `enable f16;`. Packed f16 data is read with unpack2x16float instead.
	var features []wgpu.FeatureName
	ts := info.Features.TimestampQuery && !opts.NoTimestamps
	if ts {
		features = append(features, wgpu.FeatureName_TimestampQuery)
	}
	// Read-only storage textures (texture_storage_2d<F, read>) need wgpu's
	// native adapter-specific-format-features feature; kernels that read
	// operands through textures ask for them only where it was granted.
	storageRead := adapter.HasFeature(featureTextureAdapterSpecificFormatFeatures)
	if storageRead {
		features = append(features, featureTextureAdapterSpecificFormatFeatures)
	}
	label := opts.Label
	if label == "" {
		label = "gosig"
	}
	dev, err := adapter.RequestDevice(&wgpu.DeviceDescriptor{
		Label:            label,
		RequiredFeatures: features,
		RequiredLimits:   &wgpu.RequiredLimits{Limits: limits},
	})
	if err != nil {
		adapter.Release()
		inst.Release()
		return nil, fmt.Errorf("gpu: open a device on %q (%s): %w", info.Name, opts.Backend, err)
	}
	d := &Device{
		info:      info,
		limits:    limitsFrom(dev.GetLimits().Limits),
		tsQuery:   ts,
		texRead:   storageRead,
		instance:  inst,
		adapter:   adapter,
		dev:       dev,
		queue:     dev.GetQueue(),
		pipelines: map[string]*Pipeline{},
		buffers:   map[*Buffer]struct{}{},
		textures:  map[*Texture]struct{}{},
		groups:    map[*BindGroup]struct{}{},
	}
	return d, nil
}

// Info describes the adapter the device was opened on.
func (d *Device) Info() AdapterInfo { return d.info }

// Limits returns the limits the device was granted (the adapter's).
func (d *Device) Limits() Limits { return d.limits }

// HasTimestamps reports whether Recorder.Time can time dispatches.
func (d *Device) HasTimestamps() bool { return d.tsQuery }

// errClosed is returned by every call on a closed device.
var errClosed = errors.New("gpu: device is closed")

// acquire read-locks the device for a call; it fails once Close has run.
// The caller calls d.life.RUnlock.
func (d *Device) acquire() error {
	d.life.RLock()
	if d.closed {
		d.life.RUnlock()
		return errClosed
	}
	return nil
}

// Close releases every pipeline, bind group, buffer and staging buffer
// still alive, then the queue, the device, the adapter and the instance.
// Nothing created by the device may be used afterwards (Release calls are
// harmless no-ops). Close is idempotent.
func (d *Device) Close() error {
	d.life.Lock()
	defer d.life.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	for _, p := range d.pipelines {
		p.release()
	}
	d.pipelines = nil
	for g := range d.groups {
		g.bg.Release()
	}
	d.groups = nil
	for b := range d.buffers {
		b.free()
	}
	d.buffers = nil
	for t := range d.textures {
		t.free()
	}
	d.textures = nil
	for _, s := range d.staging {
		s.Release()
	}
	d.staging = nil
	// Let wgpu finish and free what the released objects still hold.
	d.dev.Poll(true, nil)
	d.queue.Release()
	d.dev.Release()
	d.adapter.Release()
	d.instance.Release()
	return nil
}
