/**
 * Source locator: hcl2json gives values without positions, so diagnostics
 * find their line and column here, by field path. The HCL text is tokenised
 * once per file (lazily, only when a diagnostic needs a position) into a tree
 * of blocks (type, labels, position) and their attributes; strings,
 * templates, heredocs and comments are skipped correctly so that braces
 * inside them never count as nesting.
 *
 * TOML and JSON have no such tree: a sequential text search for the path's
 * names gives a good-enough position.
 */

/** One step of a field path: a block (type + labels, nth such block) or, last, an attribute. */
export interface PathStep {
  type: string;
  labels?: string[];
  /** Which of the blocks with this type and labels (0-based). */
  index?: number;
}

export interface LinePos {
  line: number; // 1-based
  column: number; // 1-based
}

export interface BlockNode {
  type: string;
  labels: string[];
  /** Offset of the block's first token and of its closing brace. */
  start: number;
  /** Offset of each label (its opening quote when quoted). */
  labelStarts: number[];
  bodyStart: number;
  end: number;
  children: BlockNode[];
  attrs: Map<string, number>;
}

type TokKind = 'ident' | 'string' | 'heredoc' | 'punct' | 'newline' | 'other';
interface Tok {
  kind: TokKind;
  start: number;
  end: number;
  text: string;
}

function isIdentStart(c: string): boolean {
  return /[A-Za-z_]/.test(c);
}
function isIdentChar(c: string): boolean {
  return /[A-Za-z0-9_\-]/.test(c);
}

/**
 * The value of an HCL quoted string's inside, as hcl2json gives it: escapes
 * (`\\n`, `\\u0000`, `\\U0001F600`, …) decoded and `$${` / `%%{` as `${` / `%{`,
 * so that a label written with escapes is found by its value.
 */
export function decodeHclString(raw: string): string {
  if (!/[\\$%]/.test(raw)) return raw;
  return raw.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|([$%])\2\{/g, (m, esc: string | undefined, lit: string | undefined) => {
    if (lit) return `${lit}{`;
    return decodeEscape(esc!) ?? m;
  });
}

/** One backslash escape (without the backslash) of HCL, JSON or a TOML basic string; undefined when unknown. */
function decodeEscape(esc: string): string | undefined {
  const c = esc[0];
  if (c === 'u' && esc.length === 5) return String.fromCharCode(parseInt(esc.slice(1), 16));
  if ((c === 'U' && esc.length === 9) || (c === 'x' && esc.length === 3)) {
    const cp = parseInt(esc.slice(1), 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
  }
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', e: '\x1b', '"': '"', '\\': '\\', '/': '/' };
  return esc.length === 1 ? simple[c] : undefined;
}

/** Skip a quoted string starting at `i` (on the quote); returns the offset after the closing quote. */
function skipString(src: string, i: number): number {
  i++;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else if (c === '\n') return i; // unterminated: stop at the line end
    else if ((c === '$' || c === '%') && src[i + 1] === '{') {
      if (src[i - 1] === c && src[i - 2] !== c) {
        i += 2; // escaped $${ / %%{: literal
        continue;
      }
      i = skipTemplate(src, i + 2);
    } else i++;
  }
  return i;
}

/** Skip the inside of `${ … }` (after the opening brace); returns the offset after the closing brace. */
function skipTemplate(src: string, i: number): number {
  let depth = 1;
  while (i < src.length && depth > 0) {
    const c = src[i];
    if (c === '"') i = skipString(src, i);
    else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
  }
  return i;
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '\n') {
      toks.push({ kind: 'newline', start: i, end: i + 1, text: '\n' });
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const close = src.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (c === '"') {
      const end = skipString(src, i);
      toks.push({ kind: 'string', start: i, end, text: decodeHclString(src.slice(i + 1, Math.max(i + 1, end - 1))) });
      i = end;
    } else if (c === '<' && src[i + 1] === '<' && /[-A-Za-z_]/.test(src[i + 2] ?? '')) {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_]*)[^\n]*\n/.exec(src.slice(i, i + 200));
      if (!m) {
        toks.push({ kind: 'punct', start: i, end: i + 1, text: '<' });
        i++;
        continue;
      }
      let j = i + m[0].length;
      for (;;) {
        const eol = src.indexOf('\n', j);
        const line = src.slice(j, eol < 0 ? n : eol);
        if (line.trim() === m[1]) {
          j = eol < 0 ? n : eol;
          break;
        }
        if (eol < 0) {
          j = n;
          break;
        }
        j = eol + 1;
      }
      toks.push({ kind: 'heredoc', start: i, end: j, text: '' });
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(src[j])) j++;
      toks.push({ kind: 'ident', start: i, end: j, text: src.slice(i, j) });
      i = j;
    } else if ('{}[]()=,:'.includes(c)) {
      toks.push({ kind: 'punct', start: i, end: i + 1, text: c });
      i++;
    } else {
      toks.push({ kind: 'other', start: i, end: i + 1, text: c });
      i++;
    }
  }
  return toks;
}

