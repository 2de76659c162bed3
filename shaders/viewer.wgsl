// The attention-map viewer's picture: one full-screen triangle whose
// fragment shader draws, per framebuffer pixel, the image as the model saw
// it (nearest texel: one square per model pixel), the pooling head's
// attention over the patch grid as an inferno heat map blended over it at
// `opacity`, interior patch-grid lines, an outline around the hovered
// patch, a vertical colour bar, and on top the text layer (labels, score
// bars) the host rasterised into a premultiplied RGBA texture of exactly the
// viewport's size. The canvas (a fixed layout in canvas units) is scaled by
// `scale` and placed at `origin` in the framebuffer; the rest is letterbox.
// Colours are sRGB-encoded values written to a UNORM target, so a window and
// an offscreen texture of the same size get the same bytes; `srgb_target`
// linearises them when the only target is an -srgb format.
//
// The heat map value of a patch is t = (w − vmin) / (vmax − vmin), clamped,
// through a 33-knot piecewise-linear inferno (binding 4: matplotlib's table,
// CC0, every 8th entry; at most 1.5/255 off the full 256-entry table).
//
// Bindings: 0 view params (uniform, struct View below) ·
//           1 attn weights (read storage; the maps of all heads then the
//             mean, grid_w·grid_h each; map_offset selects one) ·
//           2 image (texture_2d<f32>, rgba8unorm, the resized image) ·
//           3 overlay (texture_2d<f32>, rgba8unorm, premultiplied text layer) ·
//           4 lut (uniform array<vec4f, 33>, the colour map's knots)
// Workgroup: none (a render shader: vs_main, fs_main).
// Overrides: none.

struct View {
    image_rect: vec4f,   // canvas units: x, y, w, h of the drawn image
    bar_rect: vec4f,     // canvas units: the colour bar
    background: vec4f,   // canvas colour
    letterbox: vec4f,    // colour outside the canvas
    origin: vec2f,       // framebuffer pixel where canvas (0, 0) lands
    canvas: vec2f,       // canvas size in canvas units
    scale: f32,          // framebuffer pixels per canvas unit
    opacity: f32,        // heat-map opacity, 0..1
    grid_w: u32,         // patches across
    grid_h: u32,         // patches down
    patch_px: f32,       // patch side in image pixels
    show_grid: u32,      // 1: draw the patch grid
    map_offset: u32,     // index in attn of the shown map's first weight
    hover: i32,          // hovered patch (row·grid_w + col), or -1
    vmin: f32,           // weight drawn at the bottom of the colour bar
    vmax: f32,           // weight drawn at the top
    srgb_target: u32,    // 1: the target encodes sRGB itself
    _pad: u32,
}

@group(0) @binding(0) var<uniform> v: View;
@group(0) @binding(1) var<storage, read> attn: array<f32>;
@group(0) @binding(2) var image: texture_2d<f32>;
@group(0) @binding(3) var overlay: texture_2d<f32>;
// inferno at t = 0, 1/32, …, 1 (rgb; a uniform array, because lavapipe
// copies a const array into every invocation that indexes it dynamically).
@group(0) @binding(4) var<uniform> lut: array<vec4f, 33>;

fn inferno(t: f32) -> vec3f {
    let x = clamp(t, 0.0, 1.0) * 32.0;
    let i = min(u32(x), 31u);
    return mix(lut[i].rgb, lut[i + 1u].rgb, x - f32(i));
}

fn inside(p: vec2f, r: vec4f) -> bool {
    return all(p >= r.xy) && all(p < r.xy + r.zw);
}

fn to_linear(c: vec3f) -> vec3f {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3f(2.4));
    return select(hi, lo, c <= vec3f(0.04045));
}

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
    // One triangle covering the whole target: (-1,-1), (3,-1), (-1,3).
    let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u)) * 2.0 - 1.0;
    return vec4f(xy, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) pos: vec4f) -> @location(0) vec4f {
    let p = pos.xy - v.origin;   // framebuffer pixels from the canvas corner
    let c = p / v.scale;         // canvas units
    var col = v.letterbox.rgb;
    if inside(c, vec4f(0.0, 0.0, v.canvas)) {
        col = v.background.rgb;
        let r = v.image_rect;
        if inside(c, r) {
            let img = vec2f(f32(v.grid_w), f32(v.grid_h)) * v.patch_px;
            let ip = (c - r.xy) / r.zw * img;   // image pixels
            let texel = clamp(vec2i(floor(ip)), vec2i(0), vec2i(img) - 1);
            let rgb = textureLoad(image, texel, 0).rgb;
            let cell = min(vec2u(floor(ip / v.patch_px)), vec2u(v.grid_w, v.grid_h) - 1u);
            let idx = cell.y * v.grid_w + cell.x;
            let w = attn[v.map_offset + idx];
            let t = (w - v.vmin) / max(v.vmax - v.vmin, 1e-30);
            col = mix(rgb, inferno(t), v.opacity);
            // Position inside the patch, in framebuffer pixels.
            let cell_fb = v.patch_px * r.zw / img * v.scale;
            let f = (ip / v.patch_px - vec2f(cell)) * cell_fb;
            if v.show_grid != 0u && ((f.x < 1.0 && cell.x > 0u) || (f.y < 1.0 && cell.y > 0u)) {
                col = mix(col, vec3f(1.0), 0.3);
            }
            if i32(idx) == v.hover && (any(f < vec2f(2.0)) || any(cell_fb - f <= vec2f(2.0))) {
                col = vec3f(1.0);
            }
        } else if inside(c, v.bar_rect) {
            col = inferno(1.0 - (c.y - v.bar_rect.y) / v.bar_rect.w);
        }
    }
    let size = vec2i(textureDimensions(overlay));
    let q = vec2i(floor(p));
    if all(q >= vec2i(0)) && all(q < size) {
        let ui = textureLoad(overlay, q, 0);
        col = ui.rgb + col * (1.0 - ui.a);
    }
    if v.srgb_target != 0u {
        col = to_linear(col);
    }
    return vec4f(col, 1.0);
}
