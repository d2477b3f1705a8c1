// The capture and demo pages in real Chromium against a scripted fixture (lib/fixture.js): the
// page shows the last instruction in the right words (FR and EN), sends JPEG frames each after
// its `frame` message at the rate the server sets, switches cameras when told, shows the result,
// the camera errors and the close codes, and meets basic accessibility checks. The decisions
// themselves are the server's: e2e.test.js runs those against the real verifier.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fakeCameraScript, launch } from './lib/browser.js';
import { instruction, ready, startFixture } from './lib/fixture.js';

const ARTIFACTS = path.resolve(process.env.E2E_ARTIFACTS || path.join(import.meta.dirname ?? '.', '../../target/e2e-artifacts'));
const SHOTS = path.join(ARTIFACTS, 'page');

let fixture;
/** Scripts per token: what the fixture does when the page connects. */
const scripts = new Map();

before(async () => {
  await fs.mkdir(SHOTS, { recursive: true });
  fixture = await startFixture({
    onConnection: async (conn) => {
      const script = scripts.get(conn.token);
      if (script) await script(conn);
    },
  });
});

after(async () => {
  await fixture.close();
});

/** Opens the capture page for `token` in a fresh Chromium with the synthetic camera. */
async function open(token, { locale = 'en-GB', camera = {}, init = null, start = true } = {}) {
  const b = await launch({ locale });
  await b.page.addInitScript(fakeCameraScript(camera));
  if (init) await b.page.addInitScript(init);
  const errors = [];
  b.page.on('pageerror', (e) => errors.push(e));
  await b.page.goto(`${fixture.origin}/capture/${token}`);
  if (start) await b.page.click('#start');
  return { ...b, errors };
}

const text = (page, sel) => page.locator(sel).innerText();
const waitText = (page, sel, expected) =>
  page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent.includes(e), [sel, expected], { timeout: 10000 });
