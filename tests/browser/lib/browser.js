// Debian's Chromium driven by playwright-core, and the tests' synthetic camera. Everything here
// is test harness: the product page never sees it except through the standard getUserMedia API.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream',
];

/**
 * A fresh Chromium (new user-data-dir) with one page. `extraArgs` adds switches (a recorded fake
 * camera); `locale` sets navigator.language. Returns { context, page, close }.
 */
export async function launch({ locale = 'en-GB', extraArgs = [], viewport = { width: 900, height: 900 } } = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'verifier-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...extraArgs],
    locale,
    viewport,
  });
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Installed with page.addInitScript before the page's own scripts: replaces getUserMedia with a
 * canvas.captureStream() the test draws on through `window.__person`. `mode` is 'canvas' (the
 * synthetic person), 'denied' (NotAllowedError) or 'missing' (NotFoundError, no devices).
 */
export function fakeCameraScript({ mode = 'canvas', width = 1280, height = 720, fps = 15, cameras = 1 } = {}) {
  return `(${installFakeCamera.toString()})(${JSON.stringify({ mode, width, height, fps, cameras })});`;
}

// Runs inside the page.
function installFakeCamera({ mode, width, height, fps, cameras }) {
  const person = {
    requests: [],
    images: {},
    /** What is in front of the camera: null, or { kind: 'document'|'face'|'beside', ... }. */
    scene: null,
    started: 0,
    drawn: 0,
    async load(name, dataUrl) {
      const img = new Image();
      img.src = dataUrl;
      await img.decode();
      person.images[name] = img;
    },
    show(scene) {
      person.scene = scene;
    },
  };
  window.__person = person;
  let canvas = null;
  /** The colour the capture page shows around the oval now, or null. */
  function pageFlash() {
    if (!document.body || !document.body.dataset.flash) return null;
    return getComputedStyle(document.documentElement).getPropertyValue('--flash').trim() || null;
  }
  /** Another session's flash, recorded: its own colours on its own clock. */
  function replayColour(t) {
    const cycle = ['rgb(255, 0, 255)', null, 'rgb(0, 255, 0)', 'rgb(0, 0, 255)', null, 'rgb(255, 255, 0)', 'rgb(255, 0, 0)', null];
    return cycle[Math.floor(t / 0.27) % cycle.length];
  }
  function draw() {
    const ctx = canvas.getContext('2d');
    const t = (performance.now() - person.started) / 1000;
    ctx.fillStyle = '#8a8f96';
    ctx.fillRect(0, 0, width, height);
    const s = person.scene;
    const img = (name) => person.images[name];
    if (!s) {
      // A plain test card: enough for the page to have something to send.
      ctx.fillStyle = '#2e5c8a';
      ctx.fillRect(width * 0.2, height * 0.2, width * 0.6, height * 0.6);
      ctx.fillStyle = '#ffffff';
      ctx.font = `${Math.round(height / 12)}px sans-serif`;
      ctx.fillText(`frame ${person.drawn}`, width * 0.25, height * 0.5);
    } else if (s.kind === 'document' && img(s.image)) {
      // Held in a hand: a little sway, a little roll, about 80 % of the frame's width.
      const d = img(s.image);
      const k = Math.min((width * (s.cover || 0.8)) / d.width, (height * 0.85) / d.height);
      ctx.save();
      ctx.translate(width / 2 + Math.sin(t * 1.3) * width * 0.012, height / 2 + Math.cos(t * 0.9) * height * 0.01);
      ctx.rotate(Math.sin(t * 0.7) * 0.025);
      ctx.drawImage(d, (-d.width * k) / 2, (-d.height * k) / 2, d.width * k, d.height * k);
      ctx.restore();
    } else if (s.kind === 'face' && img(s.image)) {
      // A person in front of a webcam: the photo fills the height, swaying slightly.
      const f = img(s.image);
      const k = Math.max(height / f.height, (width * 0.5) / f.width) * (s.zoom || 1);
      const dx = Math.sin(t * 1.1) * width * 0.006;
      const dy = Math.cos(t * 0.8) * height * 0.005;
      ctx.drawImage(f, (width - f.width * k) / 2 + dx, (height - f.height * k) / 2 + dy, f.width * k, f.height * k);
      // The screen's light on the face: a live face takes on the colour the page shows now
      // (10 %, as a phone's screen at arm's length does); a recording of another session shows
      // that session's colours ('replay'); a photo or an injected stream, nothing.
      const light = s.light === 'replay' ? replayColour(t) : s.light === 'none' ? null : pageFlash();
      if (light) {
        ctx.save();
        ctx.globalAlpha = 0.1;
        ctx.fillStyle = light;
        ctx.fillRect(0, 0, width, height);
        ctx.restore();
      }
    } else if (s.kind === 'beside' && img(s.face) && img(s.document)) {
      // A face on the left, the document held up beside it on the right.
      const f = img(s.face);
      const kf = (height / f.height) * 0.95;
      ctx.drawImage(f, width * 0.02, height * 0.025, f.width * kf, f.height * kf);
      const d = img(s.document);
      const kd = (width * 0.42) / d.width;
      ctx.save();
      ctx.translate(width * 0.76, height * 0.55 + Math.sin(t) * 4);
      ctx.rotate(Math.sin(t * 0.6) * 0.02);
      ctx.drawImage(d, (-d.width * kd) / 2, (-d.height * kd) / 2, d.width * kd, d.height * kd);
      ctx.restore();
    }
    person.drawn += 1;
    // One video frame per picture drawn, as a camera gives one per exposure: with a frame rate
    // of its own, WebKit's capture repeats the canvas unchanged between draws.
    for (const track of tracks) if (track.readyState === 'live' && track.requestFrame) track.requestFrame();
  }
  const tracks = [];
  const devices = mode === 'missing' ? [] : Array.from({ length: cameras }, (_, i) => ({ kind: 'videoinput', deviceId: `synthetic-${i}`, groupId: 'synthetic', label: '' }));
  // On the prototype, not the navigator.mediaDevices object: WebKit may collect a DOM object's
  // JavaScript wrapper and make a new one, and with it go the properties set on the old one.
  const md = navigator.mediaDevices ? Object.getPrototypeOf(navigator.mediaDevices) : {};
  md.enumerateDevices = async () => devices.map((d) => ({ ...d, toJSON() { return d; } }));
  md.getUserMedia = async (constraints) => {
    person.requests.push(JSON.parse(JSON.stringify(constraints)));
    if (mode === 'denied') throw new DOMException('Permission denied', 'NotAllowedError');
    if (mode === 'missing') throw new DOMException('Requested device not found', 'NotFoundError');
    if (!canvas) {
      canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      person.started = performance.now();
      draw();
      setInterval(draw, 1000 / fps);
    }
    const captured = canvas.captureStream(0);
    tracks.push(...captured.getVideoTracks());
    return captured;
  };
  if (!navigator.mediaDevices) Object.defineProperty(navigator, 'mediaDevices', { value: md });
}

/** Loads image files into the page's synthetic camera under the given names. */
export async function loadImages(page, files) {
  for (const [name, file] of Object.entries(files)) {
    const bytes = await fs.readFile(file);
    const type = file.endsWith('.png') ? 'image/png' : 'image/jpeg';
    await page.evaluate(([n, url]) => window.__person.load(n, url), [name, `data:${type};base64,${bytes.toString('base64')}`]);
  }
}
