// chart.js: small SVG line charts for the gpumesh dashboard. Hand-written,
// no dependencies: a chart is a function of its points, rendered as markup.
"use strict";

(function () {
  const W = 300, H = 90, L = 34, R = 6, T = 6, B = 14;

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
      if (m * p >= v) return m * p;
    }
    return 10 * p;
  }

  function fmt(v) {
    if (Math.abs(v) >= 1000) return (v / 1000).toFixed(v % 1000 === 0 ? 0 : 1) + "k";
    if (Math.abs(v) >= 10 || v === 0) return Math.round(v).toString();
    return v.toFixed(1);
  }

  function ago(ms) {
    const s = Math.round(ms / 1000);
    if (s < 90) return "-" + s + "s";
    return "-" + Math.round(s / 60) + "m";
  }

  // svg renders points ([[timeMs, value], ...], oldest first) as a line
  // chart. opts: min, max (fixed axis bounds), limit (a dashed line, such as
  // a power limit), color.
  function svg(points, opts) {
    opts = opts || {};
    const color = opts.color || "#0f766e";
    const n = points.length;
    let lo = opts.min !== undefined ? opts.min : Infinity;
    let hi = opts.max !== undefined ? opts.max : -Infinity;
    if (opts.min === undefined) for (const p of points) lo = Math.min(lo, p[1]);
    if (opts.max === undefined) {
      for (const p of points) hi = Math.max(hi, p[1]);
      if (opts.limit > 0) hi = Math.max(hi, opts.limit);
      hi = niceMax(hi * 1.05);
    }
    if (!isFinite(lo)) lo = 0;
    if (lo > 0) lo = 0;
    if (!(hi > lo)) hi = lo + 1;
    const t1 = n ? points[n - 1][0] : Date.now();
    const t0 = n > 1 ? points[0][0] : t1 - 60000;
    const span = Math.max(t1 - t0, 1);
    const x = (t) => L + ((t - t0) / span) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    let out = `<svg viewBox="0 0 ${W} ${H}" data-points="${n}" role="img">`;
    out += `<line class="axis" x1="${L}" y1="${y(hi)}" x2="${W - R}" y2="${y(hi)}"/>`;
    out += `<line class="axis" x1="${L}" y1="${y((hi + lo) / 2)}" x2="${W - R}" y2="${y((hi + lo) / 2)}"/>`;
    out += `<line class="axis" x1="${L}" y1="${y(lo)}" x2="${W - R}" y2="${y(lo)}"/>`;
    out += `<text x="${L - 4}" y="${y(hi) + 3}" text-anchor="end">${fmt(hi)}</text>`;
    out += `<text x="${L - 4}" y="${y((hi + lo) / 2) + 3}" text-anchor="end">${fmt((hi + lo) / 2)}</text>`;
    out += `<text x="${L - 4}" y="${y(lo) + 3}" text-anchor="end">${fmt(lo)}</text>`;
    out += `<text x="${L}" y="${H - 2}">${n > 1 ? ago(t1 - t0) : ""}</text>`;
    out += `<text x="${W - R}" y="${H - 2}" text-anchor="end">now</text>`;
    if (opts.limit > 0) {
      out += `<line x1="${L}" y1="${y(opts.limit)}" x2="${W - R}" y2="${y(opts.limit)}" stroke="#b45309" stroke-dasharray="4 3" stroke-width="1"/>`;
    }
    if (n === 1) {
      out += `<circle cx="${W - R}" cy="${y(points[0][1])}" r="2.5" fill="${color}"/>`;
    } else if (n > 1) {
      const pts = points.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
      out += `<polygon points="${x(t0).toFixed(1)},${y(lo)} ${pts} ${x(t1).toFixed(1)},${y(lo)}" fill="${color}" fill-opacity="0.12"/>`;
      out += `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round"/>`;
    }
    return out + "</svg>";
  }

  window.GMChart = { svg: svg };
})();
