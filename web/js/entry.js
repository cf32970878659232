// The entry screen: nickname, gender, age, postcode → commune, charter. Errors are shown next to
// their field, from the server's `errors` list; an under-18 refusal shows the refusal panel.

import * as api from './api.js';
import { errorsOf } from './api.js';
import { $, $$, clear, el } from './dom.js';
import { t, onLangChange } from './i18n.js';

const FIELDS = ['nickname', 'gender', 'age', 'postcode', 'commune', 'charter'];
const REFUSAL_CODES = new Set(['underage', 'entry_locked']);

let onEntered = () => {};
let communeRequest = 0;
let lastCommunes = null;
let submitting = false;

function form() {
  return $('#entry-form');
}

function fieldInput(field) {
  switch (field) {
    case 'gender': return $('input[name="gender"]', form());
    case 'charter': return $('#f-charter');
    default: return $(`#f-${field}`);
  }
}

function setFieldError(field, message, part) {
  const box = $(`#f-${field}-error`);
  if (!box) return false;
  clear(box);
  if (message) {
    box.append(el('span', { text: message }));
    if (part) box.append(el('span', { class: 'error-part', text: t('entry.part', { part }) }));
  }
  box.hidden = !message;
  const input = fieldInput(field);
  if (field === 'gender') {
    $$('input[name="gender"]', form()).forEach((r) => r.toggleAttribute('aria-invalid', !!message));
  } else if (input) {
    if (message) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  }
  return true;
}

function setGeneralError(message) {
  const box = $('#entry-general-error');
  box.textContent = message || '';
  box.hidden = !message;
}

function clearErrors() {
  FIELDS.forEach((f) => setFieldError(f, ''));
  setGeneralError('');
}

/** Shows the server's refusals next to their fields; focuses the first one. */
function showErrors(errors) {
  clearErrors();
  let first = null;
  for (const error of errors) {
    const field = error.field;
    const shown = field && setFieldError(field, error.message || error.code, error.part);
    if (field === 'commune') $('#commune-field').hidden = false;
    if (!shown) setGeneralError(error.message || error.code);
    if (!first && shown) first = field;
  }
  const input = first && fieldInput(first);
  if (input) input.focus();
}

function selectedGender() {
  const checked = $('input[name="gender"]:checked', form());
  return checked ? checked.value : '';
}

function fillCommunes(list) {
  const select = $('#f-commune');
  clear(select);
  lastCommunes = list;
  if (!list || list.length === 0) {
    $('#commune-field').hidden = true;
    return;
  }
  if (list.length > 1) select.append(el('option', { value: '', text: t('entry.communeChoose') }));
  for (const commune of list) select.append(el('option', { value: commune.insee, text: commune.name }));
  if (list.length === 1) select.value = list[0].insee;
  $('#commune-field').hidden = false;
}

async function lookUpCommunes() {
  const input = $('#f-postcode');
  const cleaned = input.value.toUpperCase().replace(/[^0-9AB]/g, '').slice(0, 5);
  if (cleaned !== input.value) input.value = cleaned;
  const ticket = ++communeRequest;
  if (cleaned.length < 5) {
    fillCommunes(null);
    return;
  }
  const select = $('#f-commune');
  clear(select);
  select.append(el('option', { value: '', text: t('entry.communeLoading') }));
  $('#commune-field').hidden = false;
  const result = await api.communes(cleaned);
  if (ticket !== communeRequest) return; // a newer postcode was typed meanwhile
  if (result.ok && result.data) {
    setFieldError('postcode', '');
    fillCommunes(result.data.communes);
    if (result.data.communes.length > 1) $('#f-commune').focus();
  } else {
    fillCommunes(null);
    const error = errorsOf(result)[0];
    setFieldError('postcode', error ? error.message : t('error.network'));
  }
}

function localChecks(body) {
  const errors = [];
  const need = (field) => errors.push({ field, message: t(`entry.required.${field}`) });
  if (!body.nickname) need('nickname');
  if (!body.gender) need('gender');
  if (body.age === '') need('age');
  if (!body.postcode || body.postcode.length !== 5) need('postcode');
  else if (lastCommunes && lastCommunes.length > 1 && !body.commune) need('commune');
  if (!body.charter) need('charter');
  return errors;
}

async function submit(event) {
  event.preventDefault();
  if (submitting) return;
  const ageText = $('#f-age').value.trim();
  const body = {
    nickname: $('#f-nickname').value.trim(),
    gender: selectedGender(),
    age: /^\d+$/.test(ageText) ? Number(ageText) : ageText,
    postcode: $('#f-postcode').value.trim(),
    charter: $('#f-charter').checked,
  };
  const commune = $('#f-commune').value;
  if (commune) body.commune = commune;
  const local = localChecks(body);
  if (local.length) {
    showErrors(local);
    return;
  }
  clearErrors();
  submitting = true;
  const button = $('#entry-submit');
  button.disabled = true;
  button.textContent = t('entry.submitting');
  let result = await api.enter(body);
  // An expired or already used anti-robot challenge: try once more with a fresh one.
  if (!result.ok && errorsOf(result).some((e) => e.code === 'pow_invalid')) result = await api.enter(body);
  submitting = false;
  button.disabled = false;
  button.textContent = t('entry.submit');
  if (result.ok && result.data && result.data.member) {
    onEntered(result.data.member, true);
    return;
  }
  if (result.status === 0) {
    setGeneralError(t('error.network'));
    return;
  }
  const errors = errorsOf(result);
  const refusal = errors.find((e) => REFUSAL_CODES.has(e.code));
  if (refusal) {
    showRefusal(refusal.message);
    return;
  }
  if (errors.length === 0) {
    setGeneralError(t('error.server'));
    return;
  }
  showErrors(errors);
}

export function initEntry(handlers) {
  onEntered = handlers.onEntered;
  form().addEventListener('submit', submit);
  $('#f-postcode').addEventListener('input', lookUpCommunes);
  $('#f-commune').addEventListener('change', () => setFieldError('commune', ''));
  $('#f-charter').addEventListener('change', () => setFieldError('charter', ''));
  $$('input[name="gender"]', form()).forEach((r) => r.addEventListener('change', () => setFieldError('gender', '')));
  onLangChange(() => {
    if (lastCommunes) {
      const selected = $('#f-commune').value;
      fillCommunes(lastCommunes);
      $('#f-commune').value = selected;
    }
  });
}

function showScreen(id) {
  for (const screen of ['boot', 'entry', 'refusal', 'app']) $(`#${screen}`).hidden = screen !== id;
}

/** Back to the entry form, with an optional notice (session ended, kicked…). */
export function showEntry(notice) {
  showScreen('entry');
  api.prepareEntry();
  clearErrors();
  if (notice) setGeneralError(notice);
  const nickname = $('#f-nickname');
  if (!nickname.value) nickname.focus();
}

export function showRefusal(message) {
  showScreen('refusal');
  $('#refusal-message').textContent = message;
  $('#refusal-title').focus();
}

export function showApp() {
  showScreen('app');
}
