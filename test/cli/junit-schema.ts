/**
 * A structural validator for JUnit XML as the Jenkins JUnit plugin's XSD (junit-4.xsd, the
 * schema CI tools read) defines it, without a network or an XSD engine: a small XML reader
 * (elements, attributes, text, CDATA, entities, well-formedness) and the schema's rules —
 * which elements nest where, in which order, required attributes and their types.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string, where: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);|&/g, (m, e: string | undefined) => {
    if (e === undefined) throw new Error(`${where}: bare "&" (not an entity)`);
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    if (!(e in ENTITIES)) throw new Error(`${where}: unknown entity &${e};`);
    return ENTITIES[e];
  });
}

/** Parses one XML document into its root element; throws on anything not well-formed. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`offset ${i}: ${msg}`);
  };
  const skipSpace = () => {
    while (i < xml.length && /\s/.test(xml[i])) i++;
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unterminated XML declaration');
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    if (stack.length === 0) {
      skipSpace();
      if (i >= xml.length) break;
      if (root) fail('content after the root element');
      if (xml[i] !== '<') fail('text outside the root element');
    }
    if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA section');
      stack[stack.length - 1].text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(xml.slice(i));
      if (!m) fail('malformed end tag');
      const open = stack.pop();
      if (!open || open.name !== m![1]) fail(`</${m![1]}> does not close <${open?.name ?? ''}>`);
      i += m![0].length;
      if (stack.length === 0) root = open;
    } else if (xml[i] === '<') {
      const m = /^<([A-Za-z_][\w.-]*)/.exec(xml.slice(i));
      if (!m) fail('malformed start tag');
      i += m![0].length;
      const el: XmlElement = { name: m![1], attrs: {}, children: [], text: '' };
      for (;;) {
        skipSpace();
        if (xml.startsWith('/>', i) || xml[i] === '>') break;
        const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(xml.slice(i));
        if (!a) fail(`malformed attribute in <${el.name}>`);
        if (a![1] in el.attrs) fail(`duplicate attribute ${a![1]} in <${el.name}>`);
        el.attrs[a![1]] = decode(a![3] ?? a![4], `<${el.name} ${a![1]}>`);
        i += a![0].length;
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(el);
      if (xml.startsWith('/>', i)) {
        i += 2;
        if (stack.length === 0) root = el;
      } else {
        i++;
        stack.push(el);
      }
    } else {
      const end = xml.indexOf('<', i);
      const text = xml.slice(i, end < 0 ? xml.length : end);
      if (text.includes(']]>')) fail('"]]>" in text');
      stack[stack.length - 1].text += decode(text, `<${stack[stack.length - 1].name}> text`);
      i = end < 0 ? xml.length : end;
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1].name}> is not closed`);
  if (!root) fail('no root element');
  return root!;
}

type AttrType = 'string' | 'int' | 'decimal' | 'dateTime';

interface ElementRule {
  attrs: Record<string, { type: AttrType; required?: boolean }>;
  /** Allowed children in schema order, with their maximum count (Infinity: unbounded). */
  children: Array<[string, number]>;
  /** Whether the element may hold text (simple content). */
  text: boolean;
}

// junit-4.xsd: testsuites > testsuite > (properties?, testcase*, system-out?, system-err?);
// testcase > (skipped?, error*, failure*, system-out*, system-err*).
const RULES: Record<string, ElementRule> = {
  testsuites: {
    attrs: { name: { type: 'string' }, time: { type: 'decimal' }, tests: { type: 'int' }, failures: { type: 'int' }, disabled: { type: 'int' }, errors: { type: 'int' } },
    children: [['testsuite', Infinity]],
    text: false,
  },
  testsuite: {
    attrs: {
      name: { type: 'string', required: true }, tests: { type: 'int', required: true }, failures: { type: 'int' }, errors: { type: 'int' }, time: { type: 'decimal' },
      disabled: { type: 'int' }, skipped: { type: 'int' }, timestamp: { type: 'dateTime' }, hostname: { type: 'string' }, id: { type: 'string' }, package: { type: 'string' }, file: { type: 'string' }, log: { type: 'string' }, url: { type: 'string' }, version: { type: 'string' },
    },
    children: [['properties', 1], ['testcase', Infinity], ['system-out', 1], ['system-err', 1]],
    text: false,
  },
  properties: { attrs: {}, children: [['property', Infinity]], text: false },
  property: { attrs: { name: { type: 'string', required: true }, value: { type: 'string', required: true } }, children: [], text: false },
  testcase: {
    attrs: { name: { type: 'string', required: true }, assertions: { type: 'string' }, time: { type: 'decimal' }, classname: { type: 'string' }, status: { type: 'string' }, class: { type: 'string' }, file: { type: 'string' }, line: { type: 'string' }, log: { type: 'string' }, group: { type: 'string' }, url: { type: 'string' } },
    children: [['skipped', 1], ['error', Infinity], ['failure', Infinity], ['system-out', Infinity], ['system-err', Infinity]],
    text: false,
  },
  skipped: { attrs: { message: { type: 'string' } }, children: [], text: true },
  error: { attrs: { message: { type: 'string' }, type: { type: 'string' } }, children: [], text: true },
  failure: { attrs: { message: { type: 'string' }, type: { type: 'string' } }, children: [], text: true },
  'system-out': { attrs: {}, children: [], text: true },
  'system-err': { attrs: {}, children: [], text: true },
};

const TYPES: Record<AttrType, RegExp> = {
  string: /^[\s\S]*$/,
  int: /^[+-]?\d+$/,
  decimal: /^[+-]?(\d+(\.\d*)?|\.\d+)$/,
  dateTime: /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
};

function check(el: XmlElement, path: string, problems: string[]): void {
  const rule = RULES[el.name];
  if (!rule) {
    problems.push(`${path}: element <${el.name}> is not in the schema`);
    return;
  }
  for (const [name, a] of Object.entries(rule.attrs)) if (a.required && !(name in el.attrs)) problems.push(`${path}: missing required attribute ${name}`);
  for (const [name, value] of Object.entries(el.attrs)) {
    const a = rule.attrs[name];
    if (!a) problems.push(`${path}: attribute ${name} is not allowed`);
    else if (!TYPES[a.type].test(value)) problems.push(`${path}: attribute ${name}="${value}" is not a valid ${a.type}`);
  }
  if (!rule.text && el.text.trim() !== '') problems.push(`${path}: text is not allowed in <${el.name}>`);
  // Children in schema order, each within its maximum count.
  let at = 0;
  const counts = new Map<string, number>();
  el.children.forEach((child, index) => {
    const slot = rule.children.findIndex(([n]) => n === child.name);
    if (slot < 0) problems.push(`${path}/${child.name}: not allowed inside <${el.name}>`);
    else if (slot < at) problems.push(`${path}/${child.name}: out of order inside <${el.name}>`);
    else {
      at = slot;
      const n = (counts.get(child.name) ?? 0) + 1;
      counts.set(child.name, n);
      if (n > rule.children[slot][1]) problems.push(`${path}/${child.name}: more than ${rule.children[slot][1]} inside <${el.name}>`);
    }
    check(child, `${path}/${child.name}[${index}]`, problems);
  });
}

/** The problems of a JUnit XML document against the schema (empty: valid). */
export function validateJUnit(xml: string): string[] {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    return [`not well-formed: ${(err as Error).message}`];
  }
  if (root.name !== 'testsuites' && root.name !== 'testsuite') return [`root element is <${root.name}>, not <testsuites> or <testsuite>`];
  const problems: string[] = [];
  check(root, root.name, problems);
  return problems;
}
