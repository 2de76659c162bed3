// Package preprocess turns image files into the tensors that SigLIP and
// SigLIP 2 vision towers take, with the same numbers as Hugging Face's
// SiglipImageProcessor (FixRes) and Siglip2ImageProcessor (NaFlex).
//
// The pipeline is the one Hugging Face runs on top of PIL:
//
//	Decode           file bytes → 8-bit RGB (EXIF orientation applied, PIL's convert("RGB"))
//	NaFlex / FixRes  PIL-exact resize → rescale → normalise → patches or CHW
//
// Decoding: JPEG goes through jpegli (github.com/gen2brain/jpegli) with the
// chroma upsampling and YCbCr→RGB conversion of libjpeg-turbo done here, so
// the result differs from PIL's only by the IDCT rounding of two conforming
// decoders; PNG, GIF (first frame), WebP, BMP and TIFF go through the Go
// standard library and golang.org/x/image, converted to RGB as PIL's
// Image.convert("RGB") does (alpha dropped, not composited; grayscale and
// palette expanded; 16-bit samples reduced the way PIL reduces them).
//
// Resizing reproduces PIL's separable fixed-point resampler (Resample.c)
// bit for bit, so the uint8 pixels after resizing equal PIL's, and the float32
// values after rescaling and normalising equal Hugging Face's.
//
// Always converting to RGB is a deliberate difference: converted SigLIP 2
// checkpoints leave do_convert_rgb unset, which makes Hugging Face fail on
// grayscale and RGBA input; gosig converts every image, which is what Hugging
// Face does whenever it works at all.
package preprocess
