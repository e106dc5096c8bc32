// Helpers of bench/load.sh, on Node's standard library only (no npm install needed):
//
//   node bench/tokens.js mint <secret> <from> <to> <users> [issuer] [audience]
//       prints one HS256 access token per line for the bench sessions from..to, as the
//       server would sign them: session i is md5('passport-bench-session-' || i)::uuid of
//       user ((i - 1) % users) + 1, whose id is md5('passport-bench-user-' || j)::uuid
//       (the ids bench/seed.sh and bench/load.sh's SQL give them).
//   node bench/tokens.js probe <base-A> <base-B> <token-file> <count>
//       revocation propagation: for each token, GET /user/profile on B (200: B has the
//       session cached), POST /logout on A, then poll B until it answers 401; prints the
//       delays from A's 204 to B's first 401 and one PROBE_RESULT line.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const uuidOfMd5 = (text) => {
  const h = crypto.createHash('md5').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

function mint([secret, from, to, users, issuer = 'passport-server', audience = 'passport-api']) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const now = Math.floor(Date.now() / 1000);
  const lines = [];
  for (let i = Number(from); i <= Number(to); i++) {
    const j = ((i - 1) % Number(users)) + 1;
    const claims = {
      sub: uuidOfMd5(`passport-bench-user-${j}`),
      iss: issuer,
      aud: audience,
      iat: now,
      exp: now + 3600,
      email: `user${j}@bench.test`,
      sid: uuidOfMd5(`passport-bench-session-${i}`),
      jti: crypto.randomUUID(),
    };
    const input = `${header}.${b64url(JSON.stringify(claims))}`;
    const sig = crypto.createHmac('sha256', secret).update(input).digest('base64url');
    lines.push(`${input}.${sig}`);
    if (lines.length === 10000) { process.stdout.write(lines.join('\n') + '\n'); lines.length = 0; }
  }
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
}

async function probe([baseA, baseB, file, count]) {
  const tokens = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, Number(count));
  const delays = [];
  let skipped = 0;
  for (const token of tokens) {
    const auth = { authorization: `Bearer ${token}` };
    const warm = await fetch(`${baseB}/user/profile`, { headers: auth });
    await warm.arrayBuffer();
    if (warm.status !== 200) { skipped++; continue; }
    const out = await fetch(`${baseA}/logout`, { method: 'POST', headers: auth });
    await out.arrayBuffer();
    if (out.status !== 204) { skipped++; continue; }
    const revoked = process.hrtime.bigint();
    let seen = null;
    while (seen === null) {
      const res = await fetch(`${baseB}/user/profile`, { headers: auth });
      await res.arrayBuffer();
      if (res.status === 401) seen = process.hrtime.bigint();
      else if (Number(process.hrtime.bigint() - revoked) > 5e9) seen = -1n; // 5 s: give up
    }
    if (seen === -1n) { skipped++; continue; }
    delays.push(Number(seen - revoked) / 1e6);
  }
  delays.sort((a, b) => a - b);
  const pct = (p) => delays.length ? delays[Math.min(delays.length - 1, Math.ceil(p / 100 * delays.length) - 1)] : NaN;
  console.log(`PROBE_RESULT revocations=${delays.length} failed=${skipped} p50_ms=${pct(50).toFixed(3)} ` +
    `p99_ms=${pct(99).toFixed(3)} max_ms=${(delays.length ? delays[delays.length - 1] : NaN).toFixed(3)}`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'mint') mint(args);
else if (mode === 'probe') probe(args).catch((e) => { console.error(e); process.exit(1); });
else { console.error('usage: tokens.js mint|probe ...'); process.exit(2); }
