// WebKit, the engine of Safari: Debian's WebKitGTK MiniBrowser driven by WebKitWebDriver (the W3C
// WebDriver protocol, spoken here over fetch) on a private Xvfb display. Test harness only, as
// lib/browser.js is for Chromium: the page sees nothing of it but the standard web APIs.
//
// Playwright drives only its own patched WebKit builds, which cannot be downloaded here; WebDriver
// drives the stock engine. It has no init scripts and no view of the page's WebSocket, so the
// synthetic camera and the socket tap are installed after the page has loaded and before
// anything asks for the camera (the page opens the camera and the socket only on Start).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import { freePort } from './net.js';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_BIN || '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.WEBKIT_BROWSER_BIN || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB = process.env.XVFB_BIN || '/usr/bin/Xvfb';

/** Why WebKit cannot run here (a missing package), or false. */
export function webkitUnavailable() {
  const missing = [[WEBKIT_DRIVER, 'webkit2gtk-driver'], [MINIBROWSER, 'libwebkit2gtk-4.1-0'], [XVFB, 'xvfb']]
    .filter(([file]) => !fs.existsSync(file))
    .map(([file, pkg]) => `${file} (apt-get install ${pkg})`);
  return missing.length ? `WebKit not installed: ${missing.join(', ')}` : false;
}

