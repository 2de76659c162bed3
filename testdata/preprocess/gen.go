//go:build ignore

// gen extracts the preprocessing tensors the preprocess tests need from the
// reference fixtures in ../../../shared/fixtures (made by Hugging Face's
// image processors; see each fixture's manifest.json) into
// expected.safetensors here, so the tests run without /work/shared.
//
//	go run ./testdata/preprocess/gen.go [-fixtures DIR]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gosig/gosig/safetensors"
)

func main() {
	dir := flag.String("fixtures", "/work/shared/fixtures", "folder holding the reference fixtures")
	out := flag.String("out", "testdata/preprocess/expected.safetensors", "file to write")
	flag.Parse()
	var tensors []safetensors.Tensor
	meta := map[string]string{}
	add := func(fixture, key string) {
		f, err := safetensors.Open(filepath.Join(*dir, fixture, "expected.safetensors"))
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		info, ok := f.Info(key)
		if !ok {
			log.Fatalf("%s: no tensor %s", fixture, key)
		}
		raw, err := f.Bytes(key)
		if err != nil {
			log.Fatal(err)
		}
		tensors = append(tensors, safetensors.Tensor{Name: fixture + "/" + key, DType: info.DType, Shape: info.Shape, Data: append([]byte(nil), raw...)}) // copied: raw lives in the map Close releases
	}
	for _, fx := range []string{"siglip2_tiny_p16", "siglip2_odd_p14", "siglip2_tiny_p16_cls"} {
		var m struct {
			Runs []struct {
				MaxNumPatches int   `json:"max_num_patches"`
				Images        []int `json:"images"`
			} `json:"runs"`
		}
		b, err := os.ReadFile(filepath.Join(*dir, fx, "manifest.json"))
		if err != nil {
			log.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			log.Fatal(err)
		}
		for _, r := range m.Runs {
			p := fmt.Sprintf("naflex.mnp%d.", r.MaxNumPatches)
			for _, k := range []string{"pixel_values_u8", "pixel_attention_mask", "spatial_shapes"} {
				add(fx, p+k)
			}
			imgs, _ := json.Marshal(r.Images)
			meta[fx+"/"+p+"images"] = string(imgs)
		}
	}
	add("siglip_tiny_fixres", "fixres.pixel_values")
	add("siglip_tiny_fixres", "image.3.decoded_rgb_u8")
	if err := safetensors.WriteFile(*out, tensors, meta); err != nil {
		log.Fatal(err)
	}
}
