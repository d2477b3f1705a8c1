// The capture page's behaviour: opens the camera, streams JPEG frames over the capture WebSocket
// (docs/capture-protocol.md) at the rate the server sets, and shows the server's last instruction
// (step, hint, challenge, progress) or its result. It keeps no state the server does not know:
// everything on screen is derived from the last `ready`, `instruction` and `result` messages, the
// socket's close code and the camera's errors. What it leaves out: any decision (the server makes
// them all) and any test harness (the tests bring their own camera).

import { MESSAGES, fill, preferredLanguage, table } from './messages.js';

/** Longest side of a frame sent, in pixels (the protocol asks for about 1280). */
const MAX_SIDE = 1280;
/** JPEG quality to start from; lowered when a frame comes out over the server's byte limit. */
const START_QUALITY = 0.85;
const MIN_QUALITY = 0.5;
/** Until `ready` says otherwise. */
const DEFAULT_INTERVAL_MS = 200;
const DEFAULT_MAX_FRAME_BYTES = 2 * 1024 * 1024;
/** Keeps the socket alive while no frames are sent (the server's idle timeout is 20 s). */
const PING_EVERY_MS = 5000;
/** How soon to look again when the camera still shows the picture last sent. */
const REPEAT_RETRY_MS = 30;
/** Reconnection attempts after an unexpected close, and the first back-off. */
const MAX_RECONNECTS = 5;
const FIRST_BACKOFF_MS = 500;

const $ = (id) => document.getElementById(id);

const state = {
  lang: preferredLanguage(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]),
  screen: 'intro',
  ready: null,
  instruction: null,
  result: null,
  /** An error screen: { kind, retry } where kind names messages `error.<kind>` or `camera.<kind>`. */
  problem: null,
  reconnecting: false,
};

