// The demo page's behaviour: validates the form, POSTs the expected identity to /demo/sessions
// (answered 201 {id, capture_url, expires_at}) and goes to the capture page. French or English
// from the browser, switchable like the capture page. No state beyond the form itself.

import { fill, preferredLanguage, table } from './messages.js';

let lang = preferredLanguage(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);
let error = null;

const $ = (id) => document.getElementById(id);
const t = (key, values) => fill(table(lang).ui[key] ?? key, values || {});

function render() {
  document.documentElement.lang = lang;
  document.title = t('demo.title');
  for (const el of document.querySelectorAll('[data-msg]')) el.textContent = t(el.dataset.msg);
  const button = $('lang');
  button.textContent = t('lang.button');
  button.setAttribute('aria-label', t('lang.label'));
  button.lang = lang === 'fr' ? 'en' : 'fr';
  const box = $('form-error');
  box.hidden = !error;
  box.textContent = error ? t(error.key, error.values) : '';
}

/** The request body from the form's fields (names as typed, upper-cased; birth date optional). */
export function sessionRequest(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) || '').trim().replace(/\s+/g, ' ').toUpperCase();
  const identity = { surname: text('surname'), given_names: text('given_names') };
  const birth = String(data.get('birth_date') || '').trim();
  if (birth) identity.birth_date = birth;
  return {
    purpose: data.get('purpose') === 'sender_onboarding' ? 'sender_onboarding' : 'recipient',
    reference: `demo-${Date.now().toString(36)}`,
    expected_identity: identity,
  };
}

async function submit(event) {
  event.preventDefault();
  const form = $('demo');
  const birth = $('birth_date');
  birth.setAttribute('aria-invalid', 'false');
  for (const input of [$('surname'), $('given_names')]) {
    const empty = !input.value.trim();
    input.setAttribute('aria-invalid', String(empty));
    if (empty) {
      input.focus();
      return;
    }
  }
  if (birth.value.trim() && !/^\d{4}-\d{2}-\d{2}$/.test(birth.value.trim())) {
    birth.setAttribute('aria-invalid', 'true');
    error = { key: 'demo.invalid_date' };
    render();
    birth.focus();
    return;
  }
  error = null;
  const button = $('submit');
  button.disabled = true;
  button.textContent = t('demo.creating');
  try {
    const response = await fetch('/demo/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sessionRequest(form)),
    });
    const body = response.status === 201 ? await response.json() : null;
    if (!body || typeof body.capture_url !== 'string') {
      error = { key: 'demo.failed', values: { status: response.status } };
      return;
    }
    location.assign(body.capture_url);
  } catch {
    error = { key: 'demo.failed', values: { status: 'network' } };
  } finally {
    button.disabled = false;
    render();
  }
}

$('demo').addEventListener('submit', submit);
$('lang').addEventListener('click', () => {
  lang = lang === 'fr' ? 'en' : 'fr';
  render();
});
render();
