/**
 * Renders a resolved task spec (plain JSON) as HCL-looking text, the way an
 * operator wrote it: `key = value` lines aligned per block, nested objects as
 * blocks, lists of objects as repeated blocks.
 */

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function key(k: string): string {
  return IDENT.test(k) ? k : JSON.stringify(k);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`;
  if (isPlainObject(v)) return `{ ${Object.entries(v).map(([k, x]) => `${key(k)} = ${scalar(x)}`).join(', ')} }`;
  return v === undefined ? 'null' : JSON.stringify(v);
}

export function formatSpec(spec: Record<string, unknown>, indent = '  '): string {
  const out: string[] = [];
  const block = (obj: Record<string, unknown>, pad: string) => {
    const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
    const simple = entries.filter(([, v]) => !isPlainObject(v) && !(Array.isArray(v) && v.length > 0 && v.every(isPlainObject)));
    const width = Math.max(0, ...simple.map(([k]) => key(k).length));
    for (const [k, v] of entries) {
      if (isPlainObject(v)) {
        if (Object.keys(v).length === 0) {
          out.push(`${pad}${key(k)} {}`);
          continue;
        }
        out.push(`${pad}${key(k)} {`);
        block(v, pad + '  ');
        out.push(`${pad}}`);
      } else if (Array.isArray(v) && v.length > 0 && v.every(isPlainObject)) {
        for (const item of v) {
          out.push(`${pad}${key(k)} {`);
          block(item, pad + '  ');
          out.push(`${pad}}`);
        }
      } else {
        out.push(`${pad}${key(k).padEnd(width)} = ${scalar(v)}`);
      }
    }
  };
  block(spec, indent);
  return out.join('\n') + (out.length ? '\n' : '');
}
