/**
 * The web status page in a real headless Chromium (Debian's `chromium`,
 * driven by playwright-core; as root it runs with --no-sandbox) against a
 * real agent (`bin/tend.js agent`, plain executor, raw_exec tasks) on
 * loopback TCP with a token, and through `tendctl ui`'s proxy on the unix
 * socket. One browser for the whole file; the cases share one page, which is
 * never reloaded: what appears comes from the agent's event stream.
 * Screenshots go to a temp dir kept after the run (its path is printed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { createHarness, type Harness } from '../agent/harness.js';
import { waitFor } from '../../helpers/wait.js';
import { killCliChildren, startCli } from '../../helpers/cli.js';
import { chromiumPath, requireChromium, requireLinux } from '../../helpers/gates.js';
import { platform } from '../../../src/platform.js';
import { isAlive } from '../../../src/executor/proc.js';

const TOKEN = randomBytes(18).toString('base64url');
const WEB = 'web/g[0]/t';
const CRASH = 'crash/g[0]/t';

let h: Harness | undefined;
let base = '';
let shots = '';
let browser: Browser | undefined;
let page: Page | undefined;
/** Console errors, uncaught errors and CSP violations of the main page. */
const problems: string[] = [];

function shJob(name: string, script: string, extra = ''): string {
  return `job "${name}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(script)}]
      }
      kill_timeout = "1s"
      resources {
        cpu    = 100
        memory = 64
      }
${extra}    }
  }
}
`;
}

const webJob = shJob('web', 'echo err-line >&2; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.5; done');
const crashJob = shJob('crash', 'echo boom; exit 1', '      restart {\n        attempts = 100\n        interval = "1h"\n        delay    = "200ms"\n        mode     = "delay"\n      }\n');

before(async () => {
  h = await createHarness({ tcp: { address: '127.0.0.1:0', token: TOKEN } });
  // The browser starts while the agent does (the tests' gates say when there is none).
  await Promise.all([h.start(), chromiumPath() ? launch() : undefined]);
  await waitFor(() => h!.tcpUrl() !== undefined, { what: 'the agent listening on TCP', timeoutMs: 10_000 });
  base = h.tcpUrl()!;
  shots = await mkdtemp(path.join(os.tmpdir(), 'tend-ui-shots-'));
});

after(async () => {
  await browser?.close().catch(() => {});
  killCliChildren();
  await h?.cleanup();
});

async function launch(): Promise<Browser> {
  // As root Chromium refuses to start without --no-sandbox (its sandbox needs an unprivileged user).
  browser ??= await chromium.launch({ executablePath: chromiumPath(), headless: true, args: platform().isRoot ? ['--no-sandbox'] : [] });
  return browser;
}

async function newPage(opts: BrowserContextOptions = {}): Promise<Page> {
  const ctx = await (await launch()).newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  return ctx.newPage();
}

/** The page the cases share, opened with the token in its fragment; undefined when the test is skipped. */
async function mainPage(t: import('node:test').TestContext): Promise<Page | undefined> {
  if (!requireLinux(t) || !requireChromium(t)) return undefined;
  if (page) return page;
  const p = await newPage();
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(e.message));
  await p.goto(`${base}/ui/#token=${TOKEN}`);
  await p.locator('.pill.live').waitFor({ timeout: 10_000 });
  assert.equal(new URL(p.url()).hash, '', 'the token left the address bar');
  page = p;
  return p;
}

async function shot(p: Page, name: string, t: import('node:test').TestContext, fullPage = false): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await p.screenshot({ path: file, fullPage });
  t.diagnostic(`screenshot: ${file}`);
}

