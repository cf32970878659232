// Screen readers: two live regions. Polite for the new lines of the conversation shown and for
// requests; assertive for safety cards and refused messages. Each announcement is its own
// paragraph (so two quick lines are both read), removed after a while to keep the regions small.

import { $, el } from './dom.js';

const KEEP_MS = 8000;
const MAX_ITEMS = 5;

export function announce(text, { assertive = false } = {}) {
  if (!text) return;
  const region = $(assertive ? '#announce-assertive' : '#announce-polite');
  if (!region) return;
  const item = el('p', { text });
  region.append(item);
  while (region.childElementCount > MAX_ITEMS) region.firstElementChild.remove();
  setTimeout(() => item.remove(), KEEP_MS);
}

export function clearAnnouncements() {
  for (const id of ['#announce-polite', '#announce-assertive']) {
    const region = $(id);
    if (region) region.textContent = '';
  }
}
