// Package viewer shows where a SigLIP model looks: the image as the model
// saw it (NaFlex-resized), its patch grid, and the pooling head's attention
// over the patches (per head, or the mean over heads) as a heat map with a
// colour bar, next to the label scores.
//
// The picture is drawn by one WGSL render shader (shaders/viewer.wgsl) on
// the same WebGPU device the model runs on, either into a GLFW window's
// surface (Run, X11 only) or into an offscreen texture read back to a PNG
// (Render). Both draw the same canvas from the same State, so a window at
// its natural size and a PNG at scale 1 have the same pixels.
//
// The window needs the main OS thread (GLFW's rule): importing the package
// locks the main goroutine to it, and Run must be called from main's
// goroutine.
//
// On lavapipe (Mesa's Vulkan on the CPU), call gpu.KeepLavapipeWidth before
// the process opens its first device: at the 512-bit vectors gosig
// otherwise asks for on AVX-512 CPUs, Mesa 22.3's LLVM crashes compiling the
// viewer's shader. gosig attn and gosig view do.
package viewer
