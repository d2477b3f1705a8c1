// A scripted stand-in for the verifier's HTTP and WebSocket surface, for page-level tests only:
// it serves web-capture/ at the paths the verifier uses (/capture/{token}, /assets/<name>, /demo),
// answers POST /demo/sessions, and hands each capture WebSocket to the test as a `Conn` whose
// messages the test scripts. It decides nothing: the end-to-end tests use the real server.

import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web-capture');

const TYPES = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };

/** One capture connection as the server sees it. */
export class Conn {
  constructor(socket, token) {
    this.socket = socket;
    this.token = token;
    /** Text messages from the page, parsed. */
    this.texts = [];
    /** Frames: { meta (the preceding `frame` message or null), bytes (Buffer), at (ms) }. */
    this.frames = [];
    this.closed = null;
    this.waiters = [];
    let pendingMeta = null;
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.frames.push({ meta: pendingMeta, bytes: Buffer.from(data), at: performance.now() });
        pendingMeta = null;
      } else {
        let msg = null;
        try { msg = JSON.parse(String(data)); } catch { msg = { type: '<malformed>', raw: String(data) }; }
        this.texts.push(msg);
        if (msg.type === 'frame') pendingMeta = msg;
        if (msg.type === 'ping') this.send({ type: 'pong', t: msg.t });
      }
      this.wake();
    });
    socket.on('close', (code) => {
      this.closed = code;
      this.wake();
    });
  }

  wake() {
    const still = [];
    for (const w of this.waiters) (w.test() ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /** Resolves when `test()` holds (checked on every message), or rejects after `ms`. */
  until(test, ms = 10000, what = 'condition') {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { test, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  framesAtLeast(n, ms) {
    return this.until(() => this.frames.length >= n, ms, `${n} frames`);
  }

  send(msg) {
    this.socket.send(JSON.stringify(msg));
  }

  close(code, reason = '') {
    this.socket.close(code, reason);
  }
}

/**
 * Starts the fixture on a free port. `onConnection(conn)` runs for every capture WebSocket;
 * `demoAnswer(body)` returns `{ status, body }` for POST /demo/sessions.
 */
export async function startFixture({ onConnection = () => {}, demoAnswer } = {}) {
  const demoRequests = [];
  const connections = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      if (req.method === 'GET' && /^\/capture\/[^/]+$/.test(url.pathname)) {
        return send(200, TYPES['.html'], await fs.readFile(path.join(WEB_DIR, 'capture.html')));
      }
      if (req.method === 'GET' && url.pathname === '/demo') {
        return send(200, TYPES['.html'], await fs.readFile(path.join(WEB_DIR, 'demo.html')));
      }
      const asset = /^\/assets\/([a-z]+\.(?:js|css))$/.exec(url.pathname);
      if (req.method === 'GET' && asset) {
        return send(200, TYPES[path.extname(asset[1])], await fs.readFile(path.join(WEB_DIR, asset[1])));
      }
      if (req.method === 'POST' && url.pathname === '/demo/sessions') {
        let raw = '';
        for await (const chunk of req) raw += chunk;
        const body = JSON.parse(raw);
        demoRequests.push({ body, contentType: req.headers['content-type'] });
        const answer = demoAnswer ? demoAnswer(body) : {
          status: 201,
          body: { id: 'ses_demo', capture_url: `/capture/demo-token`, expires_at: new Date(Date.now() + 9e5).toISOString() },
        };
        return send(answer.status, 'application/json', JSON.stringify(answer.body));
      }
      send(404, 'text/plain', 'not found');
    } catch (e) {
      send(500, 'text/plain', String(e));
    }
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const m = /^\/v1\/capture\/([^/?]+)$/.exec(new URL(req.url, 'http://x').pathname);
    if (!m) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Conn(ws, decodeURIComponent(m[1]));
      connections.push(conn);
      Promise.resolve(onConnection(conn)).catch(() => {});
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    demoRequests,
    connections,
    /** Resolves with the n-th connection (0-based) once it is open. */
    async connection(n = 0, ms = 10000) {
      const start = Date.now();
      while (connections.length <= n) {
        if (Date.now() - start > ms) throw new Error(`no connection #${n}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return connections[n];
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The `ready` message the real server sends first. */
export function ready(over = {}) {
  return {
    type: 'ready', session_id: 'ses_test', steps: ['document', 'face', 'challenge'],
    max_frame_bytes: 2 * 1024 * 1024, frame_interval_ms: 100, budget_ms: 120000, ...over,
  };
}

/** An `instruction` message. */
export function instruction(step, over = {}) {
  const camera = step === 'document' || step === 'document_front' ? 'environment' : 'user';
  return { type: 'instruction', step, code: null, challenge: null, camera, progress: 0, step_remaining_ms: 30000, ...over };
}
