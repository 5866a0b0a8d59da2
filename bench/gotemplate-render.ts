/**
 * The template engine alone (src/gotemplate): parse + render 1,000 distinct,
 * typical `template` blocks (env files from Nomad variables, YAML and TOML
 * configs with ranges, conditionals, printf, toJSON), then re-render the
 * parsed templates (what a variable change costs), next to the floor of
 * writing the same bytes to 1,000 files (plain, and atomically: temp file +
 * rename, as a template destination is written).
 *
 *   node --import tsx bench/gotemplate-render.ts [N] [rounds]
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StoredVariable } from '../src/gotemplate/gotemplate.js';
import { parseTemplate, render, type CompiledTemplate } from '../src/gotemplate/template.js';

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 5);

function templateText(i: number): string {
  switch (i % 4) {
    case 0:
      return `# env for job-${i}
{{ with nomadVar "nomad/jobs/job-${i}" -}}
{{ range $k, $v := . }}{{ $k | toUpper }}={{ $v.Value | toJSON }}
{{ end -}}
{{ end -}}
ALLOC={{ env "NOMAD_ALLOC_ID" }}
PORT={{ env "NOMAD_PORT_http" }}
`;
    case 1:
      return `server:
  listen: "{{ env "NOMAD_IP_http" }}:{{ env "NOMAD_PORT_http" }}"
  name: job-${i}
upstreams:
{{- range nomadVarList "nomad/jobs/job-${i}" }}
{{- with nomadVar .Path }}
  - url: {{ .url }}
    weight: {{ if .weight.Value }}{{ .weight }}{{ else }}1{{ end }}
{{- end }}
{{- end }}
workers: {{ add 2 (len (split "," "a,b,c")) }}
`;
    case 2:
      return `[main]
job = "job-${i}"
{{ $v := nomadVar "nomad/jobs/job-${i}" -}}
{{- range $i := loop 4 }}
[worker.{{ $i }}]
threads = {{ multiply 2 $i }}
{{- if eq (modulo 2 $i) 0 }}
role = "even"
{{- else }}
role = "odd"
{{- end }}
{{- end }}
user = {{ printf "%q" $v.user.Value }}
checksum = "{{ $v.password.Value | sha256Hex | printf "%.12s" }}"
`;
    default:
      return `{{ define "kv" }}{{ .K }}: {{ .V }}{{ end -}}
{{ with nomadVar "nomad/jobs/job-${i}" -}}
{{ range .Tuples }}{{ template "kv" . }}
{{ end -}}
keys: {{ .Keys | toJSON }}
{{- end }}
started: {{ timestamp "2006-01-02" }}
`;
  }
}

function variables(i: number): StoredVariable[] {
  return [
    { path: `nomad/jobs/job-${i}`, items: { user: `user-${i}`, password: `pw-${i}-${'x'.repeat(i % 20)}`, url: `http://10.0.${i % 250}.1:80${i % 10}`, weight: String(i % 5) } },
    { path: `nomad/jobs/job-${i}/extra`, items: { url: `http://10.1.${i % 250}.2:9000`, weight: '' } },
  ];
}

const store = (vars: StoredVariable[]) => ({
  get: (p: string) => vars.find((v) => v.path === p),
  list: (pre: string) => vars.filter((v) => v.path.startsWith(pre)),
});
const env = { NOMAD_ALLOC_ID: '3f2a9c1e-0000-4000-8000-000000000000', NOMAD_PORT_http: '23456', NOMAD_IP_http: '10.0.0.5' };
const now = () => new Date(Date.UTC(2026, 10, 30));

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const ms = (ns: bigint) => Number(ns) / 1e6;

const texts = Array.from({ length: N }, (_, i) => templateText(i));
const ctxs = Array.from({ length: N }, (_, i) => ({ env, vars: store(variables(i)), now }));
const dir = mkdtempSync(path.join(tmpdir(), 'tend-gotmpl-bench-'));

interface Row {
  what: string;
  totals: number[];
  per: number[];
}
const rows: Row[] = [
  { what: 'parse + render (1,000 distinct templates)', totals: [], per: [] },
  { what: 're-render the parsed templates (an input changed)', totals: [], per: [] },
  { what: 'floor: write the same bytes to 1,000 files', totals: [], per: [] },
  { what: 'floor: write them atomically (temp + rename)', totals: [], per: [] },
];

let outputs: string[] = [];
let bytes = 0;
for (let round = 0; round < ROUNDS; round++) {
  // 1. parse + render
  const compiled: CompiledTemplate[] = [];
  outputs = [];
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    const c = parseTemplate(texts[i], { name: `jobs/job-${i}.hcl`, baseLine: 40 });
    compiled.push(c);
    outputs.push(render(c, ctxs[i]).text);
    rows[0].per.push(ms(process.hrtime.bigint() - s));
  }
  rows[0].totals.push(ms(process.hrtime.bigint() - t0));
  bytes = outputs.reduce((a, o) => a + Buffer.byteLength(o), 0);

  // 2. re-render only
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    const out = render(compiled[i], ctxs[i]).text;
    if (out !== outputs[i]) throw new Error(`render of ${i} is not stable`);
    rows[1].per.push(ms(process.hrtime.bigint() - s));
  }
  rows[1].totals.push(ms(process.hrtime.bigint() - t0));

  // 3. floor: plain writes
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    writeFileSync(path.join(dir, `out-${i}`), outputs[i]);
    rows[2].per.push(ms(process.hrtime.bigint() - s));
  }
  rows[2].totals.push(ms(process.hrtime.bigint() - t0));

  // 4. floor: atomic writes
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    const tmp = path.join(dir, `.out-${i}.tmp`);
    writeFileSync(tmp, outputs[i]);
    renameSync(tmp, path.join(dir, `out-${i}`));
    rows[3].per.push(ms(process.hrtime.bigint() - s));
  }
  rows[3].totals.push(ms(process.hrtime.bigint() - t0));
}
rmSync(dir, { recursive: true, force: true });

console.log(`${N} templates × ${ROUNDS} rounds, ${(bytes / 1024).toFixed(0)} KiB of output per round, node ${process.version}\n`);
console.log('| what | total ms (median of rounds) | p50 µs/template | p99 µs/template |');
console.log('|---|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.what} | ${quantile(r.totals, 0.5).toFixed(1)} | ${(quantile(r.per, 0.5) * 1000).toFixed(0)} | ${(quantile(r.per, 0.99) * 1000).toFixed(0)} |`);
}