/** Parse the block tree of an HCL source (tolerant: never throws). */
export function parseBlockTree(src: string): BlockNode {
  const toks = lex(src);
  const root: BlockNode = { type: '', labels: [], labelStarts: [], start: 0, bodyStart: 0, end: src.length, children: [], attrs: new Map() };
  let k = 0;
  const body = (node: BlockNode): void => {
    while (k < toks.length) {
      const t = toks[k];
      if (t.kind === 'newline' || (t.kind === 'punct' && t.text === ',')) {
        k++;
        continue;
      }
      if (t.kind === 'punct' && t.text === '}') {
        node.end = t.start;
        k++;
        return;
      }
      if (t.kind !== 'ident' && t.kind !== 'string') {
        k++;
        continue;
      }
      const next = toks[k + 1];
      if (next && next.kind === 'punct' && (next.text === '=' || next.text === ':')) {
        if (!node.attrs.has(t.text)) node.attrs.set(t.text, t.start);
        k += 2;
        skipExpression();
        continue;
      }
      const labels: string[] = [];
      const labelStarts: number[] = [];
      let j = k + 1;
      while (j < toks.length && (toks[j].kind === 'string' || toks[j].kind === 'ident')) {
        labelStarts.push(toks[j].start);
        labels.push(toks[j++].text);
      }
      if (toks[j] && toks[j].kind === 'punct' && toks[j].text === '{') {
        const child: BlockNode = { type: t.text, labels, labelStarts, start: t.start, bodyStart: toks[j].end, end: src.length, children: [], attrs: new Map() };
        node.children.push(child);
        k = j + 1;
        body(child);
        continue;
      }
      k = j + 1;
    }
  };
  const skipExpression = (): void => {
    let depth = 0;
    while (k < toks.length) {
      const t = toks[k];
      if (depth === 0 && (t.kind === 'newline' || (t.kind === 'punct' && (t.text === '}' || t.text === ',')))) return;
      if (t.kind === 'punct') {
        if ('{[('.includes(t.text)) depth++;
        else if ('}])'.includes(t.text)) depth--;
      }
      k++;
    }
  };
  body(root);
  return root;
}

/** Offsets → line/column, built once per source. */
export class LineIndex {
  #starts: number[] = [0];
  constructor(src: string) {
    for (let i = 0; i < src.length; i++) if (src.charCodeAt(i) === 10) this.#starts.push(i + 1);
  }
  at(offset: number): LinePos {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.#starts[lo] + 1 };
  }
}

function sameLabels(a: string[], b: string[] | undefined): boolean {
  const want = b ?? [];
  return a.length === want.length && a.every((x, i) => x === want[i]);
}

/**
 * Finds positions of blocks and attributes by path in one file's text.
 * Builds its index on first use.
 */
export class SourceLocator {
  readonly #src: string;
  readonly #hcl: boolean;
  #tree?: BlockNode;
  #lines?: LineIndex;

  constructor(src: string, hcl: boolean) {
    this.#src = src;
    this.#hcl = hcl;
  }

