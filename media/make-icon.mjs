// Draws the extension's marketplace icon (media/icon.png, 128x128 RGBA): a lambda in a
// cyan-to-violet gradient on a dark rounded square. Written with node:zlib alone (no image
// library in the dependencies), 4x4 supersampled so the edges are smooth.
//
//   node media/make-icon.mjs   → media/icon.png
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const N = 128;
const SS = 4;

/** Distance from p to the segment a-b. */
function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Inside the rounded square (radius 26)? */
function inBox(x, y) {
  const r = 26, m = 4;
  const cx = Math.min(Math.max(x, m + r), N - m - r), cy = Math.min(Math.max(y, m + r), N - m - r);
  return Math.hypot(x - cx, y - cy) <= r;
}

// The lambda: a long stroke from the top left to the bottom right, a short leg from its middle
// to the bottom left, and a small hook at the top.
const strokes = [
  [40, 30, 92, 100],
  [64, 62, 36, 100],
  [30, 28, 40, 30],
];
const W = 7; // half the stroke width

function sample(x, y) {
  if (!inBox(x, y)) return [0, 0, 0, 0];
  // Background: a dark slate with a faint vertical gradient.
  const g = y / N;
  let bg = [20 + 8 * g, 22 + 6 * g, 34 + 14 * g];
  const d = Math.min(...strokes.map((s) => segDist(x, y, ...s)));
  if (d <= W) {
    // Stroke: cyan (top left) to violet (bottom right).
    const t = Math.max(0, Math.min(1, (x + y - 50) / 150));
    bg = [79 + (139 - 79) * t, 209 + (92 - 209) * t, 197 + (246 - 197) * t];
  }
  return [...bg, 255];
}

const raw = Buffer.alloc(N * (N * 4 + 1));
for (let y = 0; y < N; y++) {
  raw[y * (N * 4 + 1)] = 0; // filter: none
  for (let x = 0; x < N; x++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < SS; sy++)
      for (let sx = 0; sx < SS; sx++) {
        const s = sample(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS);
        // Premultiplied, so transparent samples do not darken the edge colour.
        for (let c = 0; c < 3; c++) acc[c] += s[c] * s[3];
        acc[3] += s[3];
      }
    const o = y * (N * 4 + 1) + 1 + x * 4;
    const a = acc[3] / (SS * SS);
    for (let c = 0; c < 3; c++) raw[o + c] = acc[3] ? Math.round(acc[c] / acc[3]) : 0;
    raw[o + 3] = Math.round(a);
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(N, 0);
ihdr.writeUInt32BE(N, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk("IHDR", ihdr),
  chunk("IDAT", deflateSync(raw, { level: 9 })),
  chunk("IEND", Buffer.alloc(0)),
]);
const out = new URL("icon.png", import.meta.url).pathname;
writeFileSync(out, png);
console.log(`${out}: ${png.length} bytes`);