/** Text on the page whose contrast with what is behind it is below 4.5:1 (WCAG AA), as `tag.class: ratio "text"`. */
async function lowContrast(p: Page): Promise<string[]> {
  // tsx names the inner functions through a helper the page lacks (evaluated by the debugger, not the page's CSP).
  await p.evaluate('globalThis.__name ??= (f) => f');
  return p.evaluate(() => {
    type Rgba = { r: number; g: number; b: number; a: number };
    const parse = (c: string): Rgba | undefined => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return undefined;
      const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = (c: Rgba) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
    };
    const behind = (el: Element): Rgba => {
      for (let e: Element | null = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const out: string[] = [];
    let checked = 0;
    for (const el of document.querySelectorAll('body *')) {
      if (![...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim())) continue;
      const st = getComputedStyle(el);
      if (st.display === 'none' || st.visibility === 'hidden' || el.closest('.sr-only')) continue;
      checked++;
      const fg = parse(st.color);
      const [hi, lo] = fg ? [lum(fg), lum(behind(el))].sort((x, y) => y - x) : [NaN, NaN];
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (!(ratio >= 4.5)) out.push(`${el.tagName.toLowerCase()}.${el.className}: ${ratio.toFixed(2)} "${el.textContent?.trim().slice(0, 30)}"`);
    }
    // Nothing checked would pass for nothing wrong.
    if (checked < 30) out.push(`only ${checked} elements with text checked`);
    return out;
  });
}

const row = (p: Page, id: string) => p.locator(`tr[data-task="${id}"]`);
const cell = (p: Page, id: string, field: string) => row(p, id).locator(`[data-field="${field}"]`);

test('web page: a task appears within seconds of its file landing, running, with its pid', async (t) => {
  const p = await mainPage(t);
  if (!p) return;
  const t0 = Date.now();
  await h!.writeJob('web.hcl', webJob);
  await p.locator(`tr[data-task="${WEB}"][data-state="running"]`).waitFor({ timeout: 10_000 });
  const ms = Date.now() - t0;
  t.diagnostic(`the row showed "running" ${ms} ms after the file landed`);
  assert.ok(ms < 10_000);
  const pid = Number(await cell(p, WEB, 'pid').textContent());
  assert.equal(pid, h!.records()[WEB]?.handle?.pid, "the task's pid, as the agent recorded it");
  assert.ok(isAlive(pid));
  await shot(p, '1-task-appears', t);
});

test('web page: a crash loop shows its restarts as they happen', async (t) => {
  const p = await mainPage(t);
  if (!p) return;
  await h!.writeJob('crash.hcl', crashJob);
  const restarts = cell(p, CRASH, 'restarts');
  await restarts.waitFor({ timeout: 10_000 });
  let shown = 0;
  await waitFor(async () => (shown = Number(await restarts.textContent())) >= 3, { what: 'three restarts on the page', timeoutMs: 15_000, intervalMs: 100 });
  assert.ok((h!.records()[CRASH]?.restarts ?? 0) >= shown, 'the page shows what the agent counted');
  // Keyboard: filter to the crash loop, then sort by restarts, largest first.
  await p.getByLabel('Filter').focus();
  await p.keyboard.type('crash');
  await waitFor(async () => (await p.locator('tr[data-task]').count()) === 1, { what: 'only the crash loop left by the filter' });
  await p.keyboard.press('Control+A');
  await p.keyboard.press('Backspace');
  await waitFor(async () => (await p.locator('tr[data-task]').count()) === 2, { what: 'both tasks back' });
  await p.getByRole('button', { name: 'Restarts' }).focus();
  await p.keyboard.press('Enter');
  assert.equal(await p.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending');
  assert.equal(await p.locator('tr[data-task]').first().getAttribute('data-task'), CRASH, 'the crash loop first by restarts');
  await shot(p, '2-crash-loop', t);
  await p.getByRole('button', { name: 'Task' }).click();
});

test('web page: a task view shows live output, stdout and stderr', async (t) => {
  const p = await mainPage(t);
  if (!p) return;
  await row(p, WEB).getByRole('link').click();
  await p.getByRole('heading', { name: WEB }).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement?.id), 'detail-title', 'focus moves to the task');
  const log = p.locator('pre.log');
  const ticks = async () => [...((await log.textContent()) ?? '').matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  await waitFor(async () => (await ticks()).length > 0, { what: 'output on the page', timeoutMs: 10_000 });
  const first = Math.max(...(await ticks()));
  await waitFor(async () => Math.max(...(await ticks())) > first + 1, { what: `a line after "tick ${first}" arriving live`, timeoutMs: 10_000, intervalMs: 50 });
  await p.getByRole('button', { name: 'stderr' }).click();
  await waitFor(async () => ((await log.textContent()) ?? '').includes('err-line'), { what: 'stderr on the page', timeoutMs: 10_000 });
  assert.doesNotMatch((await log.textContent()) ?? '', /tick/, 'stdout is gone once stderr is chosen');
  assert.match((await p.locator('.spec pre').textContent()) ?? '', /driver\s*=\s*"raw_exec"/);
  await p.locator('.events tbody tr').first().waitFor();
  // Its memory from the agent's sampler, drawn.
  const memory = p.locator('figure.chart', { hasText: 'Memory' });
  await waitFor(async () => /\d (KiB|MiB)$/.test((await memory.locator('.chart-now').textContent()) ?? ''), { what: 'a memory sample on the chart', timeoutMs: 10_000, intervalMs: 100 });
  assert.equal(await memory.locator('.chart-dot, .chart-line').count(), 1);
  await p.getByRole('button', { name: 'stdout' }).click();
  await waitFor(async () => (await ticks()).length > 0, { what: 'stdout again', timeoutMs: 10_000 });
  assert.deepEqual(await lowContrast(p), [], 'text contrast, light');
  await shot(p, '3-task-view', t);
  await p.keyboard.press('Escape');
  await p.locator('section.detail').waitFor({ state: 'detached' });
});

test('web page: removing a file removes its rows', async (t) => {
  const p = await mainPage(t);
  if (!p) return;
  const t0 = Date.now();
  await rm(path.join(h!.jobsDir, 'crash.hcl'));
  await waitFor(() => !Object.keys(h!.records()).some((id) => id.startsWith('crash/')), { what: 'the agent to forget the crash loop', timeoutMs: 15_000, intervalMs: 20 });
  const agentMs = Date.now() - t0;
  await p.locator('tbody[data-job="crash"]').waitFor({ state: 'detached', timeout: 15_000 });
  t.diagnostic(`the agent dropped the task ${agentMs} ms after the file went, the page ${Date.now() - t0} ms after`);
  assert.equal(await row(p, WEB).count(), 1, 'the other job stays');
  await shot(p, '4-file-removed', t);
});

test('web page: a job that does not run as written says why: the file, the line, the reason', async (t) => {
  const p = await mainPage(t);
  if (!p) return;
  const bad = shJob('bad', 'exec sleep 1000').replace('memory = 64', 'memroy = 64');
  const badLine = bad.split('\n').findIndex((l) => l.includes('memroy')) + 1;
  await h!.writeJob('bad.hcl', bad);
  await h!.writeJob('far.hcl', shJob('far', 'exec sleep 1000').replace('  group "g" {', '  constraint {\n    attribute = "${attr.kernel.name}"\n    value     = "windows"\n  }\n  group "g" {'));
  await h!.writeJob('iso.hcl', shJob('iso', 'exec sleep 1000').replace('driver = "raw_exec"', 'driver = "exec"'));
  // Never loaded: a line of its own, with the diagnostic as tendctl validate prints it.
  const file = p.locator('tbody[data-file$="/bad.hcl"]');
  await file.waitFor({ timeout: 10_000 });
  assert.match((await file.textContent()) ?? '', new RegExp(`bad\\.hcl:${badLine}:\\d+: .*memroy`));
  const far = p.locator('tbody[data-job="far"]');
  await far.waitFor({ timeout: 10_000 });
  assert.match((await far.textContent()) ?? '', /excluded.*not for this node/s);
  const iso = p.locator('tbody[data-job="iso"]');
  await iso.locator('tr[data-task]').waitFor({ timeout: 10_000 });
  assert.match((await iso.textContent()) ?? '', /exec.*unavailable/s);
  await shot(p, '5-why-not', t);
  for (const f of ['bad.hcl', 'far.hcl', 'iso.hcl']) await rm(path.join(h!.jobsDir, f));
  await p.locator('tbody[data-file], tbody[data-job="far"], tbody[data-job="iso"]').first().waitFor({ state: 'detached', timeout: 15_000 });
  await waitFor(async () => (await p.locator('tbody[data-file], tbody[data-job="far"], tbody[data-job="iso"]').count()) === 0, { what: 'the three gone', timeoutMs: 15_000 });
});

test('web page: a wrong token gets 401 and the token form; the right one opens the page', async (t) => {
  if (!requireLinux(t) || !requireChromium(t)) return;
  const direct = await fetch(`${base}/v1/jobs`, { headers: { authorization: 'Bearer wrong' } });
  assert.equal(direct.status, 401);
  assert.equal((await fetch(`${base}/v1/jobs`)).status, 401, 'no token, no data');
  const p = await newPage();
  const refused = p.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/v1/') && r.status() === 401);
  await p.goto(`${base}/ui/#token=wrong`);
  await refused;
  await p.getByText('The agent refused this token (401)').waitFor();
  assert.equal(await row(p, WEB).count(), 0, 'no data shown');
  await shot(p, '6-wrong-token', t);
  await p.getByLabel('API token').fill(TOKEN);
  await p.keyboard.press('Enter');
  await row(p, WEB).waitFor({ timeout: 10_000 });
  await p.context().close();
});

test('web page: served with a strict CSP, right content types and caching', async (t) => {
  if (!requireLinux(t)) return;
  const index = await fetch(`${base}/ui/`);
  assert.equal(index.status, 200, 'the page itself needs no token (it holds no data)');
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const csp = index.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  const html = await index.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /https?:\/\//, 'nothing from elsewhere: the page works offline');
  const again = await fetch(`${base}/ui/`, { headers: { 'if-none-match': index.headers.get('etag') ?? '' } });
  assert.equal(again.status, 304);
  const js = /src="([^"]+\.js)"/.exec(html)?.[1];
  const css = /href="([^"]+\.css)"/.exec(html)?.[1];
  assert.ok(js && css, html);
  const script = await fetch(`${base}/ui/${js}`);
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const style = await fetch(`${base}/ui/${css}`);
  assert.equal(style.headers.get('content-type'), 'text/css; charset=utf-8');
  const size = (await script.arrayBuffer()).byteLength + (await style.arrayBuffer()).byteLength;
  t.diagnostic(`script and style: ${(size / 1024).toFixed(1)} KiB`);
  assert.ok(size < 150 * 1024, `a small page (${size} bytes)`);
  assert.equal((await fetch(`${base}/ui`, { redirect: 'manual' })).headers.get('location'), '/ui/');
  assert.equal((await fetch(`${base}/ui/nope.js`)).status, 404);
  assert.equal((await fetch(`${base}/ui/`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 405);
  assert.equal((await fetch(`${base}/ui/`, { method: 'POST' })).status, 401, 'writes need the token, even to the page');
});

