package viewer

import (
	"errors"
	"image"
)

// ErrNoDisplay means there is no X11 display to open a window on: DISPLAY
// is unset or its server cannot be reached (or the build has no X11
// support). Render works without one.
var ErrNoDisplay = errors.New("no X11 display")

// WindowOptions configure Run.
type WindowOptions struct {
	// Initial is the state the window opens in; nil means NewState().
	Initial *State
	// SaveDir is where the S key writes PNGs; empty means the current
	// directory.
	SaveDir string
	// Pos places the window's top-left corner on the screen; nil lets the
	// window manager choose.
	Pos *image.Point
	// OnPresent, when set, is called after each frame is on screen (the X
	// server has drawn it), with what it shows and where: automation and
	// tests use it to know when to take a screenshot.
	OnPresent func(Presented)
}

// Presented describes a frame the window has put on screen.
type Presented struct {
	// State is what the frame shows.
	State State
	// Window is the window's content area on the screen.
	Window image.Rectangle
	// Framebuffer is the swap chain's size in pixels.
	Framebuffer image.Point
}
