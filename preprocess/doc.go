// Package preprocess turns image files into the tensors that SigLIP and
// SigLIP 2 vision towers take, with the same numbers as Hugging Face's
// SiglipImageProcessor (FixRes) and Siglip2ImageProcessor (NaFlex).
//
// The pipeline is the one Hugging Face runs on top of PIL:
//
//	Decode           file bytes → 8-bit RGB (EXIF orientation applied, PIL's convert("RGB"))
//	NaFlex / FixRes  PIL-exact resize → rescale → normalise → patches or CHW
//
// Decoding: JPEG goes through gosig's own decoder, which reproduces
// libjpeg-turbo (PIL's JPEG library) bit for bit: the same integer inverse
// DCT, fancy chroma upsampling and YCbCr→RGB tables, for baseline and
// progressive files of any sampling. Neither jpegli nor the standard library
// does: they differ from PIL by up to 8 and 2 levels. Lossy WebP is decoded by
// golang.org/x/image/webp and converted with libwebp's upsampler, also exact.
// PNG, GIF (first frame), BMP and TIFF go through the Go standard library and
// golang.org/x/image. Everything is converted to RGB as PIL's
// Image.convert("RGB") does (alpha dropped, not composited; grayscale and
// palette expanded; 16-bit samples reduced the way PIL reduces them), after
// the EXIF orientation is applied as ImageOps.exif_transpose does.
//
// For bulk work, DecodeOptions.FastTarget decodes large JPEGs already shrunk
// by 1/2, 1/4 or 1/8 in the DCT domain: about half the CPU of the exact path
// (entropy decoding, which no scaling skips, is most of what remains), close
// to but not exactly Hugging Face's pixels.
//
// Resizing reproduces PIL's separable fixed-point resampler (Resample.c)
// bit for bit, so the uint8 pixels after resizing equal PIL's, and the float32
// values after rescaling and normalising equal Hugging Face's.
//
// Speed: on amd64 with AVX2, the JPEG inverse DCT, chroma upsampling and
// colour conversion and both resize passes run in assembly kernels that
// give the same bytes as their Go twins (the tests compare them; build with
// -tags purego for the Go code alone). Decode plus NaFlex at 256 patches of
// a 1920×1080 JPEG takes about 14 ms of one core, where Hugging Face's
// processor (PIL with libjpeg-turbo) takes about 15; Decode and NaFlex are
// safe to call from many goroutines at once, and their scratch buffers are
// pooled (BenchmarkDecodeNaFlex256).
//
// Always converting to RGB is a deliberate difference: converted SigLIP 2
// checkpoints leave do_convert_rgb unset, which makes Hugging Face fail on
// grayscale and RGBA input; gosig converts every image, which is what Hugging
// Face does whenever it works at all.
package preprocess
