// Package shaders holds gosig's WGSL compute kernels and exposes them to Go
// through go:embed. Every *.wgsl file in this folder is embedded; each starts
// with a comment saying what it computes, its bindings, its workgroup size
// and its override constants.
//
// The kernels use `override` constants for sizes known when a plan is built
// (head dimension, tile sizes); package gpu specialises them in the source,
// since wgpu 0.17 cannot set them at pipeline creation.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.wgsl
var files embed.FS

// Source returns the WGSL text of the named shader ("layernorm.wgsl").
func Source(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("shaders: no shader %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return string(b), nil
}

// Names lists the embedded shaders, sorted.
func Names() []string {
	es, _ := fs.ReadDir(files, ".")
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// FS returns the embedded shader files.
func FS() fs.FS { return files }
