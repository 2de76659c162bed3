package viewer

import "math"

// State is what the user has chosen to see: which image and head, how the
// heat map is drawn, and which patch the pointer is over. The window and
// the headless renderer draw the same picture from the same State.
type State struct {
	// Image is the index of the image shown.
	Image int
	// Head is the attention head shown, 0-based; -1 shows the mean over
	// heads.
	Head int
	// Opacity is the heat map's opacity over the image, 0 to 1.
	Opacity float32
	// Grid draws the patch grid.
	Grid bool
	// Hover is the patch under the pointer (row·GridW + column), or -1.
	Hover int
	// Status is a one-line message for the footer (what was saved, an
	// error); empty shows the key help in a window, a note on what the
	// map is in an export.
	Status string
	// Interactive says the picture is in a window (Run sets it): the footer
	// then offers the keys and the pointer read-out.
	Interactive bool
}

// DefaultOpacity is the heat map's opacity when none is given.
const DefaultOpacity = 0.6

// NewState returns the state a viewer starts in: the first image, the mean
// over heads, the default opacity, no grid.
func NewState() State {
	return State{Head: -1, Opacity: DefaultOpacity, Hover: -1}
}

// Action is something a key does.
type Action int

// The viewer's actions; the window binds keys to them (see Keys).
const (
	NoAction Action = iota
	NextHead
	PrevHead
	MeanHeads
	OpacityUp
	OpacityDown
	ToggleGrid
	NextImage
	PrevImage
	Save
	Quit
)

// opacityStep is how much OpacityUp and OpacityDown change the opacity.
const opacityStep = 0.1

// Apply changes the state as action a says, for a frame with heads heads in
// a list of images images long. Head steps cycle mean → 1 → … → heads →
// mean; image steps wrap around. Save and Quit leave the state as it is
// (the caller acts on them). It reports whether the picture changes.
func (s *State) Apply(a Action, heads, images int) bool {
	old := *s
	switch a {
	case NextHead:
		s.Head++
		if s.Head >= heads {
			s.Head = -1
		}
	case PrevHead:
		s.Head--
		if s.Head < -1 {
			s.Head = heads - 1
		}
	case MeanHeads:
		s.Head = -1
	case OpacityUp:
		s.Opacity = stepOpacity(s.Opacity, +opacityStep)
	case OpacityDown:
		s.Opacity = stepOpacity(s.Opacity, -opacityStep)
	case ToggleGrid:
		s.Grid = !s.Grid
	case NextImage, PrevImage:
		if images > 0 {
			d := 1
			if a == PrevImage {
				d = images - 1
			}
			s.Image = (s.Image + d) % images
		}
	}
	if s.Image != old.Image || s.Head != old.Head {
		s.Status = ""
	}
	return *s != old
}

// SelectHead shows head h (0-based) when the frame has it.
func (s *State) SelectHead(h, heads int) bool {
	if h < 0 || h >= heads || h == s.Head {
		return false
	}
	s.Head = h
	return true
}

// stepOpacity moves o by d, clamped to [0, 1] and rounded to a tenth so that
// repeated steps land on round values.
func stepOpacity(o, d float32) float32 {
	v := math.Round(float64(o+d)*10) / 10
	return float32(min(max(v, 0), 1))
}
