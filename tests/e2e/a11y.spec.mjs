// Accessibility, keyboard, languages, phones, alerts. The real server; Debian's Chromium.
//
//   PAPOTE_BIN=/path/to/papote node --test a11y.spec.mjs
//
// - keyboard only: enter, join a room, say something, open a member's card, write to them
//   (page.keyboard only: no click, no fill);
// - axe-core on the entry page, the app (a room, a private conversation, the card, settings),
//   the phone layout and the server's public pages: no serious or critical violation;
// - FR/EN switch without reload, remembered; filters remembered; opt-in alerts; mentions;
//   banners; 360 px phone with drawers and no horizontal scroll; screenshots.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TIMEOUT, axe, enter, launch, messageFromList, openRoom, pageErrors, panel, person, say, sees, shot, startServer,
} from './helpers.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** Presses Tab (or Shift+Tab) until the focus is on `selector`. */
async function tabTo(page, selector, { back = false, max = 80 } = {}) {
  for (let i = 0; i <= max; i += 1) {
    if (await page.evaluate((s) => !!document.activeElement?.matches(s), selector)) return i;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`the keyboard never reached ${selector}; focus is on ${await focusedHtml(page)}`);
}

function focusedHtml(page) {
  return page.evaluate(() => (document.activeElement?.outerHTML || 'nothing').slice(0, 200));
}

async function focusIs(page, selector) {
  await page.waitForFunction((s) => !!document.activeElement?.matches(s), selector, { timeout: TIMEOUT });
}

async function focusRingVisible(page) {
  return page.evaluate(() => {
    const style = getComputedStyle(document.activeElement);
    return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1) || style.boxShadow !== 'none';
  });
}

/** axe on the page as it is now: prints every violation, fails on serious or critical ones. */
const axeCounts = [];
async function noSeriousViolation(t, page, name, options) {
  const violations = await axe(page, options);
  const count = (impact) => violations.filter((v) => v.impact === impact).length;
  axeCounts.push(`${name}: critical ${count('critical')}, serious ${count('serious')}, moderate ${count('moderate')}, minor ${count('minor')}`);
  for (const v of violations) {
    t.diagnostic(`axe ${name}: [${v.impact}] ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target).slice(0, 4).join(' | ')}`);
  }
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => `${n.target} (${n.summary})`).join('; ')}`), [], `${name}: serious or critical accessibility problems`);
  return violations;
}

async function noHorizontalScroll(page, what) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${what}: the page scrolls sideways (${scroll} > ${width})`);
}

