/**
 * Draws the weighted-share run as a small hand-written SVG (no plotting library, like
 * test/autoscale/timeline-svg.ts): one line per client — its share of each second's starts — and
 * its weight share as a dashed line of the same colour.
 */
import type { ShareBucket } from './weighted-share';

const W = 760;
const H = 320;
const PAD = { l: 56, r: 170, t: 44, b: 44 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

export function fairnessSvg(buckets: readonly ShareBucket[], weights: Readonly<Record<string, number>>, title: string, subtitle: string): string {
  const clients = Object.keys(weights);
  const sum = clients.reduce((x, c) => x + weights[c]!, 0);
  const tMax = Math.max(1, buckets.length);
  const x = (t: number) => PAD.l + (t / tMax) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - v * (H - PAD.t - PAD.b);
  const plot: string[] = [];
  clients.forEach((c, i) => {
    const color = COLORS[i % COLORS.length]!;
    // Each bucket's share drawn at the middle of its second.
    const d = buckets.map((b, j) => `${j === 0 ? 'M' : 'L'}${x(b.second + 0.5).toFixed(1)},${y(b.share[c] ?? 0).toFixed(1)}`).join('');
    plot.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const ws = y(weights[c]! / sum).toFixed(1);
    plot.push(`<line x1="${PAD.l}" y1="${ws}" x2="${W - PAD.r}" y2="${ws}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6,4"/>`);
    const ly = PAD.t + 4 + i * 36;
    plot.push(`<rect x="${W - PAD.r + 12}" y="${ly}" width="14" height="3" fill="${color}"/>`);
    plot.push(`<text x="${W - PAD.r + 32}" y="${ly + 5}" font-size="11">client ${c} (weight ${weights[c]})</text>`);
    plot.push(`<line x1="${W - PAD.r + 12}" y1="${ly + 17}" x2="${W - PAD.r + 26}" y2="${ly + 17}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4,2"/>`);
    plot.push(`<text x="${W - PAD.r + 32}" y="${ly + 21}" font-size="11">weight share ${(weights[c]! / sum).toFixed(3)}</text>`);
  });
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map(
    (v) =>
      `<line x1="${PAD.l - 4}" y1="${y(v)}" x2="${W - PAD.r}" y2="${y(v)}" stroke="#ddd"/><text x="${PAD.l - 8}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v}</text>`,
  );
  const step = tMax > 40 ? 10 : 5;
  const xTicks: string[] = [];
  for (let t = 0; t <= tMax; t += step) xTicks.push(`<text x="${x(t)}" y="${H - PAD.b + 16}" font-size="11" text-anchor="middle">${t}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.l}" y="16" font-size="13">${escapeXml(title)}</text>`,
    `<text x="${PAD.l}" y="32" font-size="11" fill="#555">${escapeXml(subtitle)}</text>`,
    ...yTicks,
    `<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#333"/>`,
    `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#333"/>`,
    ...xTicks,
    `<text x="${(PAD.l + W - PAD.r) / 2}" y="${H - 8}" font-size="11" text-anchor="middle">seconds since the first start (1-second buckets)</text>`,
    `<text x="14" y="${(PAD.t + H - PAD.b) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(PAD.t + H - PAD.b) / 2})">share of the second's starts</text>`,
    ...plot,
    `</svg>`,
    '',
  ].join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
