// The client's strings: French and English complete, and nothing user-facing hard-coded in the
// page or in the scripts (every sentence lives in web/i18n/fr.js and en.js). Node only, no browser.
//
//   node --test i18n.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

async function dictionary(lang) {
  const source = readFileSync(join(web, 'i18n', `${lang}.js`), 'utf8');
  const module = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);
  return module.default;
}

const fr = await dictionary('fr');
const en = await dictionary('en');
const html = readFileSync(join(web, 'index.html'), 'utf8');
const scripts = readdirSync(join(web, 'js')).filter((f) => f.endsWith('.js'))
  .map((f) => ({ file: f, source: readFileSync(join(web, 'js', f), 'utf8') }));

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('French and English have the same keys, none empty, with the same placeholders', () => {
  const frKeys = Object.keys(fr).sort();
  const enKeys = Object.keys(en).sort();
  assert.deepEqual(frKeys.filter((k) => !(k in en)), [], 'keys missing in en.js');
  assert.deepEqual(enKeys.filter((k) => !(k in fr)), [], 'keys missing in fr.js');
  for (const key of frKeys) {
    assert.ok(typeof fr[key] === 'string' && fr[key].trim(), `fr.js: ${key} is empty`);
    assert.ok(typeof en[key] === 'string' && en[key].trim(), `en.js: ${key} is empty`);
    assert.deepEqual(placeholders(en[key]), placeholders(fr[key]), `placeholders differ for ${key}`);
  }
});

test('every key the page and the scripts ask for exists', () => {
  const missing = [];
  for (const m of html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) if (!(m[1] in fr)) missing.push(`index.html: ${m[1]}`);
  for (const { file, source } of scripts) {
    for (const m of source.matchAll(/\bt\(\s*'([^']+)'/g)) if (!(m[1] in fr)) missing.push(`${file}: ${m[1]}`);
    // t(`prefix.${x}`): some key must start with the prefix.
    for (const m of source.matchAll(/\bt\(\s*`([^`$]*)\$\{/g)) {
      if (!Object.keys(fr).some((k) => k.startsWith(m[1]))) missing.push(`${file}: ${m[1]}…`);
    }
  }
  assert.deepEqual(missing, []);
});

/** Text that is not words: symbols, digits, the brand, language names written in their own language. */
const ALLOWED_TEXT = new Set(['PAPOTE', '18+', '3018', 'Français', 'English', 'i', '_']);
const hasWords = (text) => /\p{L}/u.test(text) && !ALLOWED_TEXT.has(text.trim());

test('index.html: every visible text and label comes from the dictionaries', () => {
  const VOID = new Set(['meta', 'link', 'input', 'br', 'img', 'hr']);
  const RAW = new Set(['script', 'style', 'title']); // <title> is set from meta.title
  const stack = [];
  const problems = [];
  const source = html.replace(/<!--[\s\S]*?-->/g, '').replace(/<!doctype[^>]*>/i, '');
  for (const m of source.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>|([^<]+)/g)) {
    const [, closing, tagName, attrs, text] = m;
    if (text !== undefined) {
      const translated = stack.some((e) => e.i18n || RAW.has(e.tag));
      if (!translated && hasWords(text.trim())) problems.push(`text "${text.trim()}" in <${stack.at(-1)?.tag}>`);
      continue;
    }
    const tag = tagName.toLowerCase();
    if (closing) {
      const at = stack.map((e) => e.tag).lastIndexOf(tag);
      if (at >= 0) stack.length = at;
      continue;
    }
    for (const a of attrs.matchAll(/\b(aria-label|placeholder|title|alt)="([^"]*)"/g)) {
      const counterpart = a[1] === 'aria-label' ? 'data-i18n-aria-label' : `data-i18n-${a[1]}`;
      if (hasWords(a[2]) && !attrs.includes(`${counterpart}=`)) problems.push(`${a[1]}="${a[2]}" on <${tag}>`);
    }
    if (tag === 'meta' && /name="description"/.test(attrs) && !attrs.includes('data-i18n-content=')) problems.push('meta description');
    if (!VOID.has(tag) && !attrs.trim().endsWith('/')) stack.push({ tag, i18n: /\bdata-i18n="/.test(attrs) });
  }
  assert.deepEqual(problems, []);
});

test('scripts: no user-facing sentence written in the code', () => {
  // Literal strings where text reaches the screen or a screen reader.
  const SINKS = [
    /\btext:\s*(['"`])((?:(?!\1).)*)\1/g,
    /\.textContent\s*=\s*(['"`])((?:(?!\1).)*)\1/g,
    /\.(?:title|placeholder)\s*=\s*(['"`])((?:(?!\1).)*)\1/g,
    /'(?:aria-label|title|placeholder)'\s*[:,]\s*(['"`])((?:(?!\1).)*)\1/g,
    /\b(?:toast|announce|setGeneralError|setText\([^,]+,)\s*\(?\s*(['"`])((?:(?!\1).)*)\1/g,
  ];
  const problems = [];
  for (const { file, source } of scripts) {
    for (const sink of SINKS) {
      for (const m of source.matchAll(sink)) {
        const literal = m[2].replace(/\$\{[^}]*\}/g, '');
        if (hasWords(literal)) problems.push(`${file}: ${m[0]}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
