package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// Index is a sharded checkpoint: a model.safetensors.index.json whose
// weight_map names, for every tensor, the shard file holding it. All shards
// are opened (and validated) by OpenIndex.
type Index struct {
	path     string
	shards   map[string]*File // by file name as written in weight_map
	byName   map[string]*File
	names    []string
	metadata map[string]string
}

// OpenIndex opens a model.safetensors.index.json and every shard it names
// (paths relative to the index's folder). A tensor named by weight_map but
// absent from its shard is an error; tensors a shard holds beyond the map are
// ignored, as transformers loads only mapped keys.
func OpenIndex(path string) (*Index, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors index: %w", err)
	}
	var doc struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap map[string]string          `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("safetensors index %s: not a {\"metadata\", \"weight_map\"} JSON object: %w", path, err)
	}
	if len(doc.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors index %s: weight_map is missing or empty", path)
	}
	ix := &Index{path: path, shards: map[string]*File{}, byName: map[string]*File{}}
	if len(doc.Metadata) > 0 {
		ix.metadata = make(map[string]string, len(doc.Metadata))
		for k, v := range doc.Metadata {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v) // e.g. "total_size": 1234 is a number
			}
			ix.metadata[k] = s
		}
	}
	dir := filepath.Dir(path)
	for _, name := range slices.Sorted(maps.Keys(doc.WeightMap)) {
		shard := doc.WeightMap[name]
		if !filepath.IsLocal(shard) {
			ix.Close()
			return nil, fmt.Errorf("safetensors index %s: tensor %q maps to %q, which is not a file inside %s", path, name, shard, dir)
		}
		f, ok := ix.shards[shard]
		if !ok {
			f, err = Open(filepath.Join(dir, shard))
			if err != nil {
				ix.Close()
				return nil, fmt.Errorf("safetensors index %s: shard of %q: %w", path, name, err)
			}
			ix.shards[shard] = f
		}
		if _, ok := f.hdr.tensors[name]; !ok {
			ix.Close()
			return nil, fmt.Errorf("safetensors index %s: weight_map puts %q in %s, which does not hold it: %w", path, name, f.path, ErrNotFound)
		}
		ix.byName[name] = f
		ix.names = append(ix.names, name)
	}
	return ix, nil
}

// Path returns the index file's path.
func (ix *Index) Path() string { return ix.path }

// Shards returns the shard file paths, sorted.
func (ix *Index) Shards() []string {
	out := make([]string, 0, len(ix.shards))
	for _, f := range ix.shards {
		out = append(out, f.path)
	}
	slices.Sort(out)
	return out
}

// Names returns the tensor names of the weight map, sorted.
func (ix *Index) Names() []string { return slices.Clone(ix.names) }

// Info returns the named tensor's header entry from its shard.
func (ix *Index) Info(name string) (TensorInfo, bool) {
	f, ok := ix.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Metadata returns the index's "metadata" object, non-string values (such as
// total_size) given as their JSON text.
func (ix *Index) Metadata() map[string]string { return maps.Clone(ix.metadata) }

func (ix *Index) shard(name string) (*File, error) {
	f, ok := ix.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w: %q", ix.path, ErrNotFound, name)
	}
	return f, nil
}

// Bytes returns the named tensor's raw bytes from its shard's memory map.
func (ix *Index) Bytes(name string) ([]byte, error) {
	f, err := ix.shard(name)
	if err != nil {
		return nil, err
	}
	return f.Bytes(name)
}

// Float32 returns the named tensor converted to float32, and its shape.
func (ix *Index) Float32(name string) ([]float32, []int, error) {
	return fromShard(ix, name, (*File).Float32)
}

// Int64 returns the named integer tensor widened to int64, and its shape.
func (ix *Index) Int64(name string) ([]int64, []int, error) {
	return fromShard(ix, name, (*File).Int64)
}

// Int32 returns the named integer tensor as int32, and its shape.
func (ix *Index) Int32(name string) ([]int32, []int, error) {
	return fromShard(ix, name, (*File).Int32)
}

// Uint8 returns the named U8 or BOOL tensor, and its shape.
func (ix *Index) Uint8(name string) ([]uint8, []int, error) {
	return fromShard(ix, name, (*File).Uint8)
}

// fromShard reads name with get from the shard that holds it.
func fromShard[T any](ix *Index, name string, get func(*File, string) ([]T, []int, error)) ([]T, []int, error) {
	f, err := ix.shard(name)
	if err != nil {
		return nil, nil, err
	}
	return get(f, name)
}

// Close closes every shard.
func (ix *Index) Close() error {
	var errs []error
	for _, f := range ix.shards {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
