/**
 * The summary chart of the Policy Reports view: one stacked bar of every result in the cluster
 * and one per top group (namespace or policy, by failures), as inline SVG whose colours are the
 * theme's (CSS variables of the webview). Pure: text in, text out.
 */
import { RESULT_SEVERITY_ORDER, totalOf, type Counts, type ReportResult } from './reports-model';

export const RESULT_COLOURS: Record<ReportResult, string> = {
  fail: 'var(--vscode-testing-iconFailed, #f14c4c)',
  error: 'var(--vscode-testing-iconErrored, #c74e39)',
  warn: 'var(--vscode-list-warningForeground, #cca700)',
  skip: 'var(--vscode-testing-iconSkipped, #848484)',
  pass: 'var(--vscode-testing-iconPassed, #73c991)',
};

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function bar(y: number, x0: number, width: number, height: number, counts: Counts, scaleTo: number): string {
  const total = totalOf(counts);
  if (total === 0 || scaleTo === 0) return '';
  let x = x0;
  const parts: string[] = [];
  for (const r of RESULT_SEVERITY_ORDER) {
    if (counts[r] === 0) continue;
    const w = Math.max(1, (counts[r] / scaleTo) * width);
    parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${height}" style="fill:${RESULT_COLOURS[r]}"><title>${r}: ${counts[r]}</title></rect>`);
    x += w;
  }
  return parts.join('');
}

export interface ChartRow {
  label: string;
  counts: Counts;
}

/**
 * The cluster's totals as a full-width bar with a legend, then `rows` (each scaled to the
 * largest row, so their lengths compare) labelled on the left.
 */
export function summarySvg(totals: Counts, rows: ChartRow[], width = 420): string {
  const labelW = 130;
  const barW = width - labelW - 50;
  const lines: string[] = [];
  let y = 4;
  lines.push(bar(y, 0, width - 4, 16, totals, totalOf(totals)));
  y += 22;
  let x = 0;
  for (const r of RESULT_SEVERITY_ORDER) {
    const text = `${r} ${totals[r]}`;
    lines.push(`<rect x="${x}" y="${y + 2}" width="10" height="10" style="fill:${RESULT_COLOURS[r]}"/><text x="${x + 14}" y="${y + 11}">${text}</text>`);
    x += 14 + text.length * 7 + 12;
  }
  y += 22;
  const max = Math.max(0, ...rows.map((r) => totalOf(r.counts)));
  for (const row of rows) {
    const label = row.label.length > 20 ? `${row.label.slice(0, 19)}…` : row.label;
    lines.push(`<text x="0" y="${y + 11}">${escapeXml(label)}</text>`);
    lines.push(bar(y, labelW, barW, 12, row.counts, max));
    lines.push(`<text x="${labelW + barW + 6}" y="${y + 11}">${row.counts.fail + row.counts.error}✖</text>`);
    y += 18;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:${width}px" viewBox="0 0 ${width} ${y + 4}" role="img" aria-label="policy report results">${lines.join('')}</svg>`;
}
