// Package safetensors reads and writes Hugging Face's safetensors format: an
// 8-byte little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian tensor bytes.
//
// Checkpoints (model.safetensors and sharded model.safetensors.index.json),
// the test fixtures and the CLI's outputs all use this format, which is why it
// is a package of its own rather than a part of siglip2.
//
// Files are memory-mapped where the platform allows it, so opening a 1.5 GB
// checkpoint costs only the header; tensors are read (and converted to the
// requested Go type) one at a time, on request. Every header is validated
// before any tensor is touched: known dtypes, non-negative shapes, byte
// lengths equal to the element count times the dtype size, byte ranges inside
// the data section and not overlapping. A file that fails any check is refused
// with an error naming the file, the tensor and the expected and found values.
//
// A File and an Index (a sharded checkpoint) both satisfy Reader, so code that
// loads weights need not care how a checkpoint was saved. File and Index are
// safe for concurrent reads; Close must not race with them.
package safetensors
