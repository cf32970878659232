// Language: French first, English when the browser prefers it; the choice is remembered.
// Static strings in the page carry data-i18n (textContent), data-i18n-placeholder,
// data-i18n-aria-label or data-i18n-title; dynamic ones call t().

import fr from '../i18n/fr.js';
import en from '../i18n/en.js';

const DICTIONARIES = { fr, en };
const STORAGE_KEY = 'papote.lang';
const listeners = new Set();

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && DICTIONARIES[saved]) return saved;
  } catch { /* storage may be disabled */ }
  const nav = (navigator.language || 'fr').toLowerCase();
  return nav.startsWith('en') ? 'en' : 'fr';
}

let lang = initialLang();

export function currentLang() {
  return lang;
}

/** The text for `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params) {
  const text = DICTIONARIES[lang][key] ?? fr[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fills every data-i18n* attribute under `root`. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-content]')) el.setAttribute('content', t(el.dataset.i18nContent));
  // The language switch speaks the other language ("EN", "Switch to English").
  for (const el of root.querySelectorAll('[data-lang-other]')) el.lang = otherLang();
  if (root === document) {
    document.documentElement.lang = lang;
    document.title = t('meta.title');
  }
}

export function setLang(next) {
  if (!DICTIONARIES[next] || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* not remembered */ }
  applyI18n();
  for (const fn of listeners) fn(lang);
}

export function otherLang() {
  return lang === 'fr' ? 'en' : 'fr';
}

export function toggleLang() {
  setLang(otherLang());
}

export function onLangChange(fn) {
  listeners.add(fn);
}
