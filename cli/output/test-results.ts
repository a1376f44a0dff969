/**
 * The result rows of `kyverno test` and the formats Kyverno 1.19 prints them in: the table,
 * and `--output-format json|yaml|markdown|junit` (commands/test/output.go). Our output is
 * never colored, so these are the texts Kyverno prints with `--remove-color`.
 */
import { stringify } from 'yaml';
import type { TestRow } from '../../engine/testing';
import { renderTable } from './table';

export type TestOutputFormat = 'json' | 'yaml' | 'markdown' | 'junit';
export const TEST_OUTPUT_FORMATS: readonly TestOutputFormat[] = ['json', 'yaml', 'markdown', 'junit'];

/** One line of Kyverno's results table. */
export interface ResultRow {
  id: number;
  policy: string;
  rule: string;
  resource: string;
  result: 'Pass' | 'Fail';
  reason: string;
  /** The detailed column (`--detailed-results`). */
  message: string;
  isFailure: boolean;
}

/** Rows numbered from 1, as Kyverno numbers the rows of each test. */
export function resultRows(rows: TestRow[]): ResultRow[] {
  return rows.map((r, i) => ({
    id: i + 1,
    policy: r.policy,
    rule: r.rule,
    resource: r.column ?? `${r.kind}/${r.resource}`,
    result: r.ok ? 'Pass' : 'Fail',
    reason: r.reason,
    // Our rows carry one explanation; it serves as the detailed message too.
    message: r.reason,
    isFailure: !r.ok,
  }));
}

const HEADERS = ['ID', 'POLICY', 'RULE', 'RESOURCE', 'RESULT', 'REASON'];

export function resultTable(rows: ResultRow[], detailed: boolean): string {
  const headers = detailed ? [...HEADERS, 'MESSAGE'] : HEADERS;
  return renderTable(headers, rows.map((r) => {
    const cells = [String(r.id), r.policy, r.rule, r.resource, r.result, r.reason];
    return detailed ? [...cells, r.message] : cells;
  }));
}

/** A row as Kyverno marshals it: a map whose keys Go writes in sorted order. */
function rowMap(r: ResultRow, detailed: boolean): Record<string, unknown> {
  const map: Record<string, unknown> = { ID: r.id, POLICY: r.policy, RULE: r.rule, RESOURCE: r.resource, RESULT: r.result, REASON: r.reason };
  if (detailed) map.Message = r.message;
  return Object.fromEntries(Object.keys(map).sort().map((k) => [k, map[k]]));
}

/** Go's encoding/json escapes <, > and & in strings. */
function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function markdown(rows: ResultRow[], detailed: boolean): string {
  const headers = detailed ? [...HEADERS, 'MESSAGE'] : HEADERS;
  let text = `| ${headers.join(' | ')} | \n|${'----|'.repeat(headers.length)}\n`;
  for (const r of rows) {
    text += `| ${r.id} | ${r.policy} | ${r.rule} | ${r.resource} | ${r.result} | ${r.reason} |`;
    text += detailed ? ` ${r.message} |\n` : '\n';
  }
  return text;
}

/**
 * JUnit XML as Kyverno writes it: one testsuite per policy, one testcase per row (classname
 * the rule, name the resource). Unlike Kyverno we escape attribute and text content, so the
 * document stays well-formed whatever the messages hold.
 */
function junit(rows: ResultRow[], detailed: boolean): string {
  const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const cdata = (s: string) => s.replace(/]]>/g, ']]]]><![CDATA[>');
  const failures = rows.filter((r) => r.isFailure).length;
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${rows.length}" failures="${failures}">\n`;
  const suites = new Map<string, ResultRow[]>();
  for (const r of rows) suites.set(r.policy, [...(suites.get(r.policy) ?? []), r]);
  for (const [policy, suite] of suites) {
    xml += ` <testsuite name="${attr(policy)}" tests="${suite.length}" failures="${suite.filter((r) => r.isFailure).length}">\n`;
    for (const r of suite) {
      xml += `  <testcase classname="${attr(r.rule)}" name="${attr(r.resource)}">\n`;
      if (r.isFailure) {
        // Kyverno leaves <failure> unclosed without --detailed-results; we always close it.
        xml += `   <failure message="${attr(r.reason)}">\n    Policy: ${attr(r.policy)}\n    Rule: ${attr(r.rule)}\n    Resource: ${attr(r.resource)}\n    Result: ${r.result}\n`;
        if (detailed) xml += `    Message: ${attr(r.message)}\n`;
        xml += '   </failure>\n';
      } else {
        xml += `   <system-out><![CDATA[\n    Reason: ${cdata(r.reason)}\n    Policy: ${cdata(r.policy)}\n    Rule: ${cdata(r.rule)}\n    Resource: ${cdata(r.resource)}\n`;
        if (detailed) xml += `    Message: ${cdata(r.message)}\n`;
        xml += '   ]]></system-out>\n';
      }
      xml += '  </testcase>\n';
    }
    xml += ' </testsuite>\n';
  }
  return `${xml}</testsuites>`;
}

/** The text Kyverno prints for one table in the given format (framed by blank lines). */
export function formatResults(format: TestOutputFormat, rows: ResultRow[], detailed: boolean): string {
  const maps = rows.map((r) => rowMap(r, detailed));
  switch (format) {
    case 'markdown':
      return `\n${markdown(rows, detailed)}\n`;
    case 'junit':
      return `\n${junit(rows, detailed)}\n`;
    case 'json':
      return `\n${goJson(maps)}\n`;
    case 'yaml':
      return `\n${maps.length === 0 ? '[]\n' : stringify(maps)}\n`;
  }
}
