//go:build linux && !wayland

package viewer

// #cgo LDFLAGS: -lX11
// #include <stdlib.h>
// #include <X11/Xlib.h>
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

// CheckDisplay reports whether a window can be opened: $DISPLAY names an X
// server that accepts a connection. It runs before GLFW is initialised,
// because GLFW only logs a failed connection and then fails later.
func CheckDisplay() error {
	name := os.Getenv("DISPLAY")
	if name == "" {
		hint := ""
		if os.Getenv("WAYLAND_DISPLAY") != "" {
			hint = " (this is a Wayland session: the viewer needs XWayland, which sets DISPLAY)"
		}
		return fmt.Errorf("%w: DISPLAY is not set%s", ErrNoDisplay, hint)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	d := C.XOpenDisplay(cname)
	if d == nil {
		return fmt.Errorf("%w: cannot connect to the X server at DISPLAY=%s (is it running, and may this user connect? see xhost, XAUTHORITY)", ErrNoDisplay, name)
	}
	C.XCloseDisplay(d)
	return nil
}

// xSync waits until the X server has handled every request sent on
// display, so that a presented frame is on screen when it returns.
func xSync(display unsafe.Pointer) {
	if display != nil {
		C.XSync((*C.Display)(display), C.False)
	}
}
