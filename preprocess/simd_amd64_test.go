//go:build !purego

package preprocess

import "golang.org/x/sys/cpu"

// setAVX2 switches the AVX2 kernels on (where the CPU has AVX2) or off.
func setAVX2(on bool) { useAVX2 = on && cpu.X86.HasAVX2 }