const token = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const socketUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/v1/capture/${encodeURIComponent(token)}`;

let ws = null;
let stream = null;
/** The camera the current stream was opened for ('environment' or 'user'). */
let streamFacing = null;
let cameraCount = null;
let pingTimer = null;
let frameTimer = null;
let encoding = false;
let lastSentAt = -Infinity;
let seq = 0;
let quality = START_QUALITY;
let interval = DEFAULT_INTERVAL_MS;
// Flow control (docs/capture-protocol.md): with `ready.flow == "credit"` a frame is sent only
// against a credit from the server, drawn when the credit comes, so it is fresh and analysed
// at once. Without it (an older server), frames go at the interval.
let creditFlow = false;
let credit = 0;
let maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
let reconnects = 0;
let lastAnnounced = '';
// The last frame sent's bytes: a camera slower than the frame rate (a dim room, a loaded phone)
// leaves the same picture in the video, and a JPEG sent twice reads as a replayed stream to the
// server, so an encoding equal to the last one sent is dropped and the next picture awaited.
let lastFrameBytes = null;

// ---------------------------------------------------------------------------------------------
// Text

function t(key, values) {
  const text = table(state.lang).ui[key] ?? MESSAGES.en.ui[key] ?? key;
  return values ? fill(text, values) : text;
}

function coded(group, code) {
  const g = table(state.lang)[group];
  return (code && g[code]) || g.unknown || '';
}

function sentence(text) {
  const s = String(text || '').trim();
  return s && !/[.!?…:]$/.test(s) ? `${s}.` : s;
}

function announce(text) {
  if (text && text !== lastAnnounced) {
    lastAnnounced = text;
    $('live').textContent = text;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering: everything shown is a function of `state`.

function show(id, visible) {
  // toggleAttribute rather than `.hidden`: the arrow is an SVG element, which has no such property.
  $(id).toggleAttribute('hidden', !visible);
}

function render() {
  document.documentElement.lang = state.lang;
  document.title = t('app.title');
  for (const el of document.querySelectorAll('[data-msg]')) el.textContent = t(el.dataset.msg);
  const other = state.lang === 'fr' ? 'en' : 'fr';
  const langButton = $('lang');
  langButton.textContent = t('lang.button');
  langButton.setAttribute('aria-label', t('lang.label'));
  langButton.lang = other;

  show('insecure', !window.isSecureContext);
  show('reconnecting', state.reconnecting && !state.result && !state.problem);

  const screens = ['intro', 'capture', 'waiting', 'result', 'error'];
  for (const s of screens) show(`screen-${s}`, state.screen === s);
  document.body.dataset.screen = state.screen;

  renderProgress();
  if (state.screen === 'capture') renderInstruction();
  if (state.screen === 'waiting') announce(`${t('waiting.title')}. ${t('waiting.body')}`);
  if (state.screen === 'result') renderResult();
  if (state.screen === 'error') renderProblem();
}

function renderProgress() {
  const i = state.instruction;
  const visible = Boolean(i) && (state.screen === 'capture' || state.screen === 'waiting');
  show('progress-wrap', visible);
  if (!visible) return;
  const pct = Math.round(Math.min(1, Math.max(0, Number(i.progress) || 0)) * 100);
  $('progress').setAttribute('aria-valuenow', String(pct));
  $('progress-fill').style.width = `${pct}%`;
  const steps = (state.ready && state.ready.steps) || [];
  const n = steps.indexOf(i.step);
  $('progress-label').textContent = n >= 0 ? t('progress.label', { n: n + 1, total: steps.length }) : '';
}

function renderInstruction() {
  const i = state.instruction;
  const body = document.body.dataset;
  if (!i) {
    $('step-title').textContent = t('camera.starting');
    show('hint', false);
    show('challenge', false);
    show('arrow', false);
    $('stage').dataset.overlay = 'none';
    return;
  }
  body.step = i.step;
  body.code = i.code || '';
  body.challenge = i.challenge || '';
  const title = coded('steps', i.step);
  $('step-title').textContent = title;
  const hint = i.code ? coded('hints', i.code) : '';
  $('hint').textContent = hint;
  $('hint').dataset.code = i.code || '';
  show('hint', Boolean(hint));
  const challenge = i.step === 'challenge' && i.challenge ? coded('challenges', i.challenge) : '';
  $('challenge').textContent = challenge;
  show('challenge', Boolean(challenge));
  const arrow = $('arrow');
  arrow.setAttribute('class', `arrow arrow-${i.challenge || 'none'}`);
  show('arrow', Boolean(challenge) && i.challenge !== 'blink');
  const overlay = i.step === 'document' || i.step === 'document_front' ? 'document' : i.step === 'done' ? 'none' : 'face';
  $('stage').dataset.overlay = overlay;
  $('stage').dataset.mirror = String(i.camera === 'user');
  announce([title, hint, challenge].map(sentence).filter(Boolean).join(' '));
}

function renderResult() {
  const r = state.result;
  const outcome = ['accepted', 'rejected', 'review'].includes(r.outcome) ? r.outcome : 'rejected';
  document.body.dataset.outcome = outcome;
  $('result-icon').className = `result-icon icon-${outcome}`;
  $('result-icon').textContent = { accepted: '✓', rejected: '✕', review: '…' }[outcome];
  $('result-title').textContent = t(`result.${outcome}.title`);
  $('result-body').textContent = t(`result.${outcome}.body`);
  const list = $('result-reasons');
  list.replaceChildren();
  const reasons = Array.isArray(r.reasons) ? r.reasons : [];
  for (const code of reasons) {
    const li = document.createElement('li');
    li.textContent = coded('reasons', code);
    li.dataset.code = code;
    list.append(li);
  }
  show('result-reasons-title', reasons.length > 0);
  announce([t(`result.${outcome}.title`), t(`result.${outcome}.body`), ...reasons.map((c) => coded('reasons', c))]
    .map(sentence).join(' '));
}

function renderProblem() {
  const p = state.problem;
  document.body.dataset.problem = p.kind;
  const prefix = p.kind.startsWith('camera.') ? p.kind : `error.${p.kind}`;
  $('error-title').textContent = t(`${prefix}.title`);
  let body = t(`${prefix}.body`);
  if (p.kind === 'camera.missing' && !window.isSecureContext) body = `${body} ${t('camera.missing.insecure')}`;
  $('error-body').textContent = body;
  const retry = $('retry');
  show('retry', Boolean(p.retry));
  if (p.retry) retry.textContent = t(p.kind.startsWith('camera.') ? 'camera.retry' : `${prefix}.retry`);
  announce(`${sentence(t(`${prefix}.title`))} ${body}`);
}

function go(screen, focusId) {
  const changed = state.screen !== screen;
  state.screen = screen;
  render();
  if (changed && focusId) $(focusId).focus();
}

// ---------------------------------------------------------------------------------------------
// Camera

class CameraError extends Error {
  constructor(kind, cause) {
    super(kind);
    this.kind = kind;
    this.cause = cause;
  }
}

async function countCameras() {
  if (cameraCount !== null) return cameraCount;
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    cameraCount = devices.filter((d) => d.kind === 'videoinput').length;
  } catch {
    cameraCount = 0;
  }
  return cameraCount;
}

async function openCamera(facing) {
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
    throw new CameraError('camera.missing');
  }
  let next;
  try {
    next = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: facing }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (e) {
    const name = e && e.name;
    if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
      throw new CameraError('camera.denied', e);
    }
    throw new CameraError('camera.missing', e);
  }
  stopCamera();
  stream = next;
  streamFacing = facing;
  const video = $('video');
  video.muted = true;
  video.setAttribute('playsinline', '');
  video.srcObject = stream;
  video.onloadedmetadata = () => {
    if (video.videoWidth && video.videoHeight) {
      $('stage').style.setProperty('--ratio', String(video.videoWidth / video.videoHeight));
    }
  };
  try {
    await video.play();
  } catch {
    // Autoplay of a muted, inline video is allowed everywhere this page targets; if a browser
    // still refuses, the next user gesture (any button) plays it.
  }
}

/** Switches to the camera the instruction names, where the device has more than one. */
async function followCamera(facing) {
  if (!facing || facing === streamFacing || !stream) return;
  if ((await countCameras()) < 2) {
    streamFacing = facing;
    return;
  }
  try {
    await openCamera(facing);
  } catch {
    // Keep the camera already open: a missing second camera is not worth stopping for.
    streamFacing = facing;
  }
}

function stopCamera() {
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
}

// ---------------------------------------------------------------------------------------------
// Frames

function sending() {
  return ws && ws.readyState === WebSocket.OPEN && state.ready && !state.result
    && !(state.instruction && state.instruction.step === 'done');
}

function scheduleFrame(delay) {
  if (frameTimer !== null) return;
  frameTimer = setTimeout(() => {
    frameTimer = null;
    sendFrame();
  }, Math.max(0, delay));
}

function stopFrames() {
  if (frameTimer !== null) clearTimeout(frameTimer);
  frameTimer = null;
}

async function sendFrame() {
  if (!sending()) return;
  if (creditFlow && credit < 1) return;
  const video = $('video');
  const wait = lastSentAt + interval - performance.now();
  if (wait > 0) return scheduleFrame(wait);
  if (encoding || !video.videoWidth || video.readyState < 2 || ws.bufferedAmount > maxFrameBytes) {
    return scheduleFrame(50);
  }
  encoding = true;
  let again = interval;
  const socket = ws;
  try {
    const k = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.max(1, Math.round(video.videoWidth * k));
    const height = Math.max(1, Math.round(video.videoHeight * k));
    const canvas = $('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').drawImage(video, 0, 0, width, height);
    const capturedAt = performance.now();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (!blob) return;
    if (blob.size > maxFrameBytes) {
      quality = Math.max(MIN_QUALITY, quality - 0.1);
      return;
    }
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (sameBytes(bytes, lastFrameBytes)) {
      again = REPEAT_RETRY_MS;
      return;
    }
    if (socket !== ws || !sending()) return;
    seq += 1;
    socket.send(JSON.stringify({
      type: 'frame', seq, captured_at_ms: Math.round(capturedAt), width, height, camera: streamFacing || 'user',
    }));
    socket.send(blob);
    credit = Math.max(0, credit - 1);
    lastSentAt = performance.now();
    lastFrameBytes = bytes;
  } finally {
    encoding = false;
    if (sending()) scheduleFrame(again);
  }
}

/** Whether two encoded frames are the same bytes. */
function sameBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Socket

function connect() {
  if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
  const socket = new WebSocket(socketUrl);
  ws = socket;
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    socket.send(JSON.stringify({
      type: 'hello', lang: state.lang, user_agent: navigator.userAgent, viewport: [innerWidth, innerHeight],
    }));
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'ping', t: Date.now() }));
    }, PING_EVERY_MS);
  };
  socket.onmessage = (event) => {
    if (typeof event.data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg && typeof msg.type === 'string') onMessage(msg);
  };
  socket.onclose = (event) => {
    if (socket !== ws) return;
    clearInterval(pingTimer);
    stopFrames();
    onClose(event.code);
  };
}

function onMessage(msg) {
  switch (msg.type) {
    case 'ready':
      state.ready = msg;
      if (Number(msg.frame_interval_ms) > 0) interval = Number(msg.frame_interval_ms);
      if (Number(msg.max_frame_bytes) > 0) maxFrameBytes = Number(msg.max_frame_bytes);
      creditFlow = msg.flow === 'credit';
      credit = 0;
      reconnects = 0;
      state.reconnecting = false;
      state.problem = null;
      go('capture', 'step-title');
      scheduleFrame(0);
      break;
    case 'instruction':
      state.instruction = msg;
      if (msg.step === 'done') {
        stopFrames();
        go('waiting', 'waiting-title');
      } else {
        go('capture', 'step-title');
        followCamera(msg.camera).then(() => scheduleFrame(0));
      }
      break;
    case 'flash':
      // The screen-flash nonce: the colour fills the screen around the face oval at once (its
      // reflection on the face is what the server measures), until the next `flash`.
      showFlash(Array.isArray(msg.rgb) && msg.rgb.length === 3 ? msg.rgb : null, msg.colour);
      break;
    case 'credit':
      // One outstanding credit at a time: a credit offered again replaces the unused one.
      credit = Math.max(credit, Math.min(Number(msg.frames) || 0, 1));
      scheduleFrame(0);
      break;
    case 'rate':
      if (Number(msg.frame_interval_ms) > 0) interval = Number(msg.frame_interval_ms);
      break;
    case 'error':
      if (msg.code === 'frame.too_large') quality = Math.max(MIN_QUALITY, quality - 0.1);
      if (msg.code === 'frame.too_fast') lastSentAt = performance.now();
      if (msg.code === 'session.decided') stopFrames();
      break;
    case 'result':
      showFlash(null);
      state.result = msg;
      stopFrames();
      stopCamera();
      go('result', 'result-title');
      break;
    default:
      // `feedback` and `pong` need nothing shown: the server sends an `instruction` whenever what
      // the person should do changes.
      break;
  }
}

function showFlash(rgb, name) {
  if (rgb && rgb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    document.documentElement.style.setProperty('--flash', `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`);
    document.body.dataset.flash = String(name || 'on');
  } else {
    delete document.body.dataset.flash;
  }
}

function problem(kind, retry) {
  state.problem = { kind, retry };
  state.reconnecting = false;
  go('error', 'error-title');
}

function onClose(code) {
  if (state.result) return;
  switch (code) {
    case 4404:
      stopCamera();
      return problem('not_found', false);
    case 4410:
      stopCamera();
      return problem('expired', false);
    case 4409:
      return problem('elsewhere', true);
    case 4408:
      return problem('idle', true);
    default:
      if (code === 1009) quality = Math.max(MIN_QUALITY, quality - 0.2);
      if (reconnects < MAX_RECONNECTS) {
        const delay = FIRST_BACKOFF_MS * 2 ** reconnects;
        reconnects += 1;
        state.reconnecting = true;
        render();
        setTimeout(connect, delay);
      } else {
        problem('connection', true);
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Start, retry, language

async function start() {
  const startButton = $('start');
  startButton.disabled = true;
  state.problem = null;
  go('capture', 'step-title');
  try {
    const facing = (state.instruction && state.instruction.camera) || 'environment';
    if (!stream) await openCamera(facing);
    else await $('video').play().catch(() => {});
    connect();
  } catch (e) {
    problem(e instanceof CameraError ? e.kind : 'camera.missing', true);
  } finally {
    startButton.disabled = false;
  }
}

function retry() {
  const kind = state.problem && state.problem.kind;
  reconnects = 0;
  if (kind && kind.startsWith('camera.')) {
    start();
  } else {
    state.problem = null;
    go(state.instruction ? 'capture' : 'intro', state.instruction ? 'step-title' : 'intro-title');
    if (!stream) start();
    else connect();
  }
}

function switchLanguage() {
  state.lang = state.lang === 'fr' ? 'en' : 'fr';
  lastAnnounced = '';
  render();
}

$('start').addEventListener('click', start);
$('retry').addEventListener('click', retry);
$('lang').addEventListener('click', switchLanguage);
window.addEventListener('pagehide', () => {
  stopFrames();
  stopCamera();
});
render();
