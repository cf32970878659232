// The invisible anti-bot check at entry (ALTCHA scheme): find the number n ≤ maxnumber such that
// SHA-256(salt + n), in hex, equals the server's challenge. It runs while the visitor fills the
// form, with the browser's own SHA-256 (WebCrypto, available on HTTPS and on localhost), hashing
// in batches so that the promise overhead stays small. A solution serves once, so one is prepared
// ahead for the next attempt.

const BATCH = 256;
let pending = null;

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The number that solves a challenge, or null. */
export async function solve(challenge) {
  const encoder = new TextEncoder();
  for (let start = 0; start <= challenge.maxnumber; start += BATCH) {
    const end = Math.min(start + BATCH, challenge.maxnumber + 1);
    const tries = [];
    for (let n = start; n < end; n += 1) {
      tries.push(crypto.subtle.digest('SHA-256', encoder.encode(challenge.salt + n)));
    }
    const hashes = await Promise.all(tries);
    const found = hashes.findIndex((hash) => hex(hash) === challenge.challenge);
    if (found >= 0) return start + found;
  }
  return null;
}

async function fetchAndSolve() {
  let challenge;
  try {
    const response = await fetch('/api/challenge', { credentials: 'same-origin', cache: 'no-store' });
    challenge = (await response.json()).challenge;
  } catch {
    return null;
  }
  if (!challenge || !globalThis.crypto || !crypto.subtle) return null;
  const number = await solve(challenge);
  if (number === null) return null;
  return {
    algorithm: challenge.algorithm,
    challenge: challenge.challenge,
    number,
    salt: challenge.salt,
    signature: challenge.signature,
  };
}

/** Starts solving a challenge in the background (when the entry form shows). */
export function prepare() {
  if (!pending) pending = fetchAndSolve();
  return pending;
}

/** A solution for one entry attempt (null when the server asks for none); the next one starts
 *  at once. */
export async function take() {
  const solution = await prepare();
  pending = null;
  prepare();
  return solution;
}
