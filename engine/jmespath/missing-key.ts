/** Finds the first object key a plain path (a.b[0]."c") cannot resolve, for NotFound reporting. */

type Step = { field: string } | { index: number };

interface Node {
  type: string;
  name?: string;
  value?: unknown;
  left?: Node;
  right?: Node;
}

/** Flattens Field / Subexpression / IndexExpression chains; null for any other shape. */
function pathSteps(node: Node): Step[] | null {
  switch (node.type) {
    case 'Field':
      return [{ field: String(node.name) }];
    case 'Index':
      return typeof node.value === 'number' ? [{ index: node.value }] : null;
    case 'Identity':
    case 'Current':
      return [];
    case 'Subexpression':
    case 'IndexExpression': {
      const left = node.left ? pathSteps(node.left) : null;
      const right = node.right ? pathSteps(node.right) : null;
      return left && right ? [...left, ...right] : null;
    }
    default:
      return null;
  }
}

export function missingKeyOnPath(ast: unknown, data: unknown): string | null {
  const steps = pathSteps(ast as Node);
  if (!steps) return null;
  let current: unknown = data;
  for (const step of steps) {
    if ('field' in step) {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return null;
      if (!Object.prototype.hasOwnProperty.call(current, step.field)) return step.field;
      current = (current as Record<string, unknown>)[step.field];
    } else {
      if (!Array.isArray(current)) return null;
      const i = step.index < 0 ? current.length + step.index : step.index;
      current = current[i] ?? null;
    }
  }
  return null;
}
