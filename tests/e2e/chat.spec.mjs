// End-to-end test of the web client: the real server binary, Debian's Chromium driven by
// playwright-core, several people in separate browser contexts.
//
//   PAPOTE_BIN=/path/to/papote node --test chat.spec.mjs
//
// See helpers.mjs for how the server and the browser are started.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TIMEOUT, enter, fillEntry, launch, openRoom, pageErrors, panel, person, say, sees, shot, startServer,
} from './helpers.mjs';

test('two people meet in a room and talk privately', { timeout: 180_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
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
      // A refused word: the message says which part.
      await page.fill('#f-nickname', 'Marius_lyceenne');
      await page.click('#entry-submit');
      await error.locator('.error-part', { hasText: '« lyceenne »' }).waitFor({ timeout: TIMEOUT });
      await shot(page, 'entry-errors');
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
      // The page itself never scrolls: panels do (hidden text of rows out of view included).
      const page = await marius.page.evaluate(() => ({ height: document.scrollingElement.scrollHeight, view: innerHeight }));
      assert.ok(page.height <= page.view, `the page scrolls: ${page.height} > ${page.view}`);
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
      const julieId = await row.getAttribute('data-member');
      // A click opens her profile card; "Envoyer un message" opens the conversation.
      await row.click();
      const profile = marius.page.locator('#profile-modal');
      await profile.waitFor({ state: 'visible', timeout: TIMEOUT });
      const profileText = await profile.innerText();
      for (const part of [/Julie/, /29 ans/, /femme/, /Saint-Denis-lès-Bourg/, /~\d+ km/, /Disponible/, /en ligne depuis/i]) assert.match(profileText, part);
      await shot(marius.page, 'profile-card');
      await profile.locator('[data-profile="message"]').click();
      await profile.waitFor({ state: 'hidden', timeout: TIMEOUT });
      mariusDm = panel(marius.page, `dm:${julieId}`);
      await mariusDm.waitFor({ state: 'visible', timeout: TIMEOUT });
      await mariusDm.locator('.conv-notice', { hasText: 'demande' }).waitFor({ timeout: TIMEOUT });
      await say(mariusDm, 'Bonjour Julie, tu la fais comment ta tarte ?');
      await mariusDm.locator('.conv-notice', { hasText: 'en attente de réponse' }).waitFor({ timeout: TIMEOUT });
      assert.equal(await mariusDm.locator('.composer-input').isDisabled(), true);

      // Julie: a request badge on a new tab, the request card, Accept.
      const tab = julie.page.locator('.tab', { hasText: 'Marius' });
      await tab.locator('.tab-request').waitFor({ timeout: TIMEOUT });
      await shot(julie.page, 'request-badge');
      await tab.click();
      julieDm = panel(julie.page, await julie.page.locator('.conv:not([hidden])').getAttribute('data-conv'));
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

    await t.test('talk of meeting and contact details bring safety cards (server rules)', async () => {
      await say(mariusDm, 'On se voit ce soir au café de la gare ?');
      for (const dm of [mariusDm, julieDm]) {
        const card = dm.locator('.card-meeting');
        await card.waitFor({ timeout: TIMEOUT });
        const text = await card.innerText();
        for (const needle of ['lieu public', 'proche', 'dernière minute', 'appel vidéo', '17', '112', '3018', '01 48 06 42 41']) {
          assert.ok(text.includes(needle), `meeting card mentions ${needle}`);
        }
      }
      // Contact details: "are you sure?" first; yes re-sends with confirm: true.
      await julieDm.locator('.composer-input').fill('Sinon mon snap c’est julie.cuisine');
      await julieDm.locator('.composer-input').press('Enter');
      const confirm = julie.page.locator('#confirm-modal');
      await confirm.waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await confirm.innerText(), /Es-tu sûr·e de vouloir partager ces coordonnées/);
      assert.equal(await mariusDm.locator('.msg', { hasText: 'julie.cuisine' }).count(), 0, 'not sent before yes');
      await shot(julie.page, 'confirm-modal');
      await confirm.locator('[data-action="confirm-yes"]').click();
      await julieDm.locator('.msg.is-mine:not(.is-pending):not(.is-refused)', { hasText: 'julie.cuisine' }).waitFor({ timeout: TIMEOUT });
      await sees(mariusDm, 'Julie', 'Sinon mon snap c’est julie.cuisine');
      assert.match(await mariusDm.locator('.card-contact').innerText(), /argent/);
      await shot(marius.page, 'cards-desktop');
      // In a room, a compact card under the message.
      await julie.page.locator('[data-activate="room:cuisine"]').click();
      await marius.page.locator('[data-activate="room:cuisine"]').click();
      await say(julieRoom, 'Et si on se voit ce soir à la fête du quartier ?');
      const line = mariusRoom.locator('.msg', { hasText: 'fête du quartier' });
      await line.waitFor({ timeout: TIMEOUT });
      await line.locator('.card-compact.card-meeting').waitFor({ timeout: TIMEOUT });
    });

    await t.test('availability: Julie says she is busy, Marius sees it in his list', async () => {
      await julie.page.selectOption('.topbar [data-status-select]', 'busy');
      const row = marius.page.locator('#member-list .member', { hasText: 'Julie' });
      await row.locator('.status-dot.s-busy').waitFor({ timeout: TIMEOUT });
      assert.match(await row.textContent(), /Occupé·e/);
      await julie.page.selectOption('.topbar [data-status-select]', 'available');
      await row.locator('.status-dot.s-available').waitFor({ timeout: TIMEOUT });
    });

    await t.test('a private room: created, an invitation accepted, a message, a mention', async () => {
      await marius.page.click('[data-action="create-room"]');
      const create = marius.page.locator('#create-room-modal');
      await create.waitFor({ state: 'visible', timeout: TIMEOUT });
      await marius.page.fill('#create-room-name', 'Tartes et quiches');
      await create.locator('button[type="submit"]').click();
      await create.waitFor({ state: 'hidden', timeout: TIMEOUT });
      const room = marius.page.locator('.conv:not([hidden])');
      const key = await room.getAttribute('data-conv');
      assert.match(key, /^room:/);
      await room.locator('.conv-sub', { hasText: 'Salon privé' }).waitFor({ timeout: TIMEOUT });
      await room.locator('[data-action="invite"]').click();
      const invite = marius.page.locator('#invite-modal');
      await invite.waitFor({ state: 'visible', timeout: TIMEOUT });
      await invite.locator('.member', { hasText: 'Julie' }).click();
      await invite.locator('.member.is-invited', { hasText: 'Julie' }).waitFor({ timeout: TIMEOUT });
      await marius.page.keyboard.press('Escape');
      // Julie: an invitation she accepts, declines or reports.
      const invitation = julie.page.locator('#invitation-list .invitation', { hasText: 'Tartes et quiches' });
      await invitation.waitFor({ timeout: TIMEOUT });
      assert.match(await invitation.innerText(), /Marius/);
      await shot(julie.page, 'private-invitation');
      await invitation.locator('[data-answer="accept"]').click();
      const julieRoomP = panel(julie.page, key);
      await julieRoomP.waitFor({ state: 'visible', timeout: TIMEOUT });
      await julieRoomP.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });
      await say(julieRoomP, 'Merci @Marius, j’apporte la pâte brisée');
      const line = room.locator('.msg', { hasText: 'pâte brisée' });
      await line.waitFor({ timeout: TIMEOUT });
      assert.match(await line.getAttribute('class'), /is-mention/);
      // The owner sees the member list with the owner's tools.
      await room.locator('[data-action="toggle-members"]').click();
      await room.locator('.room-member-list [data-room-remove]').waitFor({ timeout: TIMEOUT });
      await shot(marius.page, 'private-room');
      // Julie leaves it; the room stays Marius's.
      await julieRoomP.locator('[data-action="leave-room"]').click();
      await julieRoomP.waitFor({ state: 'detached', timeout: TIMEOUT });
      await room.locator('[data-action="toggle-members"]', { hasText: '(1)' }).waitFor({ timeout: TIMEOUT });
      await marius.page.locator('[data-activate="room:cuisine"]').click();
      await julie.page.locator('[data-activate="room:cuisine"]').click();
    });

    await t.test('report modal: a category and send, in two clicks; Escape closes', async () => {
      const { page } = julie;
      await page.locator('.tab', { hasText: 'Marius' }).click();
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
      // Nickname search, answered by the server.
      await page.fill('#member-search', 'mar');
      await page.locator('#member-list .member', { hasText: 'Julie' }).waitFor({ state: 'detached', timeout: TIMEOUT });
      assert.equal(await page.locator('#member-list .member', { hasText: 'Marius' }).count(), 1);
      await page.fill('#member-search', '');
      await page.locator('#member-list .member', { hasText: 'Julie' }).waitFor({ timeout: TIMEOUT });
      await page.keyboard.press('Escape');
      await page.locator('#backdrop').waitFor({ state: 'hidden', timeout: TIMEOUT });
      // A room with a safety banner at its top.
      await page.click('[data-action="open-drawer"][data-drawer="rooms"]');
      const lgbt = await openRoom(page, 'lgbt');
      assert.match(await lgbt.locator('.banner').innerText(), /SOS homophobie/);
      await shot(page, 'phone-room-banner');
    });

    await t.test('someone says they are under 18: held, and the other sees a warning (server rules)', async () => {
      const lou = await person(browser, 'about:blank');
      people.push(lou);
      const { page } = lou;
      // Test-only: a WebSocket route that forwards everything, so that moderator-side frames
      // (deletions, statements of reasons) can be injected below without a moderator console.
      let route;
      await page.routeWebSocket(/\/ws/, (ws) => {
        route = ws;
        ws.connectToServer();
      });
      await page.goto(server.base);
      await page.locator('#entry').waitFor({ state: 'visible', timeout: TIMEOUT });
      await enter(page, { nickname: 'Lou', gender: 'autre', age: 52, postcode: '69003' });
      lou.route = () => route;
      const row = page.locator('#member-list .member', { hasText: 'Marius' });
      await row.waitFor({ timeout: TIMEOUT });
      const mariusId = await row.getAttribute('data-member');
      lou.mariusId = mariusId;
      await row.click();
      await page.locator('#profile-modal [data-profile="message"]').click();
      const dm = page.locator(`[data-conv="dm:${mariusId}"]`);
      await say(dm, 'Bonjour Marius');
      await marius.page.locator('.tab', { hasText: 'Lou' }).click();
      await marius.page.locator('.conv:not([hidden]) [data-action="dm-accept"]').click();
      await dm.locator('.composer-input:not([disabled])').waitFor({ timeout: TIMEOUT });

      await dm.locator('.composer-input').fill("En vrai j'ai 15 ans");
      await dm.locator('.composer-input').press('Enter');
      const refused = dm.locator('.msg.is-refused', { hasText: "j'ai 15 ans" });
      await refused.waitFor({ timeout: TIMEOUT });
      assert.match(await refused.locator('.msg-refused').innerText(), /3018/);
      const mariusDmLou = marius.page.locator('.conv:not([hidden])');
      await mariusDmLou.locator('.card-minor_warning').waitFor({ timeout: TIMEOUT });
      assert.equal(await mariusDmLou.locator('.msg', { hasText: "j'ai 15 ans" }).count(), 0, 'the message was not delivered');
      assert.equal(await mariusDmLou.locator('.composer-input').isDisabled(), true);
      assert.match(await mariusDmLou.locator('.conv-notice').innerText(), /fermée par sécurité/);
      await shot(marius.page, 'minor-warning');
    });

    await t.test('moderator deletions and statements of reasons (frames injected)', async () => {
      const lou = people[people.length - 1];
      const { page } = lou;
      const route = lou.route();
      const mariusId = lou.mariusId;
      // A room message with a compact card, then deleted by a moderator.
      const room = panel(page, 'room:accueil');
      await page.locator('[data-activate="room:accueil"]').click();
      route.send(JSON.stringify({ t: 'room_msg', room: 'accueil', seq: 100000, id: 42, from: { id: mariusId, nickname: 'Marius' }, text: 'Message à supprimer', at: Date.now() }));
      await room.locator('.msg', { hasText: 'Message à supprimer' }).waitFor({ timeout: TIMEOUT });
      route.send(JSON.stringify({ t: 'deleted', room: 'accueil', ids: [42] }));
      await room.locator('.msg.is-deleted', { hasText: 'supprimé par la modération' }).waitFor({ timeout: TIMEOUT });
      assert.equal(await room.locator('.msg', { hasText: 'Message à supprimer' }).count(), 0);

      route.send(JSON.stringify({ t: 'sanction', statement: {
        sanction_id: 1, kind: 'warn', kind_label: 'Avertissement', reason: 'spam', reason_label: 'Spam', rule: 'spam.repeat',
        facts: 'Messages répétés dans le salon Accueil.', decided_at: Date.now(), until: null, automated: false,
        appeal_code: 'A1B2', appeal_url: '/appel?code=A1B2', how_to_appeal: 'Tu peux faire appel dans les 6 mois.',
      } }));
      const statement = page.locator('#sanction-modal');
      await statement.waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.match(await statement.innerText(), /Avertissement/);
      assert.equal(await page.getAttribute('#st-appeal-link', 'href'), `${server.base}/appel?code=A1B2`);
      await shot(page, 'statement-modal');
      await page.keyboard.press('Escape');
      await statement.waitFor({ state: 'hidden', timeout: TIMEOUT });

      // Block: each disappears from the other's member list.
      const dm = page.locator(`[data-conv="dm:${mariusId}"]`);
      await page.locator(`[data-activate="dm:${mariusId}"]`).click();
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

    assert.deepEqual(pageErrors(people), [], 'no error in the page');
  } finally {
    for (const { context } of people) await context.close().catch(() => {});
    await browser.close().catch(() => {});
    await server.stop();
  }
});