const connOf = (token) => fixture.connections.find((c) => c.token === token);
async function conn(token) {
  for (let i = 0; i < 500; i++) {
    const c = connOf(token);
    if (c) return c;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no connection for ${token}`);
}

function jpegSize(bytes) {
  // Walks the JPEG markers to the first SOFn and reads its height and width.
  assert.equal(bytes[0], 0xff);
  assert.equal(bytes[1], 0xd8, 'starts with SOI');
  let i = 2;
  while (i < bytes.length) {
    const marker = bytes[i + 1];
    const len = bytes.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}

test('frames: JPEG after a frame message, at most one per interval, steered by rate', async () => {
  scripts.set('tok-frames', async (c) => {
    c.send(ready({ frame_interval_ms: 100 }));
    c.send(instruction('document', { code: 'mrz.too_small', progress: 0.1 }));
  });
  const b = await open('tok-frames', { camera: { width: 1920, height: 1080 } });
  try {
    const c = await conn('tok-frames');
    await c.framesAtLeast(8);
    const hello = c.texts[0];
    assert.equal(hello.type, 'hello');
    assert.equal(hello.lang, 'en');
    assert.ok(Array.isArray(hello.viewport) && hello.viewport.length === 2);
    // Each binary message came right after its `frame` description.
    let lastSeq = 0;
    for (const f of c.frames) {
      assert.ok(f.meta, 'binary preceded by a frame message');
      assert.ok(f.meta.seq > lastSeq, 'seq increases');
      lastSeq = f.meta.seq;
      assert.equal(typeof f.meta.captured_at_ms, 'number');
      assert.equal(f.meta.camera, 'environment');
      const size = jpegSize(f.bytes);
      assert.deepEqual(size, { width: f.meta.width, height: f.meta.height });
      assert.ok(Math.max(size.width, size.height) <= 1280, `max side ${size.width}x${size.height}`);
    }
    assert.deepEqual(jpegSize(c.frames[0].bytes), { width: 1280, height: 720 }, '1920x1080 scaled to 1280 wide');
    const gaps = (frames) => frames.slice(1).map((f, i) => f.at - frames[i].at);
    // Timer jitter on the receiving side: allow 15 ms under the interval.
    assert.ok(Math.min(...gaps(c.frames)) >= 85, `gaps at 100 ms: ${gaps(c.frames).map(Math.round)}`);
    c.send({ type: 'rate', frame_interval_ms: 400 });
    await new Promise((r) => setTimeout(r, 150));
    const from = c.frames.length;
    await c.framesAtLeast(from + 4);
    const slow = gaps(c.frames.slice(from));
    assert.ok(Math.min(...slow) >= 385, `gaps at 400 ms: ${slow.map(Math.round)}`);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test('a camera slower than the frame rate: each picture is sent once, never the same JPEG twice', async () => {
  scripts.set('tok-slowcam', async (c) => {
    c.send(ready({ frame_interval_ms: 100 }));
    c.send(instruction('document'));
  });
  // Four pictures a second against ten frames a second asked: the video holds each picture for
  // about two and a half frame intervals.
  const b = await open('tok-slowcam', { camera: { fps: 4 } });
  try {
    const c = await conn('tok-slowcam');
    await c.framesAtLeast(6, 15000);
    const drawn = await b.page.evaluate(() => window.__person.drawn);
    const hashes = c.frames.map((f) => createHash('sha256').update(f.bytes).digest('hex'));
    assert.equal(new Set(hashes).size, hashes.length, 'no JPEG sent twice');
    assert.ok(c.frames.length <= drawn, `${c.frames.length} frames sent for ${drawn} pictures`);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test('credit flow: no frame before a credit, one frame per credit, a repeated credit is not two', async () => {
  scripts.set('tok-credit', async (c) => {
    c.send(ready({ frame_interval_ms: 50, flow: 'credit' }));
    c.send(instruction('document', { code: null, progress: 0.1 }));
  });
  const b = await open('tok-credit');
  try {
    const c = await conn('tok-credit');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(c.frames.length, 0, 'nothing is sent without a credit');
    // A credit offered again before it was used (the server withdrew and re-offered it) is
    // still one frame.
    c.send({ type: 'credit', frames: 1 });
    c.send({ type: 'credit', frames: 1 });
    await c.framesAtLeast(1);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(c.frames.length, 1, 'one frame for a credit and its repeat');
    const before = c.frames.length;
    for (let i = 0; i < 3; i += 1) {
      c.send({ type: 'credit', frames: 1 });
      await c.framesAtLeast(before + i + 1);
    }
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.frames.length, before + 3, 'one frame per credit');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test('flash: each colour fills the screen around the face oval at once, and clears', async () => {
  let c;
  scripts.set('tok-flash', async (x) => {
    c = x;
    x.send(ready());
    x.send(instruction('face', { code: 'flash.hold_still', progress: 0.5 }));
  });
  const b = await open('tok-flash');
  const { page } = b;
  try {
    await conn('tok-flash');
    await page.waitForSelector('#screen-capture:not([hidden])');
    assert.match(await page.locator('#hint').innerText(), /screen will change colour/);
    const look = () => page.evaluate(() => ({
      flash: document.body.dataset.flash || null,
      body: getComputedStyle(document.body).backgroundColor,
      around: getComputedStyle(document.querySelector('.overlay-face')).boxShadow,
    }));
    for (const [colour, rgb] of [['red', [255, 0, 0]], ['cyan', [0, 255, 255]]]) {
      c.send({ type: 'flash', colour, rgb });
      await page.waitForFunction((name) => document.body.dataset.flash === name, colour);
      const seen = await look();
      assert.equal(seen.body, `rgb(${rgb.join(', ')})`);
      assert.ok(seen.around.includes(`rgb(${rgb.join(', ')})`), seen.around);
    }
    c.send({ type: 'flash', colour: null, rgb: null });
    await page.waitForFunction(() => !document.body.dataset.flash);
    const after = await look();
    assert.notEqual(after.body, 'rgb(0, 255, 255)');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test('instructions: step, hint, overlay, progress and challenge arrow; aria-live announces each', async () => {
  let c;
  scripts.set('tok-steps', async (x) => {
    c = x;
    x.send(ready({ steps: ['document', 'document_front', 'face', 'challenge'] }));
    x.send(instruction('document', { code: 'mrz.glare', progress: 0.1 }));
  });
  const b = await open('tok-steps', { camera: { cameras: 2 } });
  const { page } = b;
  try {
    await waitText(page, '#hint', 'Avoid glare');
    assert.match(await text(page, '#step-title'), /lines of letters/);
    assert.equal(await page.locator('#stage').getAttribute('data-overlay'), 'document');
    assert.match(await page.locator('#live').textContent(), /Avoid glare/);
    assert.equal(await page.locator('#progress').getAttribute('aria-valuenow'), '10');
    assert.equal(await text(page, '#progress-label'), 'Step 1 of 4');
    await page.screenshot({ path: path.join(SHOTS, '01-document-glare.png') });

    c.send(instruction('document_front', { code: 'document.turn_over', progress: 0.3 }));
    await waitText(page, '#hint', 'Turn the card over');
    assert.equal(await text(page, '#progress-label'), 'Step 2 of 4');

    c.send(instruction('document_front', { code: 'document.hold_still', progress: 0.4 }));
    await waitText(page, '#hint', 'Reading');
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.corner')).borderTopColor), 'rgb(55, 214, 122)',
      'the guide turns green while reading');
    c.send(instruction('face', { code: 'face.too_small', progress: 0.5 }));
    await waitText(page, '#hint', 'Move closer');
    assert.equal(await page.locator('#stage').getAttribute('data-overlay'), 'face');
    assert.equal(await page.locator('#stage').getAttribute('data-mirror'), 'true');
    // Two cameras: the face step reopened the front one.
    await page.waitForFunction(() => window.__person.requests.length === 2);
    const requests = await page.evaluate(() => window.__person.requests);
    assert.deepEqual(requests.map((r) => r.video.facingMode.ideal), ['environment', 'user']);
    await c.until(() => c.frames.some((f) => f.meta.camera === 'user'), 5000, 'a frame from the user camera');
    await page.screenshot({ path: path.join(SHOTS, '02-face-too-small.png') });

    c.send(instruction('challenge', { challenge: 'turn_left', progress: 0.7 }));
    await waitText(page, '#challenge', 'Turn your head to your left');
    assert.equal(await page.locator('#arrow').getAttribute('class'), 'arrow arrow-turn_left');
    assert.ok(await page.locator('#arrow').isVisible());
    assert.equal(await page.locator('#hint').isVisible(), false, 'no hint code, no hint');
    assert.match(await page.locator('#live').textContent(), /Follow the movement\. Turn your head to your left\./);
    await page.screenshot({ path: path.join(SHOTS, '03-challenge-left.png') });

    c.send(instruction('challenge', { challenge: 'look_up', code: 'a.code_nobody_knows', progress: 0.8 }));
    await waitText(page, '#hint', 'Follow the guide on the screen');
    assert.equal(await page.locator('#arrow').getAttribute('class'), 'arrow arrow-look_up');

    c.send(instruction('done', { progress: 1 }));
    await page.waitForSelector('#screen-waiting:not([hidden])');
    const n = c.frames.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(c.frames.length <= n + 1, 'no frames after done');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

for (const [outcome, reasons, title, words] of [
  ['accepted', [], 'Identity confirmed', null],
  ['rejected', ['document.driving_licence_refused'], 'Identity not confirmed', 'A driving licence is not accepted'],
  ['review', ['identity.name_mismatch', 'some.new_reason'], 'A person will check', 'a person will check'],
]) {
  test(`result screen: ${outcome}`, async () => {
    const token = `tok-result-${outcome}`;
    scripts.set(token, async (c) => {
      c.send(ready());
      c.send(instruction('face'));
      await c.framesAtLeast(2);
      c.send({ type: 'result', outcome, reasons });
      c.close(1000);
    });
    const b = await open(token);
    const { page } = b;
    try {
      await page.waitForSelector('#screen-result:not([hidden])');
      assert.equal(await text(page, '#result-title'), title);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'result-title', 'focus on the result');
      const items = await page.locator('#result-reasons li').allInnerTexts();
      assert.equal(items.length, reasons.length);
      if (words) assert.ok(items[0].includes(words), items[0]);
      if (reasons.includes('some.new_reason')) assert.equal(items[1], 'Another check did not pass.');
      assert.match(await page.locator('#live').textContent(), new RegExp(title));
      await page.screenshot({ path: path.join(SHOTS, `04-result-${outcome}.png`) });
      const c = connOf(token);
      const n = c.frames.length;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(c.frames.length, n, 'no frames after the result');
      assert.equal(fixture.connections.filter((x) => x.token === token).length, 1, 'no reconnection after 1000');
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });
}

test('French from the browser language, switchable both ways; the instruction shown follows', async () => {
  let c;
  scripts.set('tok-fr', async (x) => {
    c = x;
    x.send(ready());
    x.send(instruction('document', { code: 'mrz.too_blurry' }));
  });
  const b = await open('tok-fr', { locale: 'fr-FR', start: false });
  const { page } = b;
  try {
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await text(page, '#intro-title'), 'Vérifiez votre identité');
    assert.equal(await text(page, '#lang'), 'English');
    await page.screenshot({ path: path.join(SHOTS, '00-intro-fr.png') });
    await page.click('#start');
    await waitText(page, '#hint', 'Ne bougez plus');
    assert.equal(connOf('tok-fr').texts[0].lang, 'fr');
    await page.click('#lang');
    await waitText(page, '#hint', 'Hold still');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await text(page, '#lang'), 'Français');
    assert.equal(await page.getAttribute('#lang', 'lang'), 'fr');
    await page.click('#lang');
    await waitText(page, '#hint', 'Ne bougez plus');
    c.send({ type: 'result', outcome: 'rejected', reasons: ['face.no_match'] });
    await waitText(page, '#result-reasons', 'Le visage ne correspond pas');
    assert.equal(await text(page, '#result-title'), 'Identité non confirmée');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test('camera permission denied: a screen that says so, with a retry button', async () => {
  const b = await open('tok-denied', { camera: { mode: 'denied' } });
  const { page } = b;
  try {
    await page.waitForSelector('#screen-error:not([hidden])');
    assert.equal(await text(page, '#error-title'), 'The camera is blocked');
    assert.equal(await text(page, '#retry'), 'Try again');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'error-title');
    await page.screenshot({ path: path.join(SHOTS, '05-camera-denied.png') });
    assert.equal(connOf('tok-denied'), undefined, 'no socket opened without a camera');
  } finally {
    await b.close();
  }
});

test('no camera, and a note when the page is not on a secure origin', async () => {
  const insecure = `Object.defineProperty(window, 'isSecureContext', { get: () => false });`;
  const b = await open('tok-nocam', { camera: { mode: 'missing' }, init: insecure, locale: 'fr-FR' });
  const { page } = b;
  try {
    await page.waitForSelector('#screen-error:not([hidden])');
    assert.equal(await text(page, '#error-title'), 'Aucune caméra trouvée');
    assert.match(await text(page, '#error-body'), /HTTPS/);
    assert.ok(await page.locator('#insecure').isVisible());
    await page.screenshot({ path: path.join(SHOTS, '06-no-camera-insecure.png') });
  } finally {
    await b.close();
  }
  const secure = await open('tok-secure', { start: false });
  try {
    assert.equal(await secure.page.locator('#insecure').isVisible(), false, 'localhost is a secure context');
  } finally {
    await secure.close();
  }
});

for (const [code, title, retry] of [
  [4404, 'This link is not valid', null],
  [4410, 'This link has expired', null],
  [4409, 'The check is open elsewhere', 'Continue here'],
  [4408, 'The check was paused', 'Resume'],
]) {
  test(`close code ${code}: ${title}`, async () => {
    const token = `tok-close-${code}`;
    scripts.set(token, async (c) => {
      if (code >= 4408 && code <= 4409) {
        c.send(ready());
        c.send(instruction('document'));
        await c.framesAtLeast(1);
      }
      c.close(code);
    });
    const b = await open(token);
    try {
      await b.page.waitForSelector('#screen-error:not([hidden])');
      assert.equal(await text(b.page, '#error-title'), title);
      assert.equal(await b.page.locator('#retry').isVisible(), Boolean(retry));
      if (retry) {
        assert.equal(await text(b.page, '#retry'), retry);
        scripts.set(token, (c) => {
          c.send(ready());
          c.send(instruction('face', { code: 'face.hold_still' }));
        });
        await b.page.click('#retry');
        await waitText(b.page, '#hint', 'Hold still');
      } else {
        await new Promise((r) => setTimeout(r, 800));
        assert.equal(fixture.connections.filter((x) => x.token === token).length, 1, 'no reconnection');
      }
    } finally {
      await b.close();
    }
  });
}

test('a dropped connection is reopened and the page shows the instruction the server resends', async () => {
  let n = 0;
  scripts.set('tok-drop', async (c) => {
    n += 1;
    c.send(ready());
    if (n === 1) {
      c.send(instruction('document', { code: 'mrz.cut_off' }));
      await c.framesAtLeast(2);
      c.socket.terminate();
    } else {
      c.send(instruction('face', { code: 'face.not_frontal', progress: 0.5 }));
    }
  });
  const b = await open('tok-drop');
  try {
    await waitText(b.page, '#hint', 'Look straight at the camera');
    assert.equal(fixture.connections.filter((x) => x.token === 'tok-drop').length, 2);
    assert.equal(await b.page.locator('#reconnecting').isVisible(), false);
    const second = fixture.connections.filter((x) => x.token === 'tok-drop')[1];
    await second.framesAtLeast(1);
    const first = connOf('tok-drop');
    assert.ok(second.frames[0].meta.seq > first.frames.at(-1).meta.seq, 'seq keeps increasing across connections');
  } finally {
    await b.close();
  }
});

test('a phone: portrait camera stream in a narrow viewport keeps the guides inside the preview', async () => {
  let c;
  scripts.set('tok-phone', (x) => {
    c = x;
    x.send(ready());
    x.send(instruction('document', { code: 'mrz.too_small', progress: 0.1 }));
  });
  const b = await launch({ locale: 'fr-FR', viewport: { width: 390, height: 844 } });
  await b.page.addInitScript(fakeCameraScript({ width: 720, height: 1280 }));
  const { page } = b;
  try {
    await page.goto(`${fixture.origin}/capture/tok-phone`);
    await page.click('#start');
    await waitText(page, '#hint', 'Rapprochez-vous');
    await page.waitForFunction(() => document.getElementById('video').videoWidth > 0);
    const inside = (sel) => page.evaluate((s) => {
      const stage = document.getElementById('stage').getBoundingClientRect();
      const r = document.querySelector(s).getBoundingClientRect();
      return r.width > stage.width * 0.5 && r.left >= stage.left - 1 && r.right <= stage.right + 1
        && r.top >= stage.top - 1 && r.bottom <= stage.bottom + 1;
    }, sel);
    assert.ok(await inside('.overlay-document'), 'document frame inside the preview');
    await page.screenshot({ path: path.join(SHOTS, '08-phone-document.png') });
    c.send(instruction('challenge', { challenge: 'look_down', progress: 0.8 }));
    await waitText(page, '#challenge', 'Baissez les yeux');
    assert.ok(await inside('.overlay-face'), 'face oval inside the preview');
    await page.screenshot({ path: path.join(SHOTS, '09-phone-challenge.png') });
  } finally {
    await b.close();
  }
});

test('accessibility: names, labels, focus order and text contrast', async () => {
  let c;
  scripts.set('tok-a11y', (x) => {
    c = x;
    x.send(ready());
    x.send(instruction('challenge', { challenge: 'turn_right', code: 'challenge.back_to_centre', progress: 0.6 }));
  });
  const b = await open('tok-a11y', { start: false });
  const { page } = b;
  try {
    // Focus order on the intro: the language button, then Start.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'lang');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'start');
    await page.keyboard.press('Enter');
    await waitText(page, '#challenge', 'Turn your head to your right');
    const report = await page.evaluate(() => {
      const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const background = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      const ratio = (el) => {
        const a = lum(rgb(getComputedStyle(el).color).slice(0, 3));
        const b = lum(background(el));
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      };
      const visible = (el) => el.offsetParent !== null || getComputedStyle(el).position === 'fixed';
      const texts = [...document.querySelectorAll('h1, p, li, button, .brand')].filter((e) => visible(e) && e.textContent.trim());
      return {
        contrast: texts.map((e) => ({ id: e.id || e.className || e.tagName, ratio: ratio(e) })),
        unnamedButtons: [...document.querySelectorAll('button')].filter((e) => visible(e) && !(e.getAttribute('aria-label') || e.textContent.trim())).length,
        live: document.querySelector('[aria-live]')?.getAttribute('aria-live'),
        progress: document.querySelector('[role=progressbar]')?.getAttribute('aria-labelledby'),
        video: document.querySelector('video').hasAttribute('playsinline') && document.querySelector('video').muted,
      };
    });
    for (const { id, ratio } of report.contrast) assert.ok(ratio >= 4.5, `${id}: contrast ${ratio.toFixed(2)}`);
    assert.ok(report.contrast.length >= 4, 'some text was checked');
    assert.equal(report.unnamedButtons, 0);
    assert.equal(report.live, 'polite');
    assert.equal(report.progress, 'progress-label');
    assert.ok(report.video, 'video is playsinline and muted');
    c.send({ type: 'result', outcome: 'accepted', reasons: [] });
    await page.waitForSelector('#screen-result:not([hidden])');
  } finally {
    await b.close();
  }
});

test('demo page: validates, POSTs the expected identity, goes to the capture page', async () => {
  scripts.set('demo-token', (c) => {
    c.send(ready());
    c.send(instruction('document'));
  });
  const b = await launch({ locale: 'en-GB' });
  await b.page.addInitScript(fakeCameraScript());
  const { page } = b;
  try {
    await page.goto(`${fixture.origin}/demo`);
    assert.equal(await text(page, 'h1'), 'Try an identity check');
    // Every input has a label.
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input')].filter((i) => !(i.labels && i.labels.length)).map((i) => i.name));
    assert.deepEqual(unlabelled, []);
    await page.click('#submit');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'surname', 'an empty name is not sent');
    await page.fill('#surname', 'Martin');
    await page.fill('#given_names', ' anne  marie ');
    await page.fill('#birth_date', '23/04/1990');
    await page.click('#submit');
    await waitText(page, '#form-error', 'YYYY-MM-DD');
    assert.equal(fixture.demoRequests.length, 0);
    await page.screenshot({ path: path.join(SHOTS, '07-demo-invalid-date.png') });
    await page.fill('#birth_date', '1990-04-23');
    await page.check('input[value=sender_onboarding]');
    await Promise.all([page.waitForURL('**/capture/demo-token'), page.click('#submit')]);
    const { body, contentType } = fixture.demoRequests[0];
    assert.equal(contentType, 'application/json');
    assert.equal(body.purpose, 'sender_onboarding');
    assert.equal(typeof body.reference, 'string');
    assert.deepEqual(body.expected_identity, { surname: 'MARTIN', given_names: 'ANNE MARIE', birth_date: '1990-04-23' });
    assert.equal(await text(page, '#intro-title'), 'Check your identity');
  } finally {
    await b.close();
  }
});
