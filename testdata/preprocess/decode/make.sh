#!/bin/sh
# Regenerates the decoding test files here from the fixture images, with
# Debian's libjpeg-turbo-progs (cjpeg, djpeg 2.1.5), webp (cwebp, dwebp 1.2.4)
# and imagemagick. djpeg with its defaults decodes exactly as PIL does (same
# library, same defaults: islow IDCT, fancy upsampling); that was checked on
# the fixture JPEG, whose PIL decode the fixtures store. dwebp's default
# output is libwebp's fancy-upsampled RGB, which is what PIL gets from libwebp.
set -eu
cd "$(dirname "$0")"
img=../../models/siglip2_tiny_p16/images
png() { convert "$1" -define png:exclude-chunk=date,time "$2"; }
convert "$img/img0_640x480.png" -crop 67x45+300+180 +repage src.ppm
convert "$img/img0_640x480.png" -crop 5x3+100+100 +repage tiny.ppm
for s in 1x1 2x1 1x2 2x2 4x1; do
	cjpeg -quality 85 -sample "$s" src.ppm > "s$s.jpg"
done
cjpeg -quality 85 -sample 2x2 -progressive src.ppm > prog2x2.jpg
cjpeg -quality 85 -sample 2x1 -restart 1 src.ppm > rst2x1.jpg
cjpeg -quality 85 -grayscale src.ppm > gray.jpg
cjpeg -quality 85 -sample 2x2 tiny.ppm > tiny2x2.jpg
# Variants: arithmetic coding (libjpeg-turbo and so PIL decode it; gosig
# refuses it with a clear error), Adobe CMYK (no PIL truth here: the test
# checks the round trip to the source colours).
cjpeg -quality 85 -arithmetic src.ppm > arith.jpg
convert src.ppm -colorspace CMYK -quality 90 cmyk.jpg
for f in s1x1 s2x1 s1x2 s2x2 s4x1 prog2x2 rst2x1 gray tiny2x2 arith; do
	djpeg -pnm "$f.jpg" > tmp.pnm && png tmp.pnm "$f.jpg.want.png"
done
png src.ppm src.png
cwebp -quiet -q 80 src.png -o lossy.webp
cwebp -quiet -lossless src.png -o lossless.webp
convert "$img/img5_rgba_96x128.png" -crop 33x21+30+40 +repage alpha.png
cwebp -quiet -q 80 -exact alpha.png -o alpha.webp
for f in lossy alpha; do
	dwebp -quiet "$f.webp" -ppm -o tmp.pnm && png tmp.pnm "$f.webp.want.png"
done
rm -f tmp.pnm src.ppm tiny.ppm alpha.png
