// End-to-end test of the web client: the real server binary, Debian's Chromium driven by
// playwright-core, several people in separate browser contexts.
//
//   PAPOTE_BIN=/path/to/papote node --test chat.spec.mjs
//
// Without PAPOTE_BIN the binary is looked for in ../../target/release then ../../target/debug.
// The client is served from ../../web (--web-dir), so the files on disk are what is tested.
// Screenshots go to ./screenshots/ (gitignored).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const shots = join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
const TIMEOUT = 10_000;

function serverBinary() {
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

async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'papote-e2e-'));
  const args = [
    'serve', '--listen', `127.0.0.1:${port}`, '--database', join(dir, 'e2e.db'),
    '--entries-per-ip-per-minute', '0', '--session-grace-secs', '120',
  ];
  if (process.env.PAPOTE_EMBEDDED !== '1') args.push('--web-dir', join(repo, 'web'));
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
  return { base, stop, log: () => log };
}

/** A person: their own browser context (cookies), with console errors collected. */
async function person(browser, base, options = {}) {
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
    // A 401 from /api/session on first load is the expected "no session yet".
    if (m.type() === 'error' && !/status of 401/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  if (base !== 'about:blank') {
    await page.goto(base);
    await page.locator('#entry, #app').first().waitFor({ state: 'visible', timeout: TIMEOUT });
  }
  return { context, page };
}

async function fillEntry(page, { nickname, gender, age, postcode, commune }) {
  await page.fill('#f-nickname', nickname);
  await page.check(`input[name="gender"][value="${gender}"]`);
  await page.fill('#f-age', String(age));
  await page.fill('#f-postcode', '');
  await page.type('#f-postcode', postcode);
  await page.locator('#f-commune option[value]:not([value=""])').first().waitFor({ state: 'attached', timeout: TIMEOUT });
  if (commune) await page.selectOption('#f-commune', commune);
  if (!(await page.isChecked('#f-charter'))) await page.check('#f-charter');
}

async function enter(page, who) {
  await fillEntry(page, who);
  await page.click('#entry-submit');
  await page.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#status').waitFor({ state: 'hidden', timeout: TIMEOUT });
}

function panel(page, key) {
  return page.locator(`[data-conv="${key}"]`);
}

async function openRoom(page, room) {
  await page.click(`#room-list [data-room="${room}"]`);
  const conv = panel(page, `room:${room}`);
  await conv.waitFor({ state: 'visible', timeout: TIMEOUT });
  await conv.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
  return conv;
}

async function say(conv, text) {
  await conv.locator('.composer-input').fill(text);
  await conv.locator('.composer-input').press('Enter');
  // My own line: greyed until the server's ack, then plain.
  const line = conv.locator('.msg.is-mine', { hasText: text });
  await line.waitFor({ timeout: TIMEOUT });
  await conv.locator('.msg.is-mine:not(.is-pending):not(.is-refused)', { hasText: text }).waitFor({ timeout: TIMEOUT });
}

async function sees(conv, nickname, text) {
  await conv.locator('.msg', { hasText: text }).filter({ has: conv.page().locator('.msg-nick', { hasText: nickname }) })
    .first().waitFor({ timeout: TIMEOUT });
}

async function shot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

test('two people meet in a room and talk privately', { timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const people = [];
  try {
    await t.test('an under-18 is refused with 3018, then locked out even at 18', async () => {
      // Its own user agent: the lock also binds the network + browser fingerprint, and the
      // two adults below share this machine's address.
      const minor = await person(browser, server.base, { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) PapoteE2E-Minor' });
      minor.expected = /status of 403/; // the refusals themselves
      people.push(minor);
      const { page } = minor;
      await fillEntry(page, { nickname: 'Camille', gender: 'femme', age: 15, postcode: '69003' });
      await page.click('#entry-submit');
      await page.locator('#refusal').waitFor({ state: 'visible', timeout: TIMEOUT });
      const first = await page.locator('#refusal').innerText();
      assert.match(first, /3018/);
      assert.match(first, /adultes/);
      await shot(page, 'refusal-underage');
      await page.reload();
      await page.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      await fillEntry(page, { nickname: 'Camille', gender: 'femme', age: 18, postcode: '69003' });
      await page.click('#entry-submit');
      await page.locator('#refusal').waitFor({ state: 'visible', timeout: TIMEOUT });
      const second = await page.locator('#refusal-message').innerText();
      assert.match(second, /24 heures/);
      assert.match(second, /3018/);
      assert.equal(await page.locator('#app').isVisible(), false);
    });

    const marius = await person(browser, server.base);
    const julie = await person(browser, server.base);
    marius.expected = /status of 400/; // the refused nickname below
    people.push(marius, julie);

    await t.test('entry shows the server refusals next to their field', async () => {
      const { page } = marius;
      await shot(page, 'entry-desktop');
      await fillEntry(page, { nickname: 'M!', gender: 'homme', age: 34, postcode: '13001' });
      // One commune for 13001: preselected.
      assert.equal(await page.inputValue('#f-commune'), '13201');
      await page.click('#entry-submit');
      const error = page.locator('#f-nickname-error');
      await error.waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await error.innerText(), /3 à 20 caractères/);
      assert.equal(await page.getAttribute('#f-nickname', 'aria-invalid'), 'true');
    });

    await t.test('both enter; the commune is chosen when a postcode has several', async () => {
      await marius.page.fill('#f-nickname', 'Marius');
      await marius.page.click('#entry-submit');
      await marius.page.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
      const options = await (async () => {
        await fillEntry(julie.page, { nickname: 'Julie', gender: 'femme', age: 29, postcode: '01000' });
        return julie.page.locator('#f-commune option').allInnerTexts();
      })();
      assert.ok(options.includes('Bourg-en-Bresse') && options.includes('Saint-Denis-lès-Bourg'), options.join());
      await julie.page.selectOption('#f-commune', '01344');
      await julie.page.click('#entry-submit');
      await julie.page.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await julie.page.locator('#me').innerText(), /Julie/);
    });

    let mariusRoom;
    let julieRoom;
    await t.test('they join the same room and each sees the other’s messages', async () => {
      mariusRoom = await openRoom(marius.page, 'cuisine');
      julieRoom = await openRoom(julie.page, 'cuisine');
      await say(mariusRoom, 'Salut tout le monde, qui cuisine ce soir ?');
      await sees(julieRoom, 'Marius', 'Salut tout le monde, qui cuisine ce soir ?');
      await say(julieRoom, 'Moi, une tarte aux poireaux !');
      await sees(mariusRoom, 'Julie', 'Moi, une tarte aux poireaux !');
      // A refused line stays, marked with the server's reason (here: an exact repeat).
      await mariusRoom.locator('.composer-input').fill('Salut tout le monde, qui cuisine ce soir ?');
      await mariusRoom.locator('.composer-input').press('Enter');
      const refused = mariusRoom.locator('.msg.is-refused', { hasText: 'Salut tout le monde' });
      await refused.waitFor({ timeout: TIMEOUT });
      assert.match(await refused.locator('.msg-refused').innerText(), /Non envoyé/);
      assert.equal(await julieRoom.locator('.msg', { hasText: 'Salut tout le monde' }).count(), 1);
      // Live room member list.
      await mariusRoom.locator('[data-action="toggle-members"]').click();
      await mariusRoom.locator('.room-member-list .member-nick', { hasText: 'Julie' }).waitFor({ timeout: TIMEOUT });
      // Typing indicator ("typing" goes out at most every 3 s: Julie just typed her message).
      await julie.page.waitForTimeout(3100);
      await julieRoom.locator('.composer-input').fill('Et toi');
      await mariusRoom.locator('.typing', { hasText: 'Julie écrit' }).waitFor({ timeout: TIMEOUT });
      await julieRoom.locator('.composer-input').fill('');
      await shot(marius.page, 'room-desktop');
    });

    let mariusDm;
    let julieDm;
    await t.test('a private conversation starts as a request that the other accepts', async () => {
      // Marius finds Julie in the members list: "nickname, age, gender, city, distance".
      const row = marius.page.locator('#member-list .member', { hasText: 'Julie' });
      await row.waitFor({ timeout: TIMEOUT });
      const rowText = await row.innerText();
      assert.match(rowText, /29/);
      assert.match(rowText, /Saint-Denis-lès-Bourg/);
      assert.match(rowText, /~\d+ km/);
      await row.click();
      mariusDm = marius.page.locator('.conv:not([hidden])');
      assert.equal(await mariusDm.getAttribute('data-conv'), `dm:${await row.getAttribute('data-member')}`);
      await mariusDm.locator('.conv-notice', { hasText: 'demande' }).waitFor({ timeout: TIMEOUT });
      await say(mariusDm, 'Bonjour Julie, tu la fais comment ta tarte ?');
      await mariusDm.locator('.conv-notice', { hasText: 'en attente de réponse' }).waitFor({ timeout: TIMEOUT });
      assert.equal(await mariusDm.locator('.composer-input').isDisabled(), true);

      // Julie: a request badge on a new tab, the request card, Accept.
      const tab = julie.page.locator('.tab', { hasText: 'Marius' });
      await tab.locator('.tab-request').waitFor({ timeout: TIMEOUT });
      await shot(julie.page, 'request-badge');
      await tab.click();
      julieDm = julie.page.locator('.conv:not([hidden])');
      const card = julieDm.locator('.conv-notice.is-request');
      await card.waitFor({ timeout: TIMEOUT });
      assert.match(await card.innerText(), /Accepter/);
      assert.match(await card.innerText(), /Refuser/);
      assert.match(await card.innerText(), /Signaler/);
      await sees(julieDm, 'Marius', 'Bonjour Julie, tu la fais comment ta tarte ?');
      await shot(julie.page, 'request-card');
      await card.locator('[data-action="dm-accept"]').click();
      await julieDm.locator('.conv-notice.is-request').waitFor({ state: 'hidden', timeout: TIMEOUT });
      await julieDm.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
      await say(julieDm, 'Avec de la crème et du gruyère');
      await sees(mariusDm, 'Julie', 'Avec de la crème et du gruyère');
      await mariusDm.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
      await say(mariusDm, 'Merci, je note !');
      await sees(julieDm, 'Marius', 'Merci, je note !');
      await shot(marius.page, 'dm-desktop');
    });

    await t.test('report modal: a category and send, in two clicks; Escape closes', async () => {
      const { page } = julie;
      await julieDm.locator('[data-action="report-member"]').first().click();
      const modal = page.locator('#report-modal');
      await modal.waitFor({ state: 'visible', timeout: TIMEOUT });
      await shot(page, 'report-modal');
      await page.keyboard.press('Escape');
      await modal.waitFor({ state: 'hidden', timeout: TIMEOUT });
      await julieDm.locator('[data-action="report-member"]').first().click();
      await modal.locator('input[value="spam"]').check();
      await modal.locator('button[type="submit"]').click();
      await page.locator('.toast', { hasText: 'Signalement envoyé' }).waitFor({ timeout: TIMEOUT });
    });

    await t.test('after a network cut the client reconnects and resumes the room', async () => {
      await marius.page.locator('[data-activate="room:cuisine"]').click();
      await julie.page.locator('[data-activate="room:cuisine"]').click();
      // The network goes away and the socket is cut (as the server does with 4000, "too slow").
      await marius.context.setOffline(true);
      await marius.page.evaluate(() => window.__sockets.at(-1).close(4000, 'test'));
      await marius.page.locator('#status', { hasText: 'reconnexion' }).waitFor({ timeout: TIMEOUT });
      await say(julieRoom, 'Quelqu’un a une recette de clafoutis ?');
      await marius.context.setOffline(false);
      await marius.page.locator('#status').waitFor({ state: 'hidden', timeout: 20_000 });
      await sees(mariusRoom, 'Julie', 'Quelqu’un a une recette de clafoutis ?');
      // Resumed with `since` (a replay), not reset: the earlier lines are still there, once.
      assert.equal(await mariusRoom.locator('.log-system', { hasText: 'Historique rechargé' }).count(), 0);
      assert.equal(await mariusRoom.locator('.msg', { hasText: 'Moi, une tarte aux poireaux !' }).count(), 1);
      assert.ok((await marius.page.evaluate(() => window.__sockets.length)) >= 2, 'a new socket was opened');
      await say(mariusRoom, 'Oui, avec des cerises !');
      await sees(julieRoom, 'Marius', 'Oui, avec des cerises !');
    });

    await t.test('phone width: drawers, room history, screenshot', async () => {
      const nadia = await person(browser, server.base, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' });
      people.push(nadia);
      const { page } = nadia;
      await shot(page, 'phone-entry');
      await enter(page, { nickname: 'Nadia', gender: 'femme', age: 41, postcode: '75011' });
      // The room list is a drawer here.
      assert.equal(await page.locator('#rooms-panel').isVisible(), true); // present, off-screen
      await page.click('[data-action="open-drawer"][data-drawer="rooms"]');
      await shot(page, 'phone-rooms-drawer');
      const conv = await openRoom(page, 'cuisine');
      // Joining shows the last messages.
      await sees(conv, 'Julie', 'Moi, une tarte aux poireaux !');
      await say(conv, 'Bonsoir la cuisine');
      await sees(mariusRoom, 'Nadia', 'Bonsoir la cuisine');
      await shot(page, 'phone-room');
      await page.click('[data-action="open-drawer"][data-drawer="members"]');
      await page.locator('#member-list .member', { hasText: 'Marius' }).waitFor({ timeout: TIMEOUT });
      await shot(page, 'phone-members-drawer');
      await page.keyboard.press('Escape');
      await page.locator('#backdrop').waitFor({ state: 'hidden', timeout: TIMEOUT });
      // A room with a safety banner at its top.
      await page.click('[data-action="open-drawer"][data-drawer="rooms"]');
      const lgbt = await openRoom(page, 'lgbt');
      assert.match(await lgbt.locator('.banner').innerText(), /SOS homophobie/);
      await shot(page, 'phone-room-banner');
    });

    await t.test('safety cards, contact confirmation, deletions, statements (frames injected)', async () => {
      // The server's safety rules decide when cards are sent; here the client's side is checked
      // on its own: a WebSocket route forwards everything and injects the frames under test.
      const lou = await person(browser, 'about:blank');
      people.push(lou);
      const { page } = lou;
      let route;
      const held = [];
      await page.routeWebSocket(/\/ws/, (ws) => {
        route = ws;
        const server = ws.connectToServer();
        ws.onMessage((text) => {
          const msg = JSON.parse(String(text));
          if (msg.t === 'dm' && /snap/.test(msg.text) && !msg.confirm) {
            held.push(msg);
            ws.send(JSON.stringify({ t: 'confirm', ref: msg.ref, kind: 'contact', to: msg.to }));
            return;
          }
          server.send(text);
        });
      });
      await page.goto(server.base);
      await page.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      await enter(page, { nickname: 'Lou', gender: 'autre', age: 52, postcode: '69003' });
      const row = page.locator('#member-list .member', { hasText: 'Marius' });
      await row.waitFor({ timeout: TIMEOUT });
      const mariusId = await row.getAttribute('data-member');
      await row.click();
      const dm = page.locator(`[data-conv="dm:${mariusId}"]`);
      await say(dm, 'Bonjour Marius');
      await marius.page.locator('.tab', { hasText: 'Lou' }).click();
      await marius.page.locator('.conv:not([hidden]) [data-action="dm-accept"]').click();
      await dm.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });

      // "Are you sure?" before contact details; yes re-sends with confirm: true.
      await dm.locator('.composer-input').fill('mon snap c’est lou.lyon');
      await dm.locator('.composer-input').press('Enter');
      const confirm = page.locator('#confirm-modal');
      await confirm.waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await confirm.innerText(), /Es-tu sûr·e de vouloir partager ces coordonnées/);
      await shot(page, 'confirm-modal');
      await confirm.locator('[data-action="confirm-yes"]').click();
      await dm.locator('.msg.is-mine:not(.is-pending)', { hasText: 'lou.lyon' }).waitFor({ timeout: TIMEOUT });
      assert.equal(held.length, 1);
      const mariusDmLou = marius.page.locator('.conv:not([hidden])');
      await sees(mariusDmLou, 'Lou', 'mon snap c’est lou.lyon');

      // Safety cards in the conversation.
      route.send(JSON.stringify({ t: 'card', kind: 'meeting', with: mariusId }));
      route.send(JSON.stringify({ t: 'card', kind: 'contact', with: mariusId }));
      const meeting = dm.locator('.card-meeting');
      await meeting.waitFor({ timeout: TIMEOUT });
      const meetingText = await meeting.innerText();
      for (const needle of ['lieu public', 'proche', 'dernière minute', 'appel vidéo', '17', '112', '3018', '01 48 06 42 41']) {
        assert.ok(meetingText.includes(needle), `meeting card mentions ${needle}`);
      }
      assert.match(await dm.locator('.card-contact').innerText(), /argent/);
      await shot(page, 'cards-desktop');

      // A room message with a compact card, then deleted by a moderator.
      const room = panel(page, 'room:accueil');
      await page.locator('[data-activate="room:accueil"]').click();
      route.send(JSON.stringify({ t: 'room_msg', room: 'accueil', seq: 100000, id: 42, from: { id: mariusId, nickname: 'Marius' }, text: 'On se retrouve au café de la gare ?', at: Date.now(), card: 'meeting' }));
      await room.locator('.msg .card-compact.card-meeting').waitFor({ timeout: TIMEOUT });
      route.send(JSON.stringify({ t: 'deleted', room: 'accueil', ids: [42] }));
      await room.locator('.msg.is-deleted', { hasText: 'supprimé par la modération' }).waitFor({ timeout: TIMEOUT });

      // Someone said they were under 18: a warning card, and the conversation is closed.
      await page.locator(`[data-activate="dm:${mariusId}"]`).click();
      route.send(JSON.stringify({ t: 'card', kind: 'minor_warning', with: mariusId }));
      await dm.locator('.card-minor_warning').waitFor({ timeout: TIMEOUT });
      assert.equal(await dm.locator('.composer-input').isDisabled(), true);

      // A statement of reasons.
      route.send(JSON.stringify({ t: 'sanction', statement: {
        sanction_id: 1, kind: 'warn', kind_label: 'Avertissement', reason: 'spam', reason_label: 'Spam', rule: 'spam.repeat',
        facts: 'Messages répétés dans le salon Accueil.', decided_at: Date.now(), until: null, automated: false,
        appeal_code: 'A1B2', appeal_url: '/appel?code=A1B2', how_to_appeal: 'Tu peux faire appel dans les 6 mois.',
      } }));
      const statement = page.locator('#sanction-modal');
      await statement.waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await statement.innerText(), /Avertissement/);
      assert.equal(await page.getAttribute('#st-appeal-link', 'href'), `${server.base}/appel?code=A1B2`);
      await page.keyboard.press('Escape');
      await statement.waitFor({ state: 'hidden', timeout: TIMEOUT });

      // Block: each disappears from the other's member list.
      await dm.locator('[data-action="block"]').click();
      await dm.locator('.conv-notice', { hasText: 'Tu as bloqué Marius' }).waitFor({ timeout: TIMEOUT });
      await page.locator('#member-list .member', { hasText: 'Marius' }).waitFor({ state: 'detached', timeout: TIMEOUT });
      await marius.page.locator('#member-list .member', { hasText: 'Lou' }).waitFor({ state: 'detached', timeout: TIMEOUT });
    });

    await t.test('leaving ends the session in every tab: the other tab goes back to entry', async () => {
      const second = await marius.context.newPage();
      await second.goto(server.base);
      await second.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
      // A reload skips entry and resumes the rooms the session is in.
      await second.locator('[data-conv="room:cuisine"]').waitFor({ state: 'attached', timeout: TIMEOUT });
      await marius.page.locator('.topbar [data-action="leave-site"]').click();
      await marius.page.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      await second.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await second.locator('#entry-general-error').innerText(), /session a pris fin/);
      // The nickname is free again at once.
      await enter(second, { nickname: 'Marius', gender: 'homme', age: 34, postcode: '13001' });
      await second.close();
    });

    for (const { page, expected } of people) {
      assert.deepEqual(page.errors.filter((e) => !(expected && expected.test(e))), [], 'no error in the page');
    }
  } finally {
    for (const { context } of people) await context.close().catch(() => {});
    await browser.close().catch(() => {});
    await server.stop();
  }
});