  get tree(): BlockNode {
    return (this.#tree ??= parseBlockTree(this.#src));
  }

  lineOf(offset: number): LinePos {
    return (this.#lines ??= new LineIndex(this.#src)).at(offset);
  }

  /** Best position for the path: the attribute, else the deepest block found; undefined when nothing matched. */
  locate(blocks: PathStep[], attr?: string): LinePos | undefined {
    return this.#hcl ? this.#locateHcl(blocks, attr) : this.#locateText(blocks, attr);
  }

  #locateHcl(blocks: PathStep[], attr?: string): LinePos | undefined {
    let node = this.tree;
    let best: number | undefined;
    for (const step of blocks) {
      const same = node.children.filter((c) => c.type === step.type && sameLabels(c.labels, step.labels));
      const found = same[step.index ?? 0] ?? same[0];
      if (!found) {
        // A label-less lookup ("task directly under job"): try by type only.
        const byType = node.children.find((c) => c.type === step.type);
        if (!byType) break;
        node = byType;
      } else node = found;
      best = node.start;
    }
    if (attr !== undefined && node.attrs.has(attr)) best = node.attrs.get(attr);
    else if (attr !== undefined) {
      const child = node.children.find((c) => c.type === attr);
      if (child) best = child.start;
    }
    return best === undefined ? undefined : this.lineOf(best);
  }

  /** Position of a block's last label (its opening quote): where a bad name is. Falls back to `locate`. */
  locateLabel(blocks: PathStep[]): LinePos | undefined {
    if (!this.#hcl) return this.#locateText(blocks); // the text search ends on the last label
    const node = this.#findHcl(blocks);
    const at = node?.labelStarts[node.labelStarts.length - 1];
    return at === undefined ? this.#locateHcl(blocks) : this.lineOf(at);
  }

  /** The block at exactly this path, or undefined. */
  #findHcl(blocks: PathStep[]): BlockNode | undefined {
    let node: BlockNode | undefined = this.tree;
    for (const step of blocks) {
      const same: BlockNode[] = node.children.filter((c) => c.type === step.type && sameLabels(c.labels, step.labels));
      node = same[step.index ?? 0] ?? same[0];
      if (!node) return undefined;
    }
    return node;
  }

  #locateText(blocks: PathStep[], attr?: string): LinePos | undefined {
    let from = 0;
    let best: number | undefined;
    const names = blocks.flatMap((s) => [s.type, ...(s.labels ?? [])]);
    if (attr !== undefined) names.push(attr);
    for (const name of names) {
      const found = this.#findKey(name, from);
      if (!found) continue;
      best = found.start;
      from = found.end;
    }
    return best === undefined ? undefined : this.lineOf(best);
  }

  /**
   * The first key spelled `name` at or after `from` in TOML or JSON text: bare
   * or plainly quoted, or a quoted key whose escapes decode to `name`
   * (`"a\u0000b"`, `"..\/etc"`, TOML's `'a\b'`). `end` is just past the key.
   */
  #findKey(name: string, from: number): { start: number; end: number } | undefined {
    const src = this.#src;
    // A name TOML can write bare is found bare or plainly quoted, by one regex (`^`: a real line
    // start); any other name quoted as is, else by decoding each quoted string (slower).
    if (/^[A-Za-z0-9_-]+$/.test(name)) {
      const bare = new RegExp(`(^|[\\s{,.\\[])("?${name}"?)\\s*[=:.\\]\\n]`, 'gm');
      bare.lastIndex = from;
      const m = bare.exec(src);
      return m ? { start: m.index + m[1].length, end: m.index + m[1].length + m[2].length } : undefined;
    }
    const isKey = /\s*[=:.\]]/y; // what follows a key, not a value
    const keyAt = (at: number, length: number): boolean => {
      isKey.lastIndex = at + length;
      return isKey.test(src);
    };
    // Written as is between quotes (the usual case): a plain search.
    for (const quote of ['"', "'"]) {
      const written = `${quote}${name}${quote}`;
      for (let at = src.indexOf(written, from); at >= 0; at = src.indexOf(written, at + 1)) {
        if (keyAt(at, written.length)) return { start: at, end: at + written.length };
      }
    }
    const quoted = /"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'/g;
    quoted.lastIndex = from;
    for (let q = quoted.exec(src); q; q = quoted.exec(src)) {
      const value = q[2] ?? (!q[1].includes('\\') ? q[1] : q[1].replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)/g, (e, esc: string) => decodeEscape(esc) ?? e));
      if (value !== name || !keyAt(q.index, q[0].length)) continue;
      return { start: q.index, end: q.index + q[0].length };
    }
    return undefined;
  }
}
