/**
 * The API server against slow and hostile clients, on real sockets: clients
 * that connect and send nothing or trickle header bytes, a connection flood
 * past the cap, bodies sent with a wrong token, a JSON body that never ends
 * and a kept-alive connection left idle. Meanwhile the calls `tendctl status`
 * makes must still answer, and the long-lived streams (events -f, logs -f,
 * exec -i) must outlive every deadline. Deadlines are shortened through
 * `limits` so the file runs in seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, on } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { startApiServer, type ApiServerOptions } from '../../src/api/server.js';
import { PromMetrics } from '../../src/api/metrics.js';
import { createClient, type TendClient } from '../../src/api/client.js';
import type { TaskEvent } from '../../src/api/api.js';
import { FakeAgent, agentWithTasks, capturingLogger } from '../e2e/api/fake-agent.js';
import { waitFor } from '../helpers/wait.js';

type T = { after(fn: () => unknown): void };

const TOKEN = 'security-test-token';
const TASK = 'web/g[0]/t';



async function serve(t: T, agent: FakeAgent, o: Partial<ApiServerOptions> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tend-sec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const metrics = new PromMetrics({ defaultMetrics: false });
  const server = await startApiServer(agent, {
    socket: path.join(dir, 'tend.sock'),
    address: '127.0.0.1:0',
    token: TOKEN,
    logger: pino({ level: 'silent' }),
    metrics,
    ...o,
  });
  t.after(() => server.close());
  const url = server.tcpUrl ? new URL(server.tcpUrl) : undefined;
  const tcp = { host: url?.hostname, port: Number(url?.port) };
  const unix = { path: server.socket };
  return { dir, server, metrics, tcp, unix };
}

/** One sample of the registry's Prometheus text, e.g. `tend_api_connections{listener="tcp"}`; undefined when absent. */
async function sample(metrics: PromMetrics, series: string): Promise<number | undefined> {
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** A raw client connection and what happened to it, in performance.now() ms. */
interface Probe {
  socket: net.Socket;
  openedAt: number;
  connectedAt?: number;
  /** When the connection ended; the tests never end a probe themselves before the assertions, so this is the server's doing. */
  closedAt?: number;
  received: string;
}

/** Opens a raw connection that sends `first` (if any) once connected; every probe is destroyed after the test. */
function probe(t: T, target: net.NetConnectOpts, first?: string): Probe {
  const socket = net.connect(target);
  const p: Probe = { socket, openedAt: performance.now(), received: '' };
  socket.setEncoding('latin1');
  socket.on('connect', () => {
    p.connectedAt = performance.now();
    if (first) socket.write(first);
  });
  socket.on('data', (d: string) => (p.received += d));
  socket.on('error', () => {}); // EPIPE/ECONNRESET once the server cut it: that is the point
  socket.on('close', () => (p.closedAt ??= performance.now()));
  t.after(() => socket.destroy());
  return p;
}

const isClosed = (p: Probe) => p.closedAt !== undefined;
const statusOf = (p: Probe) => /^HTTP\/1\.1 (\d{3}) /.exec(p.received)?.[1];

/** The calls `tendctl status` makes, timed. */
async function statusCall(client: TendClient): Promise<number> {
  const started = performance.now();
  const [jobs, files] = await Promise.all([client.jobs(), client.files()]);
  assert.equal(jobs[0].tasks[0].id, TASK);
  assert.ok(Array.isArray(files));
  return performance.now() - started;
}

/** Opens `n` slow clients in batches of 50, each batch once the server took or refused the one before; a third of them trickle header lines until closed. */
async function slowClients(t: T, target: net.NetConnectOpts, n: number, seenByServer: () => Promise<number>): Promise<Probe[]> {
  const probes: Probe[] = [];
  const trickling: Probe[] = [];
  while (probes.length < n) {
    for (let i = 0; i < 50 && probes.length < n; i++) {
      // Silent, a request line cut short, or headers that never end.
      const kind = probes.length % 3;
      const p = probe(t, target, kind === 1 ? 'GE' : kind === 2 ? 'GET /v1/jobs HTTP/1.1\r\n' : undefined);
      if (kind === 2) trickling.push(p);
      probes.push(p);
    }
    // A burst that overflows the accept queue would stall handshakes for the
    // kernel's 1 s SYN-ACK retry: the test's doing, not the server's.
    await waitFor(async () => (await seenByServer()) >= probes.length, { what: `the server to take or refuse ${probes.length} connections`, timeoutMs: 10_000 });
  }
  const trickle = setInterval(() => {
    for (const p of trickling) if (!isClosed(p)) p.socket.write('x-trickle: 1\r\n');
  }, 100);
  t.after(() => clearInterval(trickle));
  return probes;
}

test('api security: 600 slow TCP clients past a cap of 200 are refused at once, and the unix socket still answers status', async (t) => {
  const CAP = 200;
  const lines: string[] = [];
  // No header deadline within the test: what ends connections here is the cap alone.
  const { metrics, tcp, unix } = await serve(t, agentWithTasks(), {
    logger: capturingLogger(lines, 'debug'),
    limits: { headersTimeoutMs: 60_000, maxConnections: CAP, logIntervalMs: 60_000 },
  });
  const tcpSeen = async () =>
    ((await sample(metrics, 'tend_api_connections{listener="tcp"}')) ?? 0) + ((await sample(metrics, 'tend_api_connections_refused_total{listener="tcp"}')) ?? 0);
  const probes = await slowClients(t, tcp, 600, tcpSeen);

  assert.equal(await sample(metrics, 'tend_api_connections{listener="tcp"}'), CAP);
  assert.equal(await sample(metrics, 'tend_api_connections_refused_total{listener="tcp"}'), 600 - CAP);
  await waitFor(() => probes.filter(isClosed).length === 600 - CAP, { what: 'the client side of the refused connections to close' });
  const refused = probes.filter(isClosed);
  for (const p of refused) assert.equal(p.received, '', 'a refused connection got an HTTP reply');

  // tendctl status over the unix socket answers at once, a few times over.
  const client = createClient({ address: `unix://${unix.path}` });
  t.after(() => client.close());
  for (let i = 0; i < 5; i++) {
    const ms = await statusCall(client);
    assert.ok(ms < 2000, `status over the unix socket took ${Math.round(ms)} ms with the TCP listener full`);
  }
  // A new TCP connection, even with the token, is closed as soon as accepted, not held.
  const late = probe(t, tcp, `GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  await waitFor(() => isClosed(late), { what: 'the over-cap connection to be closed', timeoutMs: 2000 });
  assert.equal(late.received, '', 'an over-cap connection got an HTTP reply');
  assert.equal(probes.filter(isClosed).length, 600 - CAP, 'the slow clients within the cap are still held: the cap did it, not a deadline');

  assert.equal(await sample(metrics, 'tend_api_connections_refused_total{listener="tcp"}'), 600 - CAP + 1);
  assert.equal(await sample(metrics, 'tend_api_connections_refused_total{listener="unix"}'), undefined);
  // Logged, but throttled: one line for 401 refusals.
  const capLines = lines.filter((l) => l.includes('"api connection cap reached, refusing connections"'));
  assert.equal(capLines.length, 1);
  assert.equal(JSON.parse(capLines[0]).listener, 'tcp');
});

test('api security: 600 slow TCP clients are each cut with 408 at the header timeout, none before; status answers meanwhile', async (t) => {
  const HEADERS_MS = 1500;
  const lines: string[] = [];
  const { metrics, tcp, unix } = await serve(t, agentWithTasks(), {
    logger: capturingLogger(lines, 'debug'),
    limits: { headersTimeoutMs: HEADERS_MS, checkIntervalMs: 100, maxConnections: 1000, logIntervalMs: 60_000 },
  });
  const client = createClient({ address: `unix://${unix.path}` });
  t.after(() => client.close());
  // Connections the server has taken so far, closed ones included.
  const tcpTaken = async () =>
    ((await sample(metrics, 'tend_api_connections{listener="tcp"}')) ?? 0) + ((await sample(metrics, 'tend_api_timeouts_total{listener="tcp",phase="headers"}')) ?? 0);
  const probes = await slowClients(t, tcp, 600, tcpTaken);

  const ms = await statusCall(client);
  const heldMeanwhile = probes.filter((p) => !isClosed(p)).length;
  assert.ok(ms < 2000, `status over the unix socket took ${Math.round(ms)} ms`);
  assert.ok(heldMeanwhile > 0, 'no slow client was held while status ran');

  await waitFor(() => probes.every(isClosed), { what: 'all slow connections to be closed by the server', timeoutMs: HEADERS_MS + 8000 });
  for (const p of probes) {
    assert.equal(statusOf(p), '408');
    const lived = p.closedAt! - p.connectedAt!;
    assert.ok(lived >= HEADERS_MS - 20, `a slow client was cut after ${Math.round(lived)} ms, before the header timeout`);
  }
  assert.equal(await sample(metrics, 'tend_api_timeouts_total{listener="tcp",phase="headers"}'), 600);
  await waitFor(async () => (await sample(metrics, 'tend_api_connections{listener="tcp"}')) === 0, { what: 'the tcp connection gauge to drop to 0' });
  assert.equal(lines.filter((l) => l.includes('"api clients too slow to send request headers, closed"')).length, 1, 'throttled: one line for 600 timeouts');

  // The listener serves again.
  const tcpClient = createClient({ address: `http://${tcp.host}:${tcp.port}`, token: TOKEN });
  t.after(() => tcpClient.close());
  assert.ok((await statusCall(tcpClient)) < 2000);
});

test('api security: a wrong token is answered 401 at the headers, the connection closed and the body left unread', async (t) => {
  const agent = agentWithTasks();
  // Deadlines far away: whatever closes these connections, it is not a timeout.
  const { metrics, tcp } = await serve(t, agent, { limits: { headersTimeoutMs: 60_000, idleTimeoutMs: 60_000, bodyTimeoutMs: 60_000 } });
  const signalPath = `/v1/task/${encodeURIComponent(TASK)}/signal`;
  const head = (extra: string) =>
    `POST ${signalPath} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: ${2 ** 30}\r\n${extra}\r\n`;

  // A 1 GiB body announced, 64 KiB of it sent, then the client waits.
  const waiting = probe(t, tcp, head('') + 'x'.repeat(64 * 1024));
  await waitFor(() => isClosed(waiting), { what: 'the server to close the unauthorized connection', timeoutMs: 2000 });
  assert.equal(statusOf(waiting), '401');
  assert.match(waiting.received, /\r\nconnection: close\r\n/i);
  assert.equal(JSON.parse(waiting.received.slice(waiting.received.indexOf('\r\n\r\n') + 4)).error.code, 'E_UNAUTHORIZED');

  // A client pushing its body as fast as the kernel takes it: the server reads
  // none of it, so little more than the socket buffers is ever accepted.
  const OFFERED = 512 * 1024 * 1024;
  const pusher = probe(t, tcp, head(''));
  let accepted = 0;
  let offered = 0;
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  const push = () => {
    while (offered < OFFERED && !pusher.socket.destroyed) {
      offered += chunk.length;
      const ok = pusher.socket.write(chunk, (err) => {
        if (!err) accepted += chunk.length;
      });
      if (!ok) return void pusher.socket.once('drain', push);
    }
  };
  pusher.socket.once('connect', push);
  await waitFor(() => isClosed(pusher), { what: 'the server to close the connection of the pushing client', timeoutMs: 3000 });
  assert.ok(accepted < 48 * 1024 * 1024, `${accepted} bytes of an unauthorized body were taken`);

  // `Expect: 100-continue` with a wrong token: no invitation to send the body, a 401 and a close.
  const expecting = probe(t, tcp, head('Expect: 100-continue\r\n'));
  await waitFor(() => isClosed(expecting), { what: 'the expect-continue connection to be closed', timeoutMs: 2000 });
  assert.equal(statusOf(expecting), '401');
  assert.doesNotMatch(expecting.received, /100 Continue/);

  // With the token, the same request is invited, read and served.
  const body = JSON.stringify({ signal: 'SIGHUP' });
  const good = probe(
    t,
    tcp,
    `POST ${signalPath} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await waitFor(() => good.received.includes('100 Continue'), { what: 'the 100 Continue for an authorized client' });
  good.socket.write(body);
  await waitFor(() => /\r\n\r\n.*"signal":"SIGHUP"/s.test(good.received.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')), { what: 'the signal reply' });
  assert.match(good.received, /HTTP\/1\.1 200 OK/);
  assert.deepEqual(agent.calls, [{ kind: 'signal', id: TASK, signal: 'SIGHUP' }], 'only the authorized request reached the agent');
  assert.equal(await sample(metrics, 'tend_api_timeouts_total{listener="tcp",phase="headers"}'), undefined);
});

test('api security: streams outlive the header, idle and body deadlines that cut idle, slow and half-sent requests', async (t) => {
  const DEADLINE_MS = 400;
  const agent = agentWithTasks();
  const logFeed = new EventEmitter();
  const { dir, metrics, unix } = await serve(t, agent, {
    address: undefined,
    token: undefined,
    heartbeatMs: 60_000, // streams stay silent: nothing but the deadlines could touch them
    limits: { headersTimeoutMs: DEADLINE_MS, idleTimeoutMs: DEADLINE_MS, bodyTimeoutMs: DEADLINE_MS, checkIntervalMs: 50 },
    logsOf: () => ({ logDir: dir, task: 't' }),
    async *readLogs(o) {
      try {
        for await (const [c] of on(logFeed, 'chunk', { signal: o.signal })) yield c as Buffer;
      } catch (err) {
        if (!o.signal?.aborted) throw err;
      }
    },
  });
  const client = createClient({ address: `unix://${unix.path}` });
  t.after(() => client.close());
  const stop = new AbortController();
  t.after(() => stop.abort());

  // The three streams, opened first.
  const events: TaskEvent[] = [];
  void (async () => {
    for await (const e of client.followEvents({}, { signal: stop.signal })) events.push(e);
  })().catch(() => {});
  let logText = '';
  void (async () => {
    for await (const c of client.logs(TASK, { follow: true, signal: stop.signal })) logText += c.toString();
  })().catch(() => {});
  const stdin = new PassThrough();
  const exec = await client.exec(TASK, ['cat'], { stdin });
  t.after(() => exec.kill());
  let execOut = '';
  exec.stdout.on('data', (d: Buffer) => (execOut += d.toString()));
  stdin.write('one\n');
  await waitFor(() => execOut === 'one\n', { what: 'exec to echo its first line' });
  await waitFor(() => agent.subscribers === 1 && logFeed.listenerCount('chunk') === 1, { what: 'the event and log streams to be open' });
  const streamsOpen = performance.now();

  // Then the three kinds of slow client.
  const silent = probe(t, unix);
  const idle = probe(t, unix, 'GET /v1/node HTTP/1.1\r\nHost: x\r\n\r\n');
  const body = '{"signal": "SIGHUP"}';
  const halfBody = probe(t, unix, `POST /v1/task/${encodeURIComponent(TASK)}/signal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
  await waitFor(() => idle.received.includes('"name":"test-node"'), { what: 'the kept-alive reply' });
  const idleSince = performance.now();

  await waitFor(() => [silent, idle, halfBody].every(isClosed), { what: 'the server to close idle, silent and half-sent connections', timeoutMs: DEADLINE_MS * 10 });
  assert.equal(statusOf(silent), '408');
  assert.ok(silent.closedAt! - silent.connectedAt! >= DEADLINE_MS - 20, 'the silent client was cut before the header timeout');
  assert.equal(statusOf(idle), '200');
  assert.match(idle.received, /keep-alive/i);
  assert.ok(idle.closedAt! - idleSince >= DEADLINE_MS - 20, 'the idle connection was cut before the idle timeout');
  assert.equal(statusOf(halfBody), '408');
  assert.match(halfBody.received, /not complete within 400 ms/);
  assert.ok(halfBody.closedAt! - halfBody.connectedAt! >= DEADLINE_MS - 20, 'the half-sent body was cut before the body timeout');
  assert.deepEqual(agent.calls, []);
  assert.equal(await sample(metrics, 'tend_api_timeouts_total{listener="unix",phase="headers"}'), 1);
  assert.equal(await sample(metrics, 'tend_api_timeouts_total{listener="unix",phase="body"}'), 1);
  assert.ok(performance.now() - streamsOpen > DEADLINE_MS, 'the streams have been open longer than every deadline');

  // The streams are all still there and move.
  agent.publish({ task: TASK, job: 'web', type: 'Started', message: 'after the deadlines' });
  logFeed.emit('chunk', Buffer.from('log line after the deadlines\n'));
  stdin.write('two\n');
  await waitFor(() => events.some((e) => e.message === 'after the deadlines'), { what: 'the event stream to deliver' });
  await waitFor(() => logText === 'log line after the deadlines\n', { what: 'the log stream to deliver' });
  await waitFor(() => execOut === 'one\ntwo\n', { what: 'exec to echo its second line' });
  stdin.end();
  assert.equal(await exec.exit, 0);
});
