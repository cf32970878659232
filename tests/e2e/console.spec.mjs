// The moderation loop in browsers (issue #4): a member reports a room message through the
// client, a moderator logs in to the console, opens the case at the top of the queue and bans;
// the reported member's page shows the statement of reasons and goes back to entry.
//
//   PAPOTE_BIN=/path/to/papote node --test console.spec.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TIMEOUT, axe, enter, launch, openRoom, pageErrors, person, runPapote, say, sees, shot, startServer,
} from './helpers.mjs';

/** The console's templates belong to the server: their axe findings are printed, not failed. */
async function axeReport(t, page, name) {
  const violations = await axe(page);
  for (const v of violations) t.diagnostic(`axe ${name}: [${v.impact}] ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target).slice(0, 4).join(' | ')}`);
  if (violations.length === 0) t.diagnostic(`axe ${name}: no violation`);
}

const MOD_PASSWORD = 'correct-horse-battery-42';

test('a report goes through the console to a ban with its statement of reasons', { timeout: 90_000 }, async (t) => {
  const server = await startServer({
    setup: ({ db }) => runPapote(['admin', '--database', db, 'add-moderator', 'modo', '--role', 'moderator'], `${MOD_PASSWORD}\n`),
  });
  const browser = await launch();
  const people = [];
  try {
    const karim = await person(browser, server.base);
    const bruno = await person(browser, server.base);
    people.push(karim, bruno);
    await enter(karim.page, { nickname: 'Karim', gender: 'homme', age: 45, postcode: '59000' });
    await enter(bruno.page, { nickname: 'Bruno', gender: 'homme', age: 38, postcode: '59000' });
    const karimRoom = await openRoom(karim.page, 'cuisine');
    const brunoRoom = await openRoom(bruno.page, 'cuisine');
    const text = 'Vous êtes tous des nuls, je vais vous pourrir le salon';

    await t.test('Karim reports Bruno’s message from the room: flag, category, send', async () => {
      await say(brunoRoom, text);
      await sees(karimRoom, 'Bruno', text);
      const line = karimRoom.locator('.msg', { hasText: text });
      await line.hover();
      await line.locator('.msg-report').click();
      const modal = karim.page.locator('#report-modal');
      await modal.waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await modal.locator('#report-quote').innerText(), /pourrir le salon/);
      await modal.locator('label', { hasText: 'Harcèlement ou haine' }).click();
      await modal.locator('button[type="submit"]').click();
      await karim.page.locator('.toast', { hasText: 'Signalement envoyé' }).waitFor({ timeout: TIMEOUT });
    });

    const modo = await person(browser, 'about:blank');
    modo.expected = /status of 4\d\d/;
    people.push(modo);
    const { page } = modo;

    await t.test('the moderator logs in and finds the case at the top of the queue', async () => {
      await page.goto(`${server.base}/mod/login`);
      await axeReport(t, page, 'console login');
      await page.fill('input[name="name"]', 'modo');
      await page.fill('input[name="password"]', MOD_PASSWORD);
      const started = Date.now();
      await page.click('button[type="submit"]');
      await page.waitForURL(`${server.base}/mod`, { timeout: TIMEOUT });
      const top = page.locator('table.queue tbody tr').first();
      await top.waitFor({ timeout: TIMEOUT });
      assert.match(await top.innerText(), /Bruno/);
      assert.match(await top.innerText(), /harcèlement ou haine/);
      t.diagnostic(`login to queue: ${Date.now() - started} ms`);
      await shot(page, 'console-queue', { fullPage: true });
      await axeReport(t, page, 'console queue');
    });

    await t.test('the case page shows the evidence; the moderator bans with facts', async () => {
      await page.locator('table.queue tbody tr').first().locator('a').first().click();
      await page.locator('form.decide').waitFor({ timeout: TIMEOUT });
      // The frozen conversation, the reported line marked.
      assert.match(await page.locator('ol.log li.highlight').innerText(), /Bruno.*pourrir le salon/s);
      await shot(page, 'console-case', { fullPage: true });
      await axeReport(t, page, 'console case');
      await page.check('input[name="action"][value="ban"]');
      // The reason the server proposes from the report's category.
      assert.match(await page.locator('select[name="reason"] option:checked').innerText(), /harcèlement/i);
      await page.check('input[name="permanent"]');
      await page.fill('textarea[name="facts"]', 'Insultes et menace de perturber le salon Cuisine, le 12 à 21 h.');
      await page.click('form.decide button[type="submit"]');
      await page.waitForURL(/\/mod\?done=\d+/, { timeout: TIMEOUT });
      await shot(page, 'console-after-ban', { fullPage: true });
    });

    await t.test('Bruno sees the statement of reasons and is back at entry', async () => {
      const statement = bruno.page.locator('#sanction-modal');
      await statement.waitFor({ state: 'visible', timeout: TIMEOUT });
      const shown = await statement.innerText();
      assert.match(shown, /Décision de la modération/);
      assert.match(shown, /Insultes et menace de perturber le salon/);
      assert.match(shown, /appel/i);
      await bruno.page.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.equal(await bruno.page.locator('#app').isVisible(), false);
      assert.match(await bruno.page.locator('#entry-general-error').innerText(), /modération a mis fin/);
      const href = await bruno.page.getAttribute('#st-appeal-link', 'href');
      assert.match(href, /\/appel\?code=/);
      await shot(bruno.page, 'member-statement');
      // Karim is still in (a ban binds Bruno, not the people next to him).
      await say(karimRoom, 'Merci la modération');
      // The appeal page, from the link in the statement.
      const appeal = await bruno.context.newPage();
      await appeal.goto(href);
      assert.match(await appeal.locator('main').innerText(), /Insultes et menace/);
      await shot(appeal, 'appeal-page', { fullPage: true });
      await axeReport(t, appeal, 'appeal page with a code');
      await appeal.close();
    });

    bruno.expected = /status of 403|status of 401/;
    assert.deepEqual(pageErrors(people), [], 'no error in the pages');
  } finally {
    for (const { context } of people) await context.close().catch(() => {});
    await browser.close().catch(() => {});
    await server.stop();
  }
});
