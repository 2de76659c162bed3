package viewer

import (
	"encoding/binary"
	"math"
)

// inferno holds matplotlib's inferno colour map (Nathaniel J. Smith, Stéfan
// van der Walt, CC0; lib/matplotlib/_cm_listed.py) at t = 0, 1/32, …, 1:
// entries round(k·255/32) of its 256-entry table. Drawn piecewise-linearly
// between knots it is within 1.5/255 of the full table everywhere. Inferno
// is perceptually uniform and readable in greyscale and by colour-blind
// viewers; its dark end keeps low-attention patches from hiding the image's
// bright ones.
var inferno = [33][3]float32{
	{0.001462, 0.000466, 0.013866}, {0.013995, 0.011225, 0.071862},
	{0.042253, 0.028139, 0.141141}, {0.081962, 0.043328, 0.215289},
	{0.129285, 0.047293, 0.290788}, {0.183429, 0.040329, 0.354971},
	{0.238273, 0.036621, 0.396353}, {0.290763, 0.045644, 0.418637},
	{0.341500, 0.062325, 0.429425}, {0.391453, 0.080927, 0.433109},
	{0.441207, 0.099338, 0.431594}, {0.491022, 0.117179, 0.425552},
	{0.540920, 0.134729, 0.415123}, {0.590734, 0.152563, 0.400290},
	{0.640135, 0.171438, 0.381065}, {0.688653, 0.192239, 0.357603},
	{0.735683, 0.215906, 0.330245}, {0.775059, 0.239667, 0.303526},
	{0.817341, 0.270954, 0.270390}, {0.855992, 0.307038, 0.235133},
	{0.890341, 0.347957, 0.198286}, {0.919879, 0.393389, 0.160070},
	{0.944285, 0.442772, 0.120354}, {0.963387, 0.495462, 0.079073},
	{0.977092, 0.550850, 0.039050}, {0.985315, 0.608422, 0.024202},
	{0.987945, 0.667748, 0.058329}, {0.984865, 0.728427, 0.120785},
	{0.976108, 0.789974, 0.196018}, {0.962517, 0.851476, 0.285546},
	{0.948683, 0.910473, 0.395289}, {0.951740, 0.960587, 0.524203},
	{0.988362, 0.998364, 0.644924},
}

// lutSize is the size of the shader's lut binding: 33 vec4f.
const lutSize = len(inferno) * 16

// lutBytes packs the colour map for the shader's uniform array.
func lutBytes() []byte {
	b := make([]byte, 0, lutSize)
	for _, c := range inferno {
		for _, v := range [4]float32{c[0], c[1], c[2], 1} {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}