test('web page: on a phone, in the dark, it fits the screen', async (t) => {
  if (!requireLinux(t) || !requireChromium(t)) return;
  const p = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
  await p.goto(`${base}/ui/#token=${TOKEN}`);
  await row(p, WEB).waitFor({ timeout: 10_000 });
  // Against the phone's width: a mobile browser widens its layout viewport to content that overflows.
  const width = () => p.evaluate(() => document.documentElement.scrollWidth);
  const wide = () => p.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 && !e.closest('table')).slice(0, 6).map((e) => `${e.tagName}.${e.className}:${Math.round(e.getBoundingClientRect().right)}`).join(' '));
  assert.ok((await width()) <= 390, `no sideways scrolling of the page (${await width()} px wide: ${await wide()})`);
  const bg = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(bg, 'rgb(13, 17, 23)', 'dark colours');
  await row(p, WEB).getByRole('link').click();
  await p.locator('pre.log').getByText('tick').first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await lowContrast(p), [], 'text contrast, dark');
  assert.ok((await width()) <= 390, `a task fits the screen too (${await width()} px wide: ${await wide()})`);
  await shot(p, '7-phone-dark', t, true);
  await p.context().close();
});

test('tendctl ui: on the unix socket, a loopback proxy whose link works once', async (t) => {
  if (!requireLinux(t) || !requireChromium(t)) return;
  const ui = startCli(['ui', '-address', `unix://${h!.socket}`], { env: { TEND_TOKEN: '', TEND_ADDR: '' } });
  await waitFor(() => /^http:\/\/127\.0\.0\.1:\d+\/ui\/\?login=\S+$/m.test(ui.out.stdout), { what: 'the URL tendctl ui prints', timeoutMs: 15_000 });
  const link = ui.out.stdout.trim();
  const origin = new URL(link).origin;
  const p = await newPage();
  await p.goto(link);
  await row(p, WEB).waitFor({ timeout: 10_000 });
  assert.equal(new URL(p.url()).search + new URL(p.url()).hash, '', 'neither link nor session left in the address bar');
  await shot(p, '8-proxy', t);
  // Used once: the same link, now, is refused; so is the API without the session.
  assert.equal((await fetch(link, { redirect: 'manual' })).status, 401);
  assert.equal((await fetch(`${origin}/v1/node`)).status, 401);
  assert.equal((await fetch(`${origin}/v1/node`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${origin}/metrics`)).status, 404);
  await p.context().close();
  ui.child.kill('SIGTERM');
  assert.equal((await ui.done).code, 0, ui.out.stderr);
});

test('web page: no console errors, no CSP violations on the main page', async (t) => {
  if (!page) return t.skip('the main page did not open');
  assert.deepEqual(problems, []);
  t.diagnostic(`screenshots in ${shots}`);
});
