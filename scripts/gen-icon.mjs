// Draws the Marketplace icon (client/media/icon.png): the shield-and-check of
// client/media/kyverno.svg, white on a blue rounded square, 256×256 RGBA.
// `node scripts/gen-icon.mjs` rewrites the PNG; test/packaging/icon.test.ts checks that the
// committed file still holds exactly these pixels. No image library: the shapes are sampled
// 4×4 times per pixel for anti-aliasing and the PNG is encoded with node:zlib.
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SIZE = 256;
const SUBSAMPLES = 4;
const CORNER_RADIUS = 52;
const TOP = [0x23, 0x5e, 0xa8]; // background gradient, top to bottom
const BOTTOM = [0x12, 0x2e, 0x58];
const SHIELD = [0xff, 0xff, 0xff];
const CHECK = [0x1b, 0x4a, 0x8a];

// The SVG's 24-unit view box, centred and scaled onto the canvas.
const SCALE = 9.6;
const toCanvas = ([x, y]) => [SIZE / 2 + (x - 12) * SCALE, SIZE / 2 + (y - 12) * SCALE + 2];

function cubic(p0, p1, p2, p3, steps = 24) {
  const out = [];
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    out.push([0, 1].map((k) => u * u * u * p0[k] + 3 * u * u * t * p1[k] + 3 * u * t * t * p2[k] + t * t * t * p3[k]));
  }
  return out;
}

// M12 2.5 4 5.5v6c0 4.9 3.4 8.7 8 10 4.6-1.3 8-5.1 8-10v-6l-8-3z
const shield = [
  [12, 2.5],
  [4, 5.5],
  [4, 11.5],
  ...cubic([4, 11.5], [4, 16.4], [7.4, 20.2], [12, 21.5]),
  ...cubic([12, 21.5], [16.6, 20.2], [20, 16.4], [20, 11.5]),
  [20, 5.5],
].map(toCanvas);
// M8.5 12.2l2.4 2.4 4.8-5
const check = [[8.5, 12.2], [10.9, 14.6], [15.7, 9.6]].map(toCanvas);
const CHECK_HALF_WIDTH = 1.25 * SCALE;

function insidePolygon(x, y, polygon) {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function distanceToSegment(x, y, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (ax + t * dx), y - (ay + t * dy));
}

function insideRoundedSquare(x, y) {
  const r = CORNER_RADIUS;
  const cx = Math.min(Math.max(x, r), SIZE - r);
  const cy = Math.min(Math.max(y, r), SIZE - r);
  return Math.hypot(x - cx, y - cy) <= r;
}

/** The colour (RGBA, alpha 0..1) at one sample point. */
function sample(x, y) {
  if (!insideRoundedSquare(x, y)) return [0, 0, 0, 0];
  if (distanceToSegment(x, y, check[0], check[1]) <= CHECK_HALF_WIDTH || distanceToSegment(x, y, check[1], check[2]) <= CHECK_HALF_WIDTH) {
    return [...CHECK, 1];
  }
  if (insidePolygon(x, y, shield)) return [...SHIELD, 1];
  const t = y / SIZE;
  return [...TOP.map((c, k) => c + (BOTTOM[k] - c) * t), 1];
}

/** RGBA pixels, row by row. */
export function renderIcon() {
  const pixels = Buffer.alloc(SIZE * SIZE * 4);
  const n = SUBSAMPLES * SUBSAMPLES;
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      // Premultiplied sums, so edges against transparency do not darken.
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SUBSAMPLES; sy++) {
        for (let sx = 0; sx < SUBSAMPLES; sx++) {
          const [cr, cg, cb, ca] = sample(px + (sx + 0.5) / SUBSAMPLES, py + (sy + 0.5) / SUBSAMPLES);
          r += cr * ca; g += cg * ca; b += cb * ca; a += ca;
        }
      }
      const o = (py * SIZE + px) * 4;
      pixels[o] = a ? Math.round(r / a) : 0;
      pixels[o + 1] = a ? Math.round(g / a) : 0;
      pixels[o + 2] = a ? Math.round(b / a) : 0;
      pixels[o + 3] = Math.round((a / n) * 255);
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG file (colour type 6, 8 bits, no interlace, filter 0 on every row). */
export function encodePng(pixels, width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const rows = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) pixels.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const ICON_PATH = fileURLToPath(new URL('../client/media/icon.png', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ICON_PATH, encodePng(renderIcon(), SIZE, SIZE));
  console.log(`wrote ${ICON_PATH}`);
}
