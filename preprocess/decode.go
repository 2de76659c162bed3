package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest image (width × height, in pixels) Decode
// accepts unless told otherwise: twice PIL's Image.MAX_IMAGE_PIXELS
// (89,478,485), the size above which PIL raises DecompressionBombError.
const DefaultMaxPixels = 2 * 89_478_485

// Errors Decode returns, for errors.Is.
var (
	// ErrFormat means the bytes are not in a format gosig decodes.
	ErrFormat = errors.New("unknown image format (want JPEG, PNG, GIF, WebP, BMP or TIFF)")
	// ErrTooLarge means the image has more pixels than the limit; it is
	// refused before any pixel memory is allocated.
	ErrTooLarge = errors.New("image too large")
	// ErrEmpty means the image has a zero width or height.
	ErrEmpty = errors.New("image has no pixels")
)

// DecodeOptions tune Decode. The zero value decodes exactly, with the default
// pixel limit.
type DecodeOptions struct {
	// MaxPixels is the largest width×height accepted; 0 means
	// DefaultMaxPixels and a negative value means no limit.
	MaxPixels int64

	// FastTarget, when set, turns on the fast path for bulk work: given the
	// image's (oriented) size it returns the size the caller will resize the
	// decoded image to (Config.Target gives it for a checkpoint). A JPEG is
	// then decoded already shrunk in the DCT domain, by the smallest of 1/8,
	// 1/4, 1/2 that keeps it at least FastOversample times the target on both
	// sides, and the exact PIL resize takes it the rest of the way. Other
	// formats, and JPEGs too small to shrink, decode exactly.
	//
	// Measured on a 1920×1080 photo at 256 patches: about 2 times less CPU
	// than the exact path (7 against 14 ms; entropy decoding, which both
	// paths do in full, is most of what is left); pixels after NaFlex off
	// the exact ones by a mean of 0.25–0.85 uint8 steps (max 9) on photos,
	// 0.5–0.8 (max 19) on flat graphics with hard edges
	// (TestFastPathDeviation). In embeddings, on the trained demo checkpoint
	// and its pictures enlarged to 1920 pixels: cosine to the exact path's
	// ≥ 0.9997, the same top-1 label for 12 of 12 images
	// (siglip2.TestFastDecodeEmbeddings).
	FastTarget func(w, h int) (tw, th int)

	// FastOversample is the least ratio of the shrunk decode to the resize
	// target on the fast path; 0 means DefaultFastOversample. At 2 the
	// deviation roughly halves (photos: mean 0.2–0.35, max 2) and the
	// speed-up drops to about 1.4 times for a 1080p photo at 256 patches.
	FastOversample float64
}

// DefaultFastOversample is the fast path's default FastOversample.
const DefaultFastOversample = 1.25

// Format names an image file format.
type Format string

// The formats Decode understands.
const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatGIF  Format = "gif"
	FormatWebP Format = "webp"
	FormatBMP  Format = "bmp"
	FormatTIFF Format = "tiff"
)

// Info describes an image file without decoding its pixels.
type Info struct {
	Format Format
	// Width and Height are the stored size; the decoded image is Height×Width
	// when Orientation is 5–8 (a quarter turn).
	Width, Height int
	// Orientation is the EXIF orientation (1–8) Decode applies, or 1.
	Orientation int
}

// OrientedSize returns the size of the decoded image: the stored size, with
// width and height swapped when the orientation is a quarter turn.
func (in Info) OrientedSize() (w, h int) {
	if in.Orientation >= orientTranspose {
		return in.Height, in.Width
	}
	return in.Width, in.Height
}

// sniff recognises the format from the first bytes.
func sniff(data []byte) (Format, error) {
	switch {
	case len(data) >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff:
		return FormatJPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP, nil
	case bytes.HasPrefix(data, []byte("BM")):
		return FormatBMP, nil
	case bytes.HasPrefix(data, []byte("II*\x00")) || bytes.HasPrefix(data, []byte("MM\x00*")):
		return FormatTIFF, nil
	}
	return "", ErrFormat
}

// probe reads the format, size and orientation, and for JPEG the marker scan
// that decoding reuses.
func probe(data []byte) (Info, *jpegInfo, error) {
	f, err := sniff(data)
	if err != nil {
		if len(data) == 0 {
			return Info{}, nil, fmt.Errorf("%w: the input is empty", ErrFormat)
		}
		return Info{}, nil, err
	}
	in := Info{Format: f, Orientation: 1}
	var cfg image.Config
	var ji *jpegInfo
	switch f {
	case FormatJPEG:
		j, err := scanJPEG(data)
		if err != nil {
			return in, nil, err
		}
		ji = &j
		cfg.Width, cfg.Height = j.width, j.height
		in.Orientation = orientation(j.exif, j.xmp)
	case FormatPNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		exif, xmp := pngMetadata(data)
		in.Orientation = orientation(exif, xmp)
	case FormatGIF:
		var g gifHeader
		if g, err = parseGIF(data); err == nil {
			cfg.Width, cfg.Height = g.canvas.Dx(), g.canvas.Dy()
		}
	case FormatWebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
		exif, xmp := webpMetadata(data)
		in.Orientation = orientation(exif, xmp)
	case FormatBMP:
		cfg, err = bmp.DecodeConfig(bytes.NewReader(data))
	case FormatTIFF:
		cfg, err = tiff.DecodeConfig(bytes.NewReader(data))
		in.Orientation = orientation(data, nil) // a TIFF's own IFD0 is its EXIF
	}
	if err != nil {
		return in, nil, fmt.Errorf("read %s header: %w", f, err)
	}
	if in.Orientation == 0 {
		in.Orientation = 1
	}
	in.Width, in.Height = cfg.Width, cfg.Height
	return in, ji, nil
}

