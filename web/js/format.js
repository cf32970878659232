// How members, distances and times are shown.

import { t } from './i18n.js';

/** "< 5 km" for 0, "~N km" otherwise, "" when unknown (the server already rounded it). */
export function distanceLabel(km) {
  if (km === null || km === undefined) return '';
  if (km === 0) return t('distance.near');
  return t('distance.about', { km });
}

export function genderLetter(gender) {
  return t(`gender.letter.${gender}`);
}

export function genderName(gender) {
  return t(`gender.name.${gender}`);
}

/** "34 ans · homme · Marseille · ~5 km", for titles and request cards. */
export function memberDetails(member) {
  const parts = [t('members.age', { age: member.age }), genderName(member.gender)];
  if (member.city) parts.push(member.city);
  const distance = distanceLabel(member.distance_km);
  if (distance) parts.push(distance);
  return parts.join(' · ');
}

/** "20 min", "2 h" since the entry time (Unix ms); "" when unknown. */
export function onlineDuration(since, now = Date.now()) {
  if (!since) return '';
  const minutes = Math.floor((now - since) / 60000);
  if (minutes < 1) return t('duration.justNow');
  if (minutes < 60) return t('duration.minutes', { n: minutes });
  return t('duration.hours', { n: Math.floor(minutes / 60) });
}

/** "en ligne depuis 20 min" from the entry time (Unix ms); "" when unknown. */
export function onlineFor(since, now = Date.now()) {
  const duration = onlineDuration(since, now);
  return duration ? t('members.online', { duration }) : '';
}

export const STATUSES = ['available', 'busy', 'away'];

/** The member's availability, "available" when the server does not say. */
export function statusOf(member) {
  return STATUSES.includes(member.status) ? member.status : 'available';
}

function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

/** HH:MM in local time. */
export function timeLabel(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The full date and time, for a title attribute. */
export function fullTime(ms) {
  return new Date(ms).toLocaleString();
}
