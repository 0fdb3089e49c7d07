/** Draws the simulation's timeline (replicas, queued, running over time) as a small SVG chart. */
export interface TimelinePoint {
  t: number;
  replicas: number;
  queued: number;
  running: number;
}

const W = 760;
const H = 300;
const PAD = { l: 50, r: 130, t: 20, b: 36 };

export function timelineSvg(points: readonly TimelinePoint[], title: string): string {
  const tMax = Math.max(1, ...points.map((p) => p.t));
  const workMax = Math.max(1, ...points.map((p) => Math.max(p.queued, p.running)));
  const repMax = Math.max(1, ...points.map((p) => p.replicas));
  const x = (t: number) => PAD.l + (t / tMax) * (W - PAD.l - PAD.r);
  const yWork = (v: number) => H - PAD.b - (v / workMax) * (H - PAD.t - PAD.b);
  const yRep = (v: number) => H - PAD.b - (v / repMax) * (H - PAD.t - PAD.b);
  const line = (f: (p: TimelinePoint) => number, color: string, step = false) => {
    let d = '';
    points.forEach((p, i) => {
      const px = x(p.t).toFixed(1);
      const py = f(p).toFixed(1);
      if (i === 0) d += `M${px},${py}`;
      else d += step ? `H${px}V${py}` : `L${px},${py}`;
    });
    return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`;
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = Math.round(f * tMax);
    return `<text x="${x(t)}" y="${H - PAD.b + 16}" font-size="11" text-anchor="middle">${t}s</text>`;
  });
  const legend = [
    ['replicas (right axis)', '#d62728'],
    ['queued (ready msgs)', '#1f77b4'],
    ['running tasks', '#2ca02c'],
  ].map(([label, c], i) => `<rect x="${W - PAD.r + 10}" y="${PAD.t + i * 18}" width="12" height="3" fill="${c}"/><text x="${W - PAD.r + 26}" y="${PAD.t + 5 + i * 18}" font-size="11">${label}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.l}" y="14" font-size="12">${title}</text>`,
    `<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#333"/>`,
    `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#333"/>`,
    `<text x="${PAD.l - 6}" y="${PAD.t + 8}" font-size="11" text-anchor="end">${workMax}</text>`,
    `<text x="${W - PAD.r + 4}" y="${H - PAD.b - (H - PAD.t - PAD.b) + 8}" font-size="11" fill="#d62728">${repMax}</text>`,
    ...ticks,
    line((p) => yWork(p.queued), '#1f77b4'),
    line((p) => yWork(p.running), '#2ca02c'),
    line((p) => yRep(p.replicas), '#d62728', true),
    ...legend,
    `</svg>`,
  ].join('\n');
}
