/**
 * Sums a V8 heap snapshot (.heapsnapshot, as bench/agent-memory.ts
 * --snapshot writes them) by node type and constructor: count and self
 * size, the biggest first; with `--retained`, also the size each of the top
 * constructors keeps alive (dominator tree, Cooper–Harvey–Kennedy), which is
 * what answers "what holds the memory".
 *
 * `--owners K` (with --retained) lists the K single objects that keep the
 * most alive, each with its chain of dominators up to a root.
 *
 *   node --import tsx bench/heap-summary.ts FILE.heapsnapshot [--top 40] [--retained] [--owners 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, retained: { type: 'boolean', default: false }, owners: { type: 'string', default: '0' } },
});
const TOP = Number(opt.top);
const snap = JSON.parse(readFileSync(positionals[0], 'utf8')) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
};
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eTo = meta.edge_fields.indexOf('to_node');
const types = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const weak = edgeTypes.indexOf('weak');
const N = snap.nodes.length / NF;

const keyOf = (i: number): string => {
  const t = types[snap.nodes[i * NF + nType]];
  const name = snap.strings[snap.nodes[i * NF + nName]];
  if (t === 'object' || t === 'closure' || t === 'native') return `${t} ${name.slice(0, 60)}`;
  if (t === 'hidden' || t === 'code' || t === 'array') return `${t} ${name.slice(0, 40)}`;
  return t;
};

const groups = new Map<string, { count: number; self: number; retained: number }>();
let total = 0;
for (let i = 0; i < N; i++) {
  const k = keyOf(i);
  const size = snap.nodes[i * NF + nSize];
  total += size;
  const g = groups.get(k) ?? { count: 0, self: 0, retained: 0 };
  g.count++;
  g.self += size;
  groups.set(k, g);
}

if (opt.retained) {
  // Edges as CSR: the first edge of node i is at firstEdge[i].
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += snap.nodes[i * NF + nEdges];
    firstEdge[i + 1] = e;
  }
  const succ = (i: number, f: (j: number) => void) => {
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e++) {
      if (snap.edges[e * EF + eType] === weak) continue;
      f(snap.edges[e * EF + eTo] / NF);
    }
  };
  // Post-order from the root (node 0), iteratively.
  const order = new Int32Array(N).fill(-1);
  const post: number[] = [];
  const seen = new Uint8Array(N);
  const stack: number[] = [0];
  const iter = new Uint32Array(N);
  seen[0] = 1;
  for (let i = 0; i < N; i++) iter[i] = firstEdge[i];
  while (stack.length) {
    const v = stack[stack.length - 1];
    let pushed = false;
    while (iter[v] < firstEdge[v + 1]) {
      const e = iter[v]++;
      if (snap.edges[e * EF + eType] === weak) continue;
      const w = snap.edges[e * EF + eTo] / NF;
      if (!seen[w]) {
        seen[w] = 1;
        stack.push(w);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
  const preds: number[][] = Array.from({ length: N }, () => []);
  for (const v of post) succ(v, (w) => preds[w].push(v));
  const idom = new Int32Array(N).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a] < order[b]) a = idom[a];
      while (order[b] < order[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = post.length - 1; k >= 0; k--) {
      const v = post[k];
      if (v === 0) continue;
      let d = -1;
      for (const p of preds[v]) if (idom[p] !== -1 && order[p] !== -1) d = d === -1 ? p : intersect(p, d);
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(N);
  for (const v of post) retained[v] += snap.nodes[v * NF + nSize];
  for (const v of post) if (v !== 0 && idom[v] >= 0 && idom[v] !== v) retained[idom[v]] += retained[v];
  // A group's retained size: its members not dominated by another member of the group
  // (a walk of the dominator tree, counting the groups on the path from the root).
  const keyIds = new Map<string, number>();
  const keyName: string[] = [];
  const keyId = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const k = keyOf(i);
    let id = keyIds.get(k);
    if (id === undefined) {
      id = keyName.length;
      keyIds.set(k, id);
      keyName.push(k);
    }
    keyId[i] = id;
  }
  const owners = Number(opt.owners);
  if (owners > 0) {
    const label = (v: number) => `${keyOf(v)}${types[snap.nodes[v * NF + nType]] === 'string' ? ` "${snap.strings[snap.nodes[v * NF + nName]].slice(0, 30)}"` : ''} @${v}`;
    const big = post.filter((v) => v !== 0 && !keyOf(v).startsWith('synthetic')).sort((a, b) => retained[b] - retained[a]);
    const shown = new Set<number>();
    const lines: string[] = [];
    for (const v of big) {
      if (lines.length >= owners) break;
      // Skip an object whose dominator chain holds one already shown with ≥ 90 % of its size (the same memory).
      let d = idom[v];
      let dup = false;
      while (d > 0 && d !== idom[d]) {
        if (shown.has(d) && retained[v] >= 0.9 * retained[d]) dup = true;
        d = idom[d];
      }
      shown.add(v);
      if (dup) continue;
      const chain: string[] = [];
      for (let u = idom[v], k = 0; u > 0 && k < 8; u = idom[u], k++) chain.push(label(u));
      lines.push(`${(retained[v] / 1048576).toFixed(2)} MiB  ${label(v)}  <= ${chain.join(' <= ')}`);
    }
    console.log(`\nBiggest owners (retained, then dominators):\n${lines.join('\n')}\n`);
  }
  const kids: number[][] = Array.from({ length: N }, () => []);
  for (const v of post) if (v !== 0 && idom[v] >= 0) kids[idom[v]].push(v);
  const onPath = new Int32Array(keyName.length);
  const walk: [number, number][] = [[0, 0]];
  while (walk.length) {
    const top = walk[walk.length - 1];
    const [v, next] = top;
    if (next === 0) {
      if (onPath[keyId[v]] === 0) groups.get(keyName[keyId[v]])!.retained += retained[v];
      onPath[keyId[v]]++;
    }
    if (next < kids[v].length) {
      top[1]++;
      walk.push([kids[v][next], 0]);
    } else {
      onPath[keyId[v]]--;
      walk.pop();
    }
  }
}

const mib = (b: number) => (b / 1048576).toFixed(2);
console.log(`${N.toLocaleString('en-US')} nodes, ${mib(total)} MiB self size in all`);
console.log(`\n| type / constructor | count | self MiB |${opt.retained ? ' retained MiB |' : ''}\n|---|---:|---:|${opt.retained ? '---:|' : ''}`);
const rows = [...groups].sort((a, b) => (opt.retained ? b[1].retained - a[1].retained : b[1].self - a[1].self)).slice(0, TOP);
for (const [k, g] of rows) console.log(`| ${k.replace(/\|/g, '\\|')} | ${g.count} | ${mib(g.self)} |${opt.retained ? ` ${mib(g.retained)} |` : ''}`);
