//go:build !amd64 || purego

package preprocess

// setAVX2 does nothing where the AVX2 kernels are not built.
func setAVX2(bool) {}
