// The message tables against the protocol: every hint code, step and challenge that
// docs/capture-protocol.md names, and every decision reason the service gives, has words in
// French and English, and both languages have the same keys. No browser needed.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGES, LANGUAGES, preferredLanguage, fill } from '../../web-capture/messages.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const protocol = fs.readFileSync(path.join(ROOT, 'docs/capture-protocol.md'), 'utf8');

function section(title) {
  const start = protocol.indexOf(title);
  assert.ok(start >= 0, `protocol doc has "${title}"`);
  const end = protocol.indexOf('\n### ', start + title.length);
  // From the line after the heading: the heading itself names message fields.
  return protocol.slice(protocol.indexOf('\n', start), end < 0 ? undefined : end);
}

const codes = (text) => [...new Set([...text.matchAll(/`([a-z_]+\.[a-z_]+)`/g)].map((m) => m[1]))];
const quoted = (text) => [...text.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);

const hintCodes = codes(section('### Hint codes'));
const instructionRow = protocol.split('\n').find((l) => l.startsWith('| `instruction`'));
const steps = quoted(instructionRow.split('`challenge`:')[0]);
const challenges = quoted(instructionRow.split('`challenge`:')[1].split('`camera`')[0]);

// The decision's reason codes (../shared/DESIGN.md section 4, datasets-synthetic's expected
// reasons, and the document policy's refusals).
const REASONS = [
  'document.driving_licence_refused', 'document.visa_refused', 'document.residence_permit_refused',
  'document.unknown_kind', 'document.expired', 'mrz.check_digit_failed', 'mrz.field_invalid', 'mrz.unreadable',
  'face.no_match', 'liveness.challenge_failed', 'liveness.presentation_attack', 'identity.name_mismatch',
  'session.timeout',
];
// And every reason the session's decision can give, read from its source, so that a new one
// without words fails here.
const machine = fs.readFileSync(path.join(ROOT, 'verifier/session/src/machine.rs'), 'utf8');
const SESSION_REASONS = [...new Set(
  [...machine.matchAll(/(?:reasons\.push\(|decide_now\(Outcome::\w+, vec!\[)"([a-z_]+\.[a-z_]+)"/g)].map((m) => m[1]),
)];

test('the protocol doc was parsed', () => {
  assert.ok(hintCodes.length >= 20, `hint codes: ${hintCodes}`);
  assert.ok(SESSION_REASONS.length >= 12, `session reasons: ${SESSION_REASONS}`);
  assert.ok(SESSION_REASONS.includes('face.uncertain_match'), 'a review reason is among them');
  assert.deepEqual(steps, ['document', 'document_front', 'face', 'challenge', 'done']);
  assert.deepEqual(challenges, ['turn_left', 'turn_right', 'look_up', 'look_down', 'blink']);
});

for (const lang of LANGUAGES) {
  test(`${lang}: every protocol code has words`, () => {
    const m = MESSAGES[lang];
    for (const code of hintCodes) assert.ok(m.hints[code], `${lang} hint ${code}`);
    for (const step of steps) assert.ok(m.steps[step], `${lang} step ${step}`);
    for (const c of challenges) assert.ok(m.challenges[c], `${lang} challenge ${c}`);
    for (const r of [...REASONS, ...SESSION_REASONS]) assert.ok(m.reasons[r], `${lang} reason ${r}`);
    assert.ok(m.hints.unknown && m.reasons.unknown, 'generic fallbacks');
  });
}

test('French and English have the same keys', () => {
  for (const group of Object.keys(MESSAGES.en)) {
    assert.deepEqual(Object.keys(MESSAGES.fr[group]).sort(), Object.keys(MESSAGES.en[group]).sort(), group);
  }
  for (const [group, entries] of Object.entries(MESSAGES.fr)) {
    for (const [key, text] of Object.entries(entries)) {
      assert.notEqual(text, MESSAGES.en[group][key], `fr ${group}.${key} is not translated`);
    }
  }
});

test('every data-msg key of the pages is in the tables', () => {
  for (const page of ['capture.html', 'demo.html']) {
    const html = fs.readFileSync(path.join(ROOT, 'web-capture', page), 'utf8');
    for (const [, key] of html.matchAll(/data-msg="([^"]+)"/g)) {
      for (const lang of LANGUAGES) assert.ok(MESSAGES[lang].ui[key], `${page}: ${lang} ui ${key}`);
    }
  }
});

test('language preference and placeholders', () => {
  assert.equal(preferredLanguage(['fr-FR', 'en']), 'fr');
  assert.equal(preferredLanguage(['de-DE', 'en-US', 'fr']), 'en');
  assert.equal(preferredLanguage(['de-DE']), 'en');
  assert.equal(preferredLanguage([]), 'en');
  assert.equal(fill('Step {n} of {total}', { n: 2, total: 3 }), 'Step 2 of 3');
  assert.equal(fill('{missing}', {}), '{missing}');
});
