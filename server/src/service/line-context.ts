/**
 * Where the cursor is in block YAML, read from indentation alone. Completion runs on text
 * being typed, where the YAML AST is often incomplete; indentation still tells the path.
 */
export interface LineContext {
  /** Keys from the document root; '[]' marks a sequence item. */
  path: Array<string>;
  /** 'key': typing a key; 'value': after `key: `; 'item': after `- ` with nothing else. */
  position: 'key' | 'value' | 'item';
  /** The key on the current line when position is 'value'. */
  key?: string;
  /** Word being typed (for the replacement range). */
  prefix: string;
  /** Column where the key (or value) being typed starts. */
  column: number;
  /** The current line starts a sequence item (`- ...`). */
  onItemLine: boolean;
}

const LINE = /^(\s*)((?:-[ \t]+)*)(.*)$/;
const KEY = /^(["']?)([^"':#{}[\],]+?)\1\s*:(?:\s|$)/;

function dashColumns(indent: number, dashes: string): number[] {
  const cols: number[] = [];
  let col = indent;
  for (const m of dashes.matchAll(/-[ \t]+/g)) {
    cols.push(col);
    col += m[0].length;
  }
  return cols;
}

export function lineContext(text: string, offset: number): LineContext {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  const m = LINE.exec(before)!;
  const indent = m[1].length;
  const contentCol = indent + m[2].length;
  const rest = m[3];
  const path: string[] = [];
  let position: LineContext['position'] = rest === '' && m[2] ? 'item' : 'key';
  let key: string | undefined;
  let prefix = rest;
  let column = contentCol;
  const km = KEY.exec(rest);
  if (km) {
    position = 'value';
    key = km[2].trim();
    prefix = rest.slice(km[0].length).trimStart();
    column = lineStart + before.length - prefix.length - lineStart;
  } else {
    prefix = rest.replace(/^["']/, '');
  }
  if (position === 'value' && key !== undefined) path.unshift(key);
  let limit = contentCol;
  // A sequence may sit at its parent key's own indentation (`key:\n- item`).
  let limitFromDash = false;
  const ownDashes = dashColumns(indent, m[2]);
  for (let i = ownDashes.length - 1; i >= 0; i--) {
    path.unshift('[]');
    limit = ownDashes[i];
    limitFromDash = true;
  }
  let end = lineStart - 1;
  for (let guard = 0; end > 0 && limit > 0 && guard < 200000; guard++) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    const lineEnd = end;
    end = start - 1;
    // Most lines above are deeper than the current limit: skip them without parsing.
    let first = start;
    while (first < lineEnd && text.charCodeAt(first) === 32) first++;
    const indent0 = first - start;
    if (first === lineEnd || indent0 > limit || (indent0 === limit && !limitFromDash)) continue;
    const line = text.slice(start, lineEnd);
    if (/^---/.test(line) || /^\.\.\.\s*$/.test(line)) break;
    const lm = LINE.exec(line)!;
    const body = lm[3];
    if (!lm[2] && (body.trim() === '' || body.trimStart().startsWith('#'))) continue;
    const ind = lm[1].length;
    const col = ind + lm[2].length;
    const k = KEY.exec(body);
    if (k && (col < limit || (col === limit && limitFromDash && !lm[2]))) {
      path.unshift(k[2].trim());
      limit = col;
      limitFromDash = false;
    }
    const dashes = dashColumns(ind, lm[2]);
    for (let i = dashes.length - 1; i >= 0; i--) {
      if (dashes[i] < limit) {
        path.unshift('[]');
        limit = dashes[i];
        limitFromDash = true;
      }
    }
    if (!k && !dashes.length && col < limit) limit = col; // a scalar line at lower indentation: stop descending.
  }
  return { path, position, key, prefix, column, onItemLine: ownDashes.length > 0 };
}
