package gpu

/*
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

// The two wgpu-native entry points this file calls, declared here rather
// than through the binding, whose Go wrappers pass callbacks a pointer to a
// Go variable that the garbage collector may free before wgpu calls back.
typedef struct WGPUBufferImpl* WGPUBuffer;
typedef struct WGPUQueueImpl* WGPUQueue;
typedef void (*gosigCallback)(uint32_t status, void *userdata);
void wgpuBufferMapAsync(WGPUBuffer buffer, uint32_t mode, size_t offset, size_t size, gosigCallback callback, void *userdata);
void wgpuQueueOnSubmittedWorkDone(WGPUQueue queue, gosigCallback callback, void *userdata);

// gosig_store records a callback's status (+1, so 0 means "not yet") in C
// memory that Go polls.
static void gosig_store(uint32_t status, void *userdata) {
	*(volatile uint32_t *)userdata = status + 1;
}

static void gosig_map_async(WGPUBuffer b, uint32_t mode, size_t offset, size_t size, uint32_t *out) {
	wgpuBufferMapAsync(b, mode, offset, size, gosig_store, out);
}

static void gosig_on_done(WGPUQueue q, uint32_t *out) {
	wgpuQueueOnSubmittedWorkDone(q, gosig_store, out);
}

static uint32_t gosig_load(uint32_t *p) { return *(volatile uint32_t *)p; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Waiting for the GPU.
//
// wgpu 0.17's blocking poll (Device.Poll(true, …)) waits on the fence at most
// 5 s and then carries on as if the work were done: it frees resources the
// GPU is still using, and a long forward pass on a CPU adapter (lavapipe
// takes that long for a few SigLIP-base layers) crashes in the driver. So
// gosig never blocks in wgpu: it polls without waiting, and between polls
// yields, then sleeps with a growing back-off, leaving the cores to a CPU
// adapter's worker threads.

// rawRef returns the C handle a binding object wraps: Buffer and Queue are
// both {deviceRef, ref} in go-webgpu v0.17.1.
func rawRef[T wgpu.Buffer | wgpu.Queue](p *T) unsafe.Pointer {
	type pair struct{ device, ref unsafe.Pointer }
	return (*pair)(unsafe.Pointer(p)).ref
}

// callbackSlot is C memory a wgpu callback writes its status into.
type callbackSlot struct{ p *C.uint32_t }

func newSlot() callbackSlot {
	p := (*C.uint32_t)(C.malloc(4))
	*p = 0
	return callbackSlot{p}
}

// fired reports whether the callback ran, and with what status.
func (s callbackSlot) fired() (status uint32, ok bool) {
	v := uint32(C.gosig_load(s.p))
	return v - 1, v != 0
}

func (s callbackSlot) free() { C.free(unsafe.Pointer(s.p)) }

// wait polls the device until done reports true.
func (d *Device) wait(done func() bool) {
	sleep := 10 * time.Microsecond
	for i := 0; !done(); i++ {
		d.dev.Poll(false, nil)
		if done() {
			return
		}
		if i < 20 {
			runtime.Gosched()
			continue
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, time.Millisecond)
	}
}

// submitWait submits one command buffer and waits until the device has run
// it.
func (d *Device) submitWait(cb *wgpu.CommandBuffer) {
	d.queue.Submit(cb)
	s := newSlot()
	defer s.free()
	C.gosig_on_done((C.WGPUQueue)(rawRef(d.queue)), s.p)
	d.wait(func() bool { _, ok := s.fired(); return ok })
}

// mapRead maps size bytes of a staging buffer for reading and waits until
// they are mapped.
func (d *Device) mapRead(b *wgpu.Buffer, size uint64) error {
	s := newSlot()
	defer s.free()
	C.gosig_map_async((C.WGPUBuffer)(rawRef(b)), C.uint32_t(wgpu.MapMode_Read), 0, C.size_t(size), s.p)
	var status uint32
	d.wait(func() bool {
		var ok bool
		status, ok = s.fired()
		return ok
	})
	if st := wgpu.BufferMapAsyncStatus(status); st != wgpu.BufferMapAsyncStatus_Success {
		return fmt.Errorf("map failed: %s", st)
	}
	return nil
}