/** Starts Xvfb on a free display; resolves with { display, stop }. */
async function startXvfb() {
  const x = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1600x1200x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let err = '';
  x.stderr.on('data', (d) => { err += d; });
  const display = await new Promise((resolve, reject) => {
    let out = '';
    x.stdio[3].on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    x.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${err.slice(-500)}`)));
    setTimeout(() => reject(new Error(`Xvfb gave no display within 10 s: ${err.slice(-500)}`)), 10000);
  });
  return { display, stop: () => stopProcess(x) };
}

function stopProcess(p) {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', resolve);
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 3000).unref();
  });
}

/**
 * Xvfb and WebKitWebDriver, started once per test file: `driver.launch(...)` opens a browser
 * session in it, `driver.stop()` ends both.
 */
export async function startWebKit() {
  const xvfb = await startXvfb();
  const port = await freePort();
  const log = [];
  // Not WEBKIT_DISABLE_COMPOSITING_MODE: without compositing, WebKitGTK 2.50 paints only when the
  // page changes, and a screenshot taken after a script on a still page never returns.
  const proc = spawn(WEBKIT_DRIVER, [`--port=${port}`], {
    env: { ...process.env, DISPLAY: xvfb.display },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d) => {
    log.push(String(d));
    if (log.length > 200) log.shift();
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      await xvfb.stop();
      throw new Error(`WebKitWebDriver did not start: ${log.join('').slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    /** The driver's and the browser's recent output, for a failing test's message. */
    log: () => log.join('').slice(-4000),
    launch: (options) => launchSession(base, options),
    async stop() {
      await stopProcess(proc);
      await xvfb.stop();
    },
  };
}

/**
 * One WebDriver command, on a connection of its own: WebKitWebDriver closes idle connections, and
 * a command sent on a kept-alive one it has just closed fails before reaching it (fetch's pool
 * reuses them), most often the new session after a closed one.
 */
function call(base, method, path, body) {
  const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method,
      agent: false,
      headers: { 'content-type': 'application/json', ...(data ? { 'content-length': data.length } : {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let json = {};
        try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON: reported below */ }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          reject(new Error(`WebDriver ${method} ${path}: ${res.statusCode} ${JSON.stringify(json.value ?? json).slice(0, 500)}`));
        } else {
          resolve(json.value);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data ?? undefined);
  });
}

/**
 * One MiniBrowser window. `mockCameras`: WebKit's own mock capture devices (a generated picture,
 * through the real getUserMedia, permission granted as Safari does once asked); without them the
 * browser has no camera at all. The page's language is the driver's locale (English here).
 */
async function launchSession(base, { mockCameras = false, viewport = { width: 900, height: 1000 } } = {}) {
  const args = [
    '--automation',
    '--enable-media-stream=true',
    `--enable-mock-capture-devices=${mockCameras}`,
    '--enable-webrtc=false',
    '--enable-developer-extras=false',
  ];
  const created = await call(base, 'POST', '/session', {
    capabilities: {
      alwaysMatch: {
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args },
      },
    },
  });
  const id = created.sessionId;
  const s = (method, path, body) => call(base, method, `/session/${id}${path}`, body);
  await s('POST', '/window/rect', viewport).catch(() => {});
  const find = async (selector) => {
    const el = await s('POST', '/element', { using: 'css selector', value: selector });
    return Object.values(el)[0];
  };
  const page = {
    goto: (url) => s('POST', '/url', { url }),
    /**
     * Runs `fn(arg)` in the page (it may be async) and resolves with its JSON result; a throw in
     * the page rejects here with its message. Started by one synchronous script and collected
     * by others, polling, so no call waits on the driver's script timeout.
     */
    async evaluate(fn, arg = null) {
      const start = `const slots = (window.__webdriver ??= { next: 0, results: {} });
        const k = slots.next++;
        Promise.resolve().then(() => (${fn.toString()})(arguments[0])).then(
          (v) => { slots.results[k] = { ok: v === undefined ? null : v }; },
          (e) => { slots.results[k] = { error: String((e && e.stack) || e) }; });
        return k;`;
      const k = await s('POST', '/execute/sync', { script: start, args: [arg] });
      const collect = `const slots = window.__webdriver; const r = slots && slots.results[arguments[0]];
        if (r) delete slots.results[arguments[0]];
        return r || null;`;
      for (let wait = 0; ; wait = Math.min(50, wait + 5)) {
        const r = await s('POST', '/execute/sync', { script: collect, args: [k] });
        if (r && r.error) throw new Error(`in the page: ${r.error}`);
        if (r) return r.ok;
        await new Promise((res) => setTimeout(res, wait));
      }
    },
    /** Runs a script's source in the page (an installer built by lib/browser.js). */
    async run(source) {
      await s('POST', '/execute/sync', { script: source, args: [] });
    },
    async click(selector) {
      await s('POST', `/element/${await find(selector)}/click`, {});
    },
    /** Resolves once `fn(arg)` is truthy in the page, polling; rejects after `ms`. */
    async waitFor(fn, arg = null, ms = 10000, what = 'condition') {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = await page.evaluate(fn, arg).catch(() => null);
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async screenshot(file) {
      const png = await s('GET', '/screenshot');
      await fsp.writeFile(file, Buffer.from(png, 'base64'));
    },
  };
  return {
    page,
    async close() {
      await s('DELETE', '').catch(() => {});
    },
  };
}

/**
 * Runs in the page: records the capture socket's traffic in `window.__socket` (the text messages
 * received, parsed, and the number of `frame` descriptions sent), as Playwright's websocket
 * events do for the Chromium tests. Wraps the constructor, so it sees every message of a socket
 * opened after it is installed.
 */
export function socketTapScript() {
  return `(${installSocketTap.toString()})();`;
}

function installSocketTap() {
  const tap = { received: [], framesSent: 0, opened: 0 };
  window.__socket = tap;
  const Native = window.WebSocket;
  class Tapped extends Native {
    constructor(...args) {
      super(...args);
      tap.opened += 1;
      this.addEventListener('message', (e) => {
        if (typeof e.data !== 'string') return;
        try { tap.received.push(JSON.parse(e.data)); } catch { tap.received.push({ type: '<malformed>' }); }
      });
    }

    send(data) {
      if (typeof data === 'string' && data.includes('"type":"frame"')) tap.framesSent += 1;
      return super.send(data);
    }
  }
  window.WebSocket = Tapped;
}
