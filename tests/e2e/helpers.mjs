// Shared by the browser tests: the real server binary on a free port with a throwaway database,
// Debian's Chromium driven by playwright-core, and the steps a person takes.
//
// Without PAPOTE_BIN the binary is looked for in ../../target/release then ../../target/debug.
// The client is served from ../../web (--web-dir), so the files on disk are what is tested.
// Screenshots go to ./screenshots/ (gitignored).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const shots = join(here, 'screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
export const TIMEOUT = 10_000;

export const E2E_RULES = `
[[rule]]
id = "e2e.meeting"
categories = ["meeting"]
literals = ["on se voit ce soir"]

[[rule]]
id = "e2e.contact"
categories = ["contact"]
literals = ["mon snap"]

[[rule]]
id = "e2e.minor"
categories = ["minor_claim"]
literals = ["j'ai 15 ans"]

[[rule]]
id = "e2e.nickname"
categories = ["sexual"]
literals = ["lyceenne"]
`;

export function serverBinary() {
  if (process.env.PAPOTE_BIN) return resolve(process.env.PAPOTE_BIN);
  for (const profile of ['release', 'debug']) {
    const candidate = join(repo, 'target', profile, 'papote');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('no papote binary: build it (cargo build --release) or set PAPOTE_BIN');
}

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

/** Runs the papote binary to completion (e.g. `admin`), with `input` on stdin. */
export function runPapote(args, input = '') {
  return new Promise((ok, fail) => {
    const child = spawn(serverBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`papote ${args.join(' ')} exited ${code}:\n${out}`))));
    child.stdin.end(input);
  });
}

/**
 * Starts the server on a free port with a fresh database. `setup({db, dir})` runs before it
 * starts (e.g. to create a moderator with the CLI).
 */
export async function startServer({ setup } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'papote-e2e-'));
  const db = join(dir, 'e2e.db');
  const args = [
    'serve', '--listen', `127.0.0.1:${port}`, '--database', db,
    '--entries-per-ip-per-minute', '0', '--session-grace-secs', '120',
  ];
  if (process.env.PAPOTE_EMBEDDED !== '1') args.push('--web-dir', join(repo, 'web'));
  // Known phrases for the safety cards, whatever the built-in rule set says (an operator's
  // extra rules file, same format as data/safety/).
  const rules = join(dir, 'e2e-rules.toml');
  writeFileSync(rules, E2E_RULES);
  args.push('--safety-rules', rules);
  if (setup) await setup({ db, dir });
  const child = spawn(serverBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => { if (child.exitCode === null) process.kill(child.pid, 'SIGKILL'); }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, db, stop, log: () => log };
}

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A person: their own browser context (cookies), with console errors collected. */
export async function person(browser, base, options = {}) {
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 800 }, ...options });
  // Test-only: keep a handle on the page's sockets so a test can cut one.
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.__sockets.push(this);
      }
    };
  });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // A 401 from /api/session on first load is the expected "no session yet"; a server without
    // proof of work at entry has no /api/challenge (404), which the client takes as "not asked".
    if (/status of 401/.test(m.text())) return;
    if (/status of 404/.test(m.text()) && /\/api\/challenge$/.test(m.location().url || '')) return;
    page.errors.push(`console: ${m.text()} (${m.location().url || ''})`);
  });
  if (base !== 'about:blank') {
    await page.goto(base);
    await page.locator('#entry, #app').first().waitFor({ state: 'visible', timeout: TIMEOUT });
  }
  return { context, page };
}

/** No error in any page, except those a test expected (`expected`: a RegExp). */
export function pageErrors(people) {
  return people.flatMap(({ page, expected }) => page.errors.filter((e) => !(expected && expected.test(e))));
}

export async function fillEntry(page, { nickname, gender, age, postcode, commune }) {
  await page.fill('#f-nickname', nickname);
  await page.check(`input[name="gender"][value="${gender}"]`);
  await page.fill('#f-age', String(age));
  await page.fill('#f-postcode', '');
  await page.type('#f-postcode', postcode);
  await page.locator('#f-commune option[value]:not([value=""])').first().waitFor({ state: 'attached', timeout: TIMEOUT });
  if (commune) await page.selectOption('#f-commune', commune);
  if (!(await page.isChecked('#f-charter'))) await page.check('#f-charter');
}

export async function enter(page, who) {
  await fillEntry(page, who);
  await page.click('#entry-submit');
  await page.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#status').waitFor({ state: 'hidden', timeout: TIMEOUT });
}

export function panel(page, key) {
  return page.locator(`[data-conv="${key}"]`);
}

export async function openRoom(page, room) {
  await page.click(`#room-list [data-room="${room}"]`);
  const conv = panel(page, `room:${room}`);
  await conv.waitFor({ state: 'visible', timeout: TIMEOUT });
  await conv.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
  return conv;
}

export async function say(conv, text) {
  await conv.locator('.composer-input').fill(text);
  await conv.locator('.composer-input').press('Enter');
  // My own line: greyed until the server's ack, then plain.
  const line = conv.locator('.msg.is-mine', { hasText: text });
  await line.waitFor({ timeout: TIMEOUT });
  await conv.locator('.msg.is-mine:not(.is-pending):not(.is-refused)', { hasText: text }).waitFor({ timeout: TIMEOUT });
}

export async function sees(conv, nickname, text) {
  await conv.locator('.msg', { hasText: text }).filter({ has: conv.page().locator('.msg-nick', { hasText: nickname }) })
    .first().waitFor({ timeout: TIMEOUT });
}

export async function shot(page, name, options = {}) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), ...options });
}

/** Opens a member's profile card from the nearby list, then the private conversation. */
export async function messageFromList(page, nickname) {
  await page.locator('#member-list .member', { hasText: nickname }).click();
  const card = page.locator('#profile-modal');
  await card.waitFor({ state: 'visible', timeout: TIMEOUT });
  await card.locator('[data-profile="message"]').click();
  await card.waitFor({ state: 'hidden', timeout: TIMEOUT });
}

// ------------------------------------------------------------------------------------- axe

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2.x A/AA and best practices) on what the page shows. Injected with
 * evaluate, which the page's Content-Security-Policy does not apply to. Returns the violations
 * as {id, impact, help, nodes: [target…]}.
 */
export async function axe(page, { exclude = [] } = {}) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async (excluded) => {
    const context = excluded.length ? { exclude: excluded.map((s) => [s]) } : document;
    const run = await window.axe.run(context, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return run.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, exclude);
  return results;
}