test('accessibility, keyboard, languages, phone and alerts', { timeout: 150_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  const people = [];
  try {
    // Paul is already in the cuisine room; Zoé comes and does everything with the keyboard.
    const paul = await person(browser, server.base);
    people.push(paul);
    await enter(paul.page, { nickname: 'Paul', gender: 'homme', age: 47, postcode: '13001' });
    const paulRoom = await openRoom(paul.page, 'cuisine');

    const zoe = await person(browser, server.base, DESKTOP);
    people.push(zoe);
    const { page } = zoe;

    await t.test('the entry page: banner, language switch, axe', async (st) => {
      assert.match(await page.locator('#site-banner').innerText(), /rendez-vous/);
      await noSeriousViolation(st, page, 'entry (fr)');
      await shot(page, 'a11y-entry-desktop');
      // English without a reload, remembered.
      await page.locator('.entry-top [data-action="switch-lang"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('#entry-submit', { hasText: /^enter$/i }).waitFor({ timeout: TIMEOUT });
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.match(await page.locator('#site-banner').innerText(), /isolated/);
      assert.equal(await page.evaluate(() => localStorage.getItem('papote.lang')), 'en');
      await noSeriousViolation(st, page, 'entry (en)');
      await shot(page, 'a11y-entry-desktop-en');
      await page.reload();
      await page.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      await page.locator('.entry-top [data-action="switch-lang"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('#entry-submit', { hasText: 'Entrer' }).waitFor({ timeout: TIMEOUT });
    });

    await t.test('keyboard only: enter, join a room, talk, a member’s card, a private message', async () => {
      // Entry: the nickname field has the focus; before it, the language switch and the skip link.
      await tabTo(page, '#f-nickname', { max: 3 });
      await page.keyboard.press('Shift+Tab');
      await focusIs(page, '.entry-top [data-action="switch-lang"]');
      await page.keyboard.press('Shift+Tab');
      await focusIs(page, '.skip');
      assert.ok(await page.locator('.skip').isVisible(), 'the skip link shows when focused');
      await page.keyboard.press('Enter'); // on the entry screen it goes to the first field
      await focusIs(page, '#f-nickname');
      await page.keyboard.type('Zoe');
      await page.keyboard.press('Tab');
      await focusIs(page, 'input[name="gender"]');
      await page.keyboard.press('ArrowRight'); // femme
      assert.equal(await page.isChecked('input[name="gender"][value="femme"]'), true);
      await page.keyboard.press('Tab');
      await focusIs(page, '#f-age');
      await page.keyboard.type('31');
      await page.keyboard.press('Tab');
      await focusIs(page, '#f-postcode');
      await page.keyboard.type('13001');
      await page.locator('#f-commune option[value="13201"]').waitFor({ state: 'attached', timeout: TIMEOUT });
      await tabTo(page, '#f-charter', { max: 3 });
      await page.keyboard.press('Space');
      await page.keyboard.press('Tab');
      await focusIs(page, '#entry-submit');
      await page.keyboard.press('Enter');
      await page.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
      // The welcome room opens; the keyboard lands in its composer.
      await focusIs(page, '[data-conv="room:accueil"] .composer-input');

      // The cuisine room, from the rooms column.
      const steps = await tabTo(page, '#room-list [data-room="cuisine"]', { back: true });
      assert.ok(await focusRingVisible(page), 'a room shows where the focus is');
      await page.keyboard.press('Enter');
      const room = panel(page, 'room:cuisine');
      await focusIs(page, '[data-conv="room:cuisine"] .composer-input:not([disabled])');
      await page.keyboard.type('Bonsoir, je cherche une recette de ratatouille');
      await page.keyboard.press('Enter');
      await room.locator('.msg.is-mine:not(.is-pending)', { hasText: 'ratatouille' }).waitFor({ timeout: TIMEOUT });
      await sees(paulRoom, 'Zoe', 'ratatouille');
      assert.ok(steps < 60, `too many Tab presses to reach a room (${steps})`);

      // The room's member list, then Paul's card.
      await tabTo(page, '[data-conv="room:cuisine"] [data-action="toggle-members"]', { back: true });
      await page.keyboard.press('Enter');
      const paulRow = '[data-conv="room:cuisine"] .room-member-list .member:not([disabled])';
      await room.locator(paulRow.replace('[data-conv="room:cuisine"] ', '')).waitFor({ timeout: TIMEOUT });
      await tabTo(page, paulRow);
      assert.ok(await focusRingVisible(page), 'a member shows where the focus is');
      await page.keyboard.press('Enter');
      const card = page.locator('#profile-modal');
      await card.waitFor({ state: 'visible', timeout: TIMEOUT });
      const cardText = await card.innerText();
      for (const part of [/Paul/, /47 ans/, /homme/, /Marseille/, /Disponible/, /en ligne depuis/i]) assert.match(cardText, part);
      await focusIs(page, '#profile-modal [data-profile="message"]');
      // The focus stays in the card, and Escape gives it back to Paul's row.
      for (let i = 0; i < 7; i += 1) await page.keyboard.press('Tab');
      assert.ok(await page.evaluate(() => document.querySelector('#profile-modal').contains(document.activeElement)), 'focus trapped in the card');
      await page.keyboard.press('Escape');
      await card.waitFor({ state: 'hidden', timeout: TIMEOUT });
      await focusIs(page, paulRow);
      await page.keyboard.press('Enter');
      await focusIs(page, '#profile-modal [data-profile="message"]');
      await page.keyboard.press('Enter');
      await card.waitFor({ state: 'hidden', timeout: TIMEOUT });
      const dm = page.locator('.conv:not([hidden])');
      assert.match(await dm.getAttribute('data-conv'), /^dm:/);
      await focusIs(page, '.conv:not([hidden]) .composer-input');
      await page.keyboard.type('Salut Paul, tu as une recette ?');
      await page.keyboard.press('Enter');
      await dm.locator('.conv-notice', { hasText: 'en attente de réponse' }).waitFor({ timeout: TIMEOUT });
      await paul.page.locator('.tab', { hasText: 'Zoe' }).locator('.tab-request').waitFor({ timeout: TIMEOUT });
    });

    await t.test('keyboard: tabs with arrow keys, the skip link, settings', async () => {
      await tabTo(page, '#tabs [aria-selected="true"]', { back: true });
      const tabs = await page.locator('#tabs [role="tab"]').count();
      assert.equal(tabs, 3);
      await page.keyboard.press('Home');
      await focusIs(page, '#tabs [role="tab"][aria-selected="true"][data-activate="room:accueil"]');
      await page.keyboard.press('ArrowRight');
      await focusIs(page, '#tabs [role="tab"][aria-selected="true"][data-activate="room:cuisine"]');
      assert.equal(await page.locator('[data-conv="room:cuisine"]').isVisible(), true);
      await page.keyboard.press('End');
      await focusIs(page, '#tabs [role="tab"][aria-selected="true"][data-activate^="dm:"]');
      await page.keyboard.press('ArrowLeft');
      await focusIs(page, '#tabs [role="tab"][aria-selected="true"][data-activate="room:cuisine"]');
      // Only the selected tab is in the Tab order; the next Tab goes into the conversation.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), null);
      // The skip link: first in the page, straight to the message box.
      await tabTo(page, '.skip', { back: true });
      await page.keyboard.press('Enter');
      await focusIs(page, '.conv:not([hidden]) .composer-input');
      // Settings: a small dialog; English and back without reload.
      await tabTo(page, '.topbar [data-action="open-settings"]', { back: true });
      await page.keyboard.press('Enter');
      const settings = page.locator('#settings-modal');
      await settings.waitFor({ state: 'visible', timeout: TIMEOUT });
      await focusIs(page, '#settings-modal input[name="lang"][value="fr"]');
      await page.keyboard.press('ArrowDown');
      await page.locator('#settings-title', { hasText: 'Settings' }).waitFor({ timeout: TIMEOUT });
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.match(await page.locator('#rooms-title').innerText(), /rooms/i);
      assert.match(await page.locator('.conv:not([hidden]) [data-action="leave-room"]').innerText(), /leave room/i);
      await shot(page, 'a11y-settings-en');
      await page.keyboard.press('ArrowUp');
      await page.locator('#settings-title', { hasText: 'Réglages' }).waitFor({ timeout: TIMEOUT });
      await page.keyboard.press('Escape');
      await settings.waitFor({ state: 'hidden', timeout: TIMEOUT });
      await focusIs(page, '.topbar [data-action="open-settings"]');
    });

    await t.test('axe: the app with a room, a private conversation, the card, settings, a report', async (st) => {
      await page.locator('[data-activate="room:cuisine"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('[data-conv="room:cuisine"]').waitFor({ state: 'visible', timeout: TIMEOUT });
      await noSeriousViolation(st, page, 'app, room open');
      await shot(page, 'a11y-room-desktop');
      await page.locator('#tabs [data-activate^="dm:"]').focus();
      await page.keyboard.press('Enter');
      await noSeriousViolation(st, page, 'app, private conversation');
      await shot(page, 'a11y-dm-desktop');
      await page.locator('#member-list .member', { hasText: 'Paul' }).focus();
      await page.keyboard.press('Enter');
      await page.locator('#profile-modal').waitFor({ state: 'visible', timeout: TIMEOUT });
      await noSeriousViolation(st, page, 'profile card');
      await shot(page, 'a11y-profile-desktop');
      await page.locator('#profile-modal [data-profile="report"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('#report-modal').waitFor({ state: 'visible', timeout: TIMEOUT });
      await noSeriousViolation(st, page, 'report form');
      await page.keyboard.press('Escape');
      await focusIs(page, '#member-list .member');
      await page.locator('.topbar [data-action="open-settings"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('#settings-modal').waitFor({ state: 'visible', timeout: TIMEOUT });
      await noSeriousViolation(st, page, 'settings');
      await page.keyboard.press('Escape');
    });

    await t.test('mentions: highlighted, counted apart in the badges; banners', async () => {
      await page.locator('#tabs [data-activate^="dm:"]').focus();
      await page.keyboard.press('Enter');
      await say(paulRoom, '@Zoe la ratatouille, c’est au four ou à la poêle ?');
      const tab = page.locator('#tabs [data-activate="room:cuisine"]');
      await tab.locator('.badge-mention', { hasText: '@1' }).waitFor({ timeout: TIMEOUT });
      await tab.locator('.badge-unread', { hasText: '1' }).waitFor({ timeout: TIMEOUT });
      assert.match(await tab.textContent(), /1 mention/);
      await page.locator('#room-list [data-room="cuisine"] .badge-mention').waitFor({ timeout: TIMEOUT });
      await shot(page, 'a11y-mention-badges');
      await tab.focus();
      await page.keyboard.press('Enter');
      const line = page.locator('[data-conv="room:cuisine"] .msg', { hasText: 'ratatouille, c’est' });
      assert.match(await line.getAttribute('class'), /is-mention/);
      assert.equal(await line.locator('mark.mention.is-me').innerText(), '@Zoe');
      assert.equal(await tab.locator('.badge-mention').count(), 0);
      // Screen readers hear the new lines of the conversation shown.
      await say(paulRoom, 'Au four, 40 minutes');
      await page.locator('#announce-polite', { hasText: 'Paul : Au four, 40 minutes' }).waitFor({ state: 'attached', timeout: TIMEOUT });
      // Delete on a tab closes it (here: leaves the welcome room); the focus stays on the tabs.
      await page.locator('#tabs [data-activate="room:accueil"]').focus();
      await page.keyboard.press('Delete');
      await page.locator('#tabs [data-activate="room:accueil"]').waitFor({ state: 'detached', timeout: TIMEOUT });
      await focusIs(page, '#tabs [role="tab"][aria-selected="true"]');
      // A room with a banner of the site.
      const lgbt = await openRoom(page, 'lgbt');
      assert.match(await lgbt.locator('.banner').innerText(), /SOS homophobie/);
      await shot(page, 'a11y-room-banner');
    });

    await t.test('filters are remembered in this browser', async () => {
      await page.locator('#member-filters input[name="gender"][value="homme"]').uncheck();
      await page.fill('#age-min', '30');
      await page.locator('#age-min').press('Tab');
      await page.locator('#member-list .member', { hasText: 'Paul' }).waitFor({ state: 'detached', timeout: TIMEOUT });
      await page.reload();
      await page.locator('#app').waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.equal(await page.isChecked('#member-filters input[name="gender"][value="homme"]'), false);
      assert.equal(await page.inputValue('#age-min'), '30');
      assert.deepEqual(JSON.parse(await page.evaluate(() => localStorage.getItem('papote.filter'))), { gender: ['femme', 'autre'], age_min: 30, age_max: 99 });
      await page.locator('#member-filters input[name="gender"][value="homme"]').check();
      await page.locator('#member-list .member', { hasText: 'Paul' }).waitFor({ timeout: TIMEOUT });
    });

    await t.test('alerts: off by default; when on, a sound and a notification while hidden', async () => {
      // Test doubles for Notification, WebAudio and the tab's visibility.
      const stubs = () => {
        window.__notes = [];
        window.__beeps = 0;
        window.__hidden = false;
        Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => window.__hidden });
        window.Notification = class {
          constructor(title, options) { window.__notes.push({ title, ...options }); }
          static get permission() { return 'granted'; }
          static requestPermission() { return Promise.resolve('granted'); }
        };
        window.AudioContext = class {
          constructor() { this.state = 'running'; this.currentTime = 0; this.destination = {}; }
          resume() { return Promise.resolve(); }
          createOscillator() { window.__beeps += 1; return { frequency: {}, connect: (n) => n, start() {}, stop() {} }; }
          createGain() { return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (n) => n }; }
        };
      };
      const nora = await person(browser, 'about:blank', DESKTOP);
      people.push(nora);
      await nora.context.addInitScript(stubs);
      await nora.page.goto(server.base);
      await enter(nora.page, { nickname: 'Nora', gender: 'femme', age: 36, postcode: '13001' });
      const hide = (p, hidden) => p.evaluate((h) => { window.__hidden = h; document.dispatchEvent(new Event('visibilitychange')); }, hidden);
      // Off by default: a request while hidden makes no sound and no notification.
      await hide(nora.page, true);
      await messageFromList(paul.page, 'Nora');
      await say(paul.page.locator('.conv:not([hidden])'), 'Bonjour Nora');
      await nora.page.locator('.tab', { hasText: 'Paul' }).waitFor({ timeout: TIMEOUT });
      assert.equal(await nora.page.evaluate(() => window.__notes.length + window.__beeps), 0);
      await hide(nora.page, false);
      // On: the settings menu, two boxes.
      await nora.page.click('.topbar [data-action="open-settings"]');
      await nora.page.check('#settings-sound');
      await nora.page.check('#settings-notify');
      await shot(nora.page, 'a11y-settings');
      await nora.page.keyboard.press('Escape');
      assert.deepEqual(JSON.parse(await nora.page.evaluate(() => localStorage.getItem('papote.alerts'))), { sound: true, notify: true });
      const beepsBefore = await nora.page.evaluate(() => window.__beeps);
      await nora.page.locator('.tab', { hasText: 'Paul' }).click();
      await nora.page.locator('.conv:not([hidden]) [data-action="dm-accept"]').click();
      await paul.page.locator('.conv:not([hidden]) .composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
      await hide(nora.page, true);
      await say(paul.page.locator('.conv:not([hidden])'), 'Tu connais un bon marché à Marseille ?');
      await nora.page.waitForFunction(() => window.__notes.length === 1, null, { timeout: TIMEOUT });
      const [note] = await nora.page.evaluate(() => window.__notes);
      assert.match(note.body, /Paul/);
      assert.doesNotMatch(note.body, /marché/, 'a notification never shows the text');
      assert.ok((await nora.page.evaluate(() => window.__beeps)) > beepsBefore, 'a sound was played');
      await hide(nora.page, false);
    });

    await t.test('phone, 360 px: drawers, no sideways scroll, axe', async (st) => {
      const mia = await person(browser, server.base, PHONE);
      people.push(mia);
      const p = mia.page;
      await noHorizontalScroll(p, 'phone entry');
      await noSeriousViolation(st, p, 'phone entry');
      await shot(p, 'phone360-entry');
      await enter(p, { nickname: 'Mia', gender: 'femme', age: 27, postcode: '13001' });
      await noHorizontalScroll(p, 'phone app');
      await shot(p, 'phone360-welcome');
      await p.click('[data-action="open-drawer"][data-drawer="rooms"]');
      await p.locator('#rooms-panel [data-room="cuisine"]').waitFor({ timeout: TIMEOUT });
      await noSeriousViolation(st, p, 'phone rooms drawer');
      await shot(p, 'phone360-rooms-drawer');
      const room = await openRoom(p, 'cuisine');
      await sees(room, 'Zoe', 'ratatouille');
      await noHorizontalScroll(p, 'phone room');
      await noSeriousViolation(st, p, 'phone room');
      await shot(p, 'phone360-room');
      await p.click('[data-action="open-drawer"][data-drawer="members"]');
      await p.locator('#member-list .member', { hasText: 'Paul' }).click();
      await p.locator('#profile-modal').waitFor({ state: 'visible', timeout: TIMEOUT });
      await noSeriousViolation(st, p, 'phone profile card');
      await shot(p, 'phone360-profile');
      await p.click('#profile-modal [data-profile="message"]');
      const dm = p.locator('.conv:not([hidden])');
      await dm.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
      await noHorizontalScroll(p, 'phone private conversation');
      await noSeriousViolation(st, p, 'phone private conversation');
      await shot(p, 'phone360-dm');
      await p.click('.topbar [data-action="open-settings"]');
      await p.locator('#settings-modal').waitFor({ state: 'visible', timeout: TIMEOUT });
      await shot(p, 'phone360-settings');
      await p.keyboard.press('Escape');
    });

    await t.test('server pages: /transparence and /appel (axe)', async (st) => {
      const visitor = await person(browser, 'about:blank', DESKTOP);
      people.push(visitor);
      for (const path of ['/transparence', '/appel']) {
        await visitor.page.goto(`${server.base}${path}`);
        await visitor.page.locator('main').waitFor({ timeout: TIMEOUT });
        await noSeriousViolation(st, visitor.page, path);
        await shot(visitor.page, `server${path.replace('/', '-')}`, { fullPage: true });
      }
    });

    assert.deepEqual(pageErrors(people), [], 'no error in the pages');
  } finally {
    if (axeCounts.length) console.log(`axe (violations per page)\n  ${axeCounts.join('\n  ')}`);
    for (const { context } of people) await context.close().catch(() => {});
    await browser.close().catch(() => {});
    await server.stop();
  }
});