// Probe returns the format, size and EXIF orientation of an image file
// without decoding its pixels.
func Probe(data []byte) (Info, error) {
	in, _, err := probe(data)
	return in, err
}

// checkSize refuses empty and oversized images before anything is allocated.
func checkSize(in Info, maxPixels int64) error {
	if in.Width <= 0 || in.Height <= 0 {
		return fmt.Errorf("%w: %s header says %d×%d", ErrEmpty, in.Format, in.Width, in.Height)
	}
	if maxPixels == 0 {
		maxPixels = DefaultMaxPixels
	}
	if maxPixels > 0 && int64(in.Width)*int64(in.Height) > maxPixels {
		return fmt.Errorf("%w: %s of %d×%d = %d pixels is over the limit of %d (a decompression bomb guard, as PIL's; raise DecodeOptions.MaxPixels to accept it)",
			ErrTooLarge, in.Format, in.Width, in.Height, int64(in.Width)*int64(in.Height), maxPixels)
	}
	return nil
}

// Decode decodes an image file (JPEG, PNG, GIF first frame, WebP, BMP, TIFF)
// to 8-bit RGB as Hugging Face's load_image and image processors see it
// through PIL: EXIF orientation applied (ImageOps.exif_transpose), then
// Image.convert("RGB"). See the package documentation for the conversion
// rules.
func Decode(data []byte, opts DecodeOptions) (*RGB, error) {
	in, ji, err := probe(data)
	if err != nil {
		return nil, err
	}
	if err := checkSize(in, opts.MaxPixels); err != nil {
		return nil, err
	}
	var img *RGB
	switch in.Format {
	case FormatJPEG:
		var scaleTo image.Point
		if opts.FastTarget != nil {
			scaleTo = fastScaleTarget(in, opts.FastTarget, opts.FastOversample)
		}
		img, err = decodeJPEG(*ji, scaleTo)
	case FormatPNG:
		img, err = decodePNG(data)
	case FormatGIF:
		img, err = decodeGIF(data)
	case FormatWebP:
		img, err = decodeWebP(data)
	case FormatBMP:
		var m image.Image
		if m, err = bmp.Decode(bytes.NewReader(data)); err == nil {
			img = toRGB(m)
		}
	case FormatTIFF:
		var m image.Image
		if m, err = tiff.Decode(bytes.NewReader(data)); err == nil {
			img = toRGB(m)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", in.Format, err)
	}
	return applyOrientation(img, in.Orientation), nil
}

// fastScaleTarget returns the smallest size (in stored, unoriented pixels)
// the fast path may decode a JPEG to: oversample times the resize target.
// Zero when there is no target.
func fastScaleTarget(in Info, target func(w, h int) (int, int), oversample float64) image.Point {
	if oversample <= 0 {
		oversample = DefaultFastOversample
	}
	ow, oh := in.OrientedSize()
	tw, th := target(ow, oh)
	if tw <= 0 || th <= 0 {
		return image.Point{}
	}
	if in.Orientation >= orientTranspose {
		tw, th = th, tw
	}
	return image.Pt(int(math.Ceil(float64(tw)*oversample)), int(math.Ceil(float64(th)*oversample)))
}

// DecodeReader reads all of r and decodes it with Decode.
func DecodeReader(r io.Reader, opts DecodeOptions) (*RGB, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	return Decode(data, opts)
}

// DecodeFile reads and decodes the image file at path.
func DecodeFile(path string, opts DecodeOptions) (*RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	img, err := Decode(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// decodePNG decodes a PNG. The one case Go and PIL part ways on is 16-bit
// grayscale with a tRNS chunk, which Go returns as NRGBA64: PIL still opens
// it as I;16 and clips it, so gosig does too.
func decodePNG(data []byte) (*RGB, error) {
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if n, ok := m.(*image.NRGBA64); ok && len(data) >= 26 && data[24] == 16 && data[25] == 0 {
		img := NewRGB(n.Rect.Dx(), n.Rect.Dy())
		for y := 0; y < img.H; y++ {
			row := n.Pix[y*n.Stride:]
			for x := 0; x < img.W; x++ {
				v := gray16To8(row[x*8], row[x*8+1])
				i := (y*img.W + x) * 3
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = v, v, v
			}
		}
		return img, nil
	}
	return toRGB(m), nil
}

// pngMetadata returns the payload of the first eXIf chunk and the text of an
// iTXt chunk keyed XML:com.adobe.xmp, wherever they are in the file (PIL
// reads chunks after the image data too when asked for EXIF).
func pngMetadata(data []byte) (exif, xmp []byte) {
	pos := 8
	for pos+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if n < 0 || n > len(data)-pos-12 {
			return exif, xmp
		}
		body := data[pos+8 : pos+8+n]
		switch typ {
		case "eXIf":
			if exif == nil {
				exif = body
			}
		case "iTXt":
			const key = "XML:com.adobe.xmp\x00"
			if xmp == nil && bytes.HasPrefix(body, []byte(key)) {
				xmp = body[len(key):]
			}
		case "IEND":
			return exif, xmp
		}
		pos += n + 12
	}
	return exif, xmp
}
