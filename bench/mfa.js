// The /login/mfa scenario of bench/load.sh, on Node's standard library only:
//
//   node bench/mfa.js <base-url> <first-user> <users> <password> <concurrency>
//
// Setup (not timed), for each bench user user<i>@bench.test (i = first-user ..): a password
// login, TOTP enrolment (POST /user/mfa/totp, then /confirm with the current code), and a
// second password login, which now answers an mfa_token instead of a token. At most four
// setups run at once (the bench's hashing queue holds four per core; a 503 is retried after its
// Retry-After).
// Measured: every user's POST /login/mfa {mfa_token, code} once, <concurrency> in flight. A code
// is accepted once (RFC 6238 §5.2), so each request carries the step after the one its
// enrolment used, or the current step if that is later (both inside the accepted ±1 window).
// Prints one MFA_RESULT line: requests, successes, rps, p50 and p99 in ms.
'use strict';
const crypto = require('crypto');

const [base, first, users, password, concurrency] = process.argv.slice(2);
if (!concurrency) {
  console.error('usage: node bench/mfa.js <base-url> <first-user> <users> <password> <concurrency>');
  process.exit(2);
}

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// RFC 6238 with SHA-1, 6 digits, 30-second steps (the contract's parameters).
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

// A 503 (the hashing queue is full) is retried after its Retry-After when `retry` (the
// untimed setup); a measured request is sent once, and anything but a 200 counts against it.
async function post(path, body, token, retry = true) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  for (;;) {
    const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
    if (retry && res.status === 503) {
      const wait = Number(res.headers.get('retry-after') || 1);
      await res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      continue;
    }
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
}

async function setUp(i) {
  const email = `user${i}@bench.test`;
  const login = await post('/login', { email, password });
  if (login.status !== 200 || !login.body.token) throw new Error(`login ${email}: ${login.status}`);
  const enrol = await post('/user/mfa/totp', { password }, login.body.token);
  if (enrol.status !== 200) throw new Error(`enrolment ${email}: ${enrol.status}`);
  const secret = enrol.body.secret;
  const step = stepNow();
  const confirm = await post('/user/mfa/totp/confirm', { code: totp(secret, step) }, login.body.token);
  if (confirm.status !== 200) throw new Error(`confirmation ${email}: ${confirm.status}`);
  const second = await post('/login', { email, password });
  if (second.status !== 200 || !second.body.mfa_token) {
    throw new Error(`second login ${email}: ${second.status}`);
  }
  return { secret, usedStep: step, mfaToken: second.body.mfa_token };
}

async function pool(items, width, work) {
  const results = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(runners);
  return results;
}

const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0;

(async () => {
  const ids = Array.from({ length: Number(users) }, (_, k) => Number(first) + k);
  const prepared = await pool(ids, 4, setUp);
  const latencies = [];
  let ok = 0;
  const started = process.hrtime.bigint();
  await pool(prepared, Number(concurrency), async ({ secret, usedStep, mfaToken }) => {
    const code = totp(secret, Math.max(stepNow(), usedStep + 1));
    const sent = process.hrtime.bigint();
    const res = await post('/login/mfa', { mfa_token: mfaToken, code }, undefined, false);
    latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
    if (res.status === 200 && res.body.token) ok++;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const fmt = (x) => x.toFixed(3);
  console.log(
    `MFA_RESULT requests=${latencies.length} ok=${ok} rps=${(latencies.length / seconds).toFixed(1)}` +
      ` p50_ms=${fmt(percentile(latencies, 50))} p99_ms=${fmt(percentile(latencies, 99))}`,
  );
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
