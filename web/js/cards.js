// Safety cards: full cards in private conversations (meeting, contact, minor_warning) and the
// compact one shown under a room message.

import { el } from './dom.js';
import { t } from './i18n.js';

const FULL = {
  meeting: { title: 'card.meeting.title', lines: ['card.meeting.l1', 'card.meeting.l2', 'card.meeting.l3', 'card.meeting.l4', 'card.meeting.l5'], footer: 'card.meeting.numbers' },
  contact: { title: 'card.contact.title', lines: ['card.contact.l1', 'card.contact.l2', 'card.contact.l3'] },
  minor_warning: { title: 'card.minor.title', lines: ['card.minor.l1', 'card.minor.l2'] },
};

/** A full safety card; `onReport` (optional) adds the two-click report button. */
export function safetyCard(kind, onReport) {
  const spec = FULL[kind];
  if (!spec) return null;
  const card = el('div', { class: `card card-${kind}`, attrs: { role: 'note', 'aria-label': t(spec.title) } },
    el('p', { class: 'card-title' }, el('span', { class: 'card-mark', attrs: { 'aria-hidden': 'true' }, text: '!' }), t(spec.title)),
    el('ul', { class: 'card-lines' }, spec.lines.map((key) => el('li', { text: t(key) }))),
  );
  if (spec.footer) card.append(el('p', { class: 'card-numbers', text: t(spec.footer) }));
  if (onReport) {
    const button = el('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', text: t('conv.report') });
    button.addEventListener('click', onReport);
    card.append(el('div', { class: 'card-actions' }, button));
  }
  return card;
}

/** The one-line card under a room message. */
export function compactCard(kind) {
  const key = `card.compact.${kind}`;
  const text = t(key);
  if (text === key) return null;
  return el('p', { class: `card-compact card-${kind}`, attrs: { role: 'note' } },
    el('span', { class: 'card-mark', attrs: { 'aria-hidden': 'true' }, text: '!' }), text);
}
