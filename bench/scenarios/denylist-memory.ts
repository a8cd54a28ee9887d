import { HttpProbe, jwtPayload } from '../lib/http.js';
import { cpuMeter, cpuMicrosPerRequest } from '../lib/machine.js';
import { clientHeaders, createClient, revokeRequest } from '../lib/oauth.js';
import { connectRedis, denylistPattern, memoryUsage, redisMemory, scanKeys } from '../lib/redis.js';
import { standAside } from '../lib/result.js';
import { mirrorBytesPerEntry } from '../lib/mirror-memory.js';
import { freePort, provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { median, r1 } from '../lib/stats.js';
import { sleep } from '../lib/time.js';
import type { Row, Scenario } from '../lib/types.js';

/** Access tokens revoked (each its own denylist entry). */
const N = 10_000;
/** A short token lifetime, so that the entries' expiry can be watched (the config's minimum). */
const TTL_SECONDS = 30;
/** Token + revoke pairs in flight. */
const PARALLEL = 16;
/** Keys whose MEMORY USAGE is read. */
const SAMPLE = 2000;
/** Past the last token's expiry before the keys are counted again. */
const EXPIRY_MARGIN_MS = 3000;
const PHASE_DEADLINE_MS = 300_000;

/**
 * What the denylist costs in Redis and whether it cleans up after itself: N access tokens are
 * revoked through RFC 7009 on one server started with ACCESS_TOKEN_TTL=30; the bench then reads
 * MEMORY USAGE of its own denylist keys and INFO memory, waits one token lifetime, and counts the
 * keys again (they must be gone: each entry expires with the last token it could affect).
 */
export const denylistMemory: Scenario = {
  name: 'denylist-memory',
  description: `bytes per denylist entry in each instance's memory (the mirror) and in Redis (${N.toLocaleString('en-US')} RFC 7009 revocations) and their expiry after one token lifetime (ACCESS_TOKEN_TTL=${TTL_SECONDS})`,
  async run({ log }) {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const reason = "REDIS_URL is unset: the in-process store lives inside the server's heap and cannot be measured from outside";
      log(`denylist-memory stands aside: ${reason}`);
      return standAside(reason, { requires: ['REDIS_URL'] });
    }
    const stores = await provisionStores();
    try {
      log(`stores: ${stores.description}`);
      const prefix = stores.env.REDIS_KEY_PREFIX;
      const metricsPort = await freePort();
      const server = await startServer({ stores, env: { ACCESS_TOKEN_TTL: String(TTL_SECONDS), METRICS_PORT: String(metricsPort) } });
      /** The server's own count of entries in its memory (the mirror), from its metrics. */
      const mirrorEntries = async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return Number(/^latchkey_denylist_mirror_entries (\d+)/m.exec(text)?.[1] ?? NaN);
      };
      const redis = await connectRedis(redisUrl);
      const http = new HttpProbe(server.url);
      try {
        log(`server: ${serverInfo(server)}, ACCESS_TOKEN_TTL=${TTL_SECONDS}`);
        const client = createClient(server);
        const basic = clientHeaders(client);
        const countJti = async () => (await scanKeys(redis, denylistPattern(prefix, 'j'))).length;
        const countAll = async () => (await scanKeys(redis, denylistPattern(prefix))).length;
        const mirror = { before: await mirrorEntries(), peak: NaN, after: NaN, perEntry: mirrorBytesPerEntry(100_000) };
        log(`mirror: ${mirror.perEntry.bytesPerEntry} B of heap per entry (${mirror.perEntry.entries} jti entries in a fresh process); the server holds ${mirror.before} now`);

        const before = { ...(await redisMemory(redis)), benchKeys: await countAll(), jtiKeys: await countJti() };
        log(`before: used_memory ${before.usedMemory} B, ${before.benchKeys} keys under {${prefix}} (the epoch)`);

        // Token then revoke, PARALLEL at a time: each entry lives until its token's exp, so they
        // are written close to their tokens' issue to keep as many as possible alive together.
        const exps: number[] = [];
        const failures: string[] = [];
        let next = 0;
        let lastRevokeAt = 0;
        const deadline = Date.now() + PHASE_DEADLINE_MS;
        const t0 = performance.now();
        const meter = cpuMeter(server.pid);
        const worker = async () => {
          while (next < N && failures.length < 10) {
            if (Date.now() > deadline) {
              failures.push(`revoked only ${exps.length} of ${N} tokens in ${PHASE_DEADLINE_MS / 1000} s`);
              return;
            }
            next++;
            const t = await http.send({ method: 'POST', path: '/oauth/token', headers: basic, body: 'grant_type=client_credentials' });
            if (t.status !== 200) {
              failures.push(`client_credentials answered ${t.status}: ${t.body.slice(0, 200)}`);
              continue;
            }
            const access = (JSON.parse(t.body) as { access_token: string }).access_token;
            const r = await http.send(revokeRequest(client, access, 'access_token'));
            if (r.status !== 200) {
              failures.push(`POST /oauth/revoke answered ${r.status}: ${r.body.slice(0, 200)}`);
              continue;
            }
            exps.push(Number(jwtPayload(access).exp));
            lastRevokeAt = Date.now();
          }
        };
        log(`revoking ${N} access tokens (client_credentials token, then POST /oauth/revoke; ${PARALLEL} in flight)`);
        await Promise.all(Array.from({ length: PARALLEL }, worker));
        const phaseSeconds = (performance.now() - t0) / 1000;
        const cpu = meter.stop();
        const cpuPerPair = cpuMicrosPerRequest(cpu, phaseSeconds, exps.length);

        // At the peak: what Redis holds now.
        const atPeak = Date.now();
        const expectedLive = exps.filter((e) => e * 1000 > atPeak).length;
        const jtiKeys = await scanKeys(redis, denylistPattern(prefix, 'j'));
        const peak = { ...(await redisMemory(redis)), benchKeys: await countAll(), jtiKeys: jtiKeys.length, expectedLive };
        const sampleKeys = jtiKeys.slice(0, SAMPLE);
        const usage = (await memoryUsage(redis, sampleKeys)).filter((v): v is number => v !== null);
        const ttls = (await Promise.all(sampleKeys.slice(0, 200).map((k) => redis.pttl(k)))).filter((v) => v >= 0);
        const perKey = usage.length
          ? { sampled: usage.length, mean: r1(usage.reduce((a, b) => a + b, 0) / usage.length), median: median(usage), min: Math.min(...usage), max: Math.max(...usage) }
          : null;
        const exampleKey = sampleKeys[0] ?? null;
        mirror.peak = await mirrorEntries();
        const globalDelta = peak.usedMemory - before.usedMemory;
        const globalPerEntry = peak.jtiKeys ? r1(globalDelta / peak.jtiKeys) : null;
        log(`peak: ${peak.jtiKeys} jti keys (expected live ${expectedLive}), MEMORY USAGE ${perKey?.mean} B/key, used_memory +${globalDelta} B`);

        // One token lifetime (+ a little) after the last revocation, every entry must be gone.
        const until = Math.max(lastRevokeAt + TTL_SECONDS * 1000, Math.max(0, ...exps) * 1000) + EXPIRY_MARGIN_MS;
        const curve: { secondsAfterLastRevoke: number; jtiKeys: number; mirrorEntries: number }[] = [];
        log(`waiting ${Math.round((until - Date.now()) / 1000)} s (one token lifetime + ${EXPIRY_MARGIN_MS / 1000} s) for the entries to expire`);
        while (Date.now() < until) {
          await sleep(Math.min(5000, Math.max(0, until - Date.now())));
          curve.push({ secondsAfterLastRevoke: r1((Date.now() - lastRevokeAt) / 1000), jtiKeys: await countJti(), mirrorEntries: await mirrorEntries() });
        }
        const after = { ...(await redisMemory(redis)), benchKeys: await countAll(), jtiKeys: await countJti(), secondsAfterLastRevoke: r1((Date.now() - lastRevokeAt) / 1000) };
        log(`after one lifetime: ${after.jtiKeys} jti keys, ${after.benchKeys} keys under {${prefix}}`);

        mirror.after = await mirrorEntries();
        if (mirror.after > 0) failures.push(`${mirror.after} entries were still in the server's memory (the mirror) ${after.secondsAfterLastRevoke} s after the last revocation`);
        if (after.jtiKeys > 0) failures.push(`${after.jtiKeys} denylist entries were still in Redis ${after.secondsAfterLastRevoke} s after the last revocation (token lifetime ${TTL_SECONDS} s): they do not expire`);
        if (ttls.some((t) => t > TTL_SECONDS * 1000)) failures.push(`an entry's PTTL (${Math.max(...ttls)} ms) exceeds the token lifetime (${TTL_SECONDS} s)`);

        const table: Row[] = [
          { moment: 'before', 'mirror entries': mirror.before, 'jti entries': before.jtiKeys, 'keys under prefix': before.benchKeys, 'used_memory B': before.usedMemory, 'Δ used_memory B': null, 'B/entry (MEMORY USAGE)': null, 'B/entry (Δ used_memory)': null, 'redis dbsize': before.dbsize },
          { moment: `after ${exps.length} revocations`, 'mirror entries': mirror.peak, 'jti entries': peak.jtiKeys, 'keys under prefix': peak.benchKeys, 'used_memory B': peak.usedMemory, 'Δ used_memory B': globalDelta, 'B/entry (MEMORY USAGE)': perKey?.mean ?? null, 'B/entry (Δ used_memory)': globalPerEntry, 'redis dbsize': peak.dbsize },
          { moment: `+${after.secondsAfterLastRevoke} s (TTL ${TTL_SECONDS} s)`, 'mirror entries': mirror.after, 'jti entries': after.jtiKeys, 'keys under prefix': after.benchKeys, 'used_memory B': after.usedMemory, 'Δ used_memory B': after.usedMemory - before.usedMemory, 'B/entry (MEMORY USAGE)': null, 'B/entry (Δ used_memory)': null, 'redis dbsize': after.dbsize },
        ];
        const rate = exps.length / phaseSeconds;
        const notes = [
          `in each instance's memory (the denylist mirror): ${mirror.perEntry.bytesPerEntry} B of V8 heap per revoked jti (${mirror.perEntry.entries} uuid entries, forced GC before and after, in a fresh process); the server held ${mirror.peak} at the peak and ${mirror.after} one lifetime later; mirror entries every ~5 s: ${curve.map((c) => `${c.secondsAfterLastRevoke}s:${c.mirrorEntries}`).join(' ')}`,
          `per entry in Redis (MEMORY USAGE over ${perKey?.sampled ?? 0} of the bench's own keys): mean ${perKey?.mean} B, median ${perKey?.median}, min ${perKey?.min}, max ${perKey?.max}; key like "${exampleKey?.replace(/:j:.*/, ':j:<uuid>')}" (${exampleKey?.length ?? '-'} characters), value "1"; MEMORY USAGE leaves out the entry in Redis's expires table (~ another 24-40 B per key with a TTL)`,
          `per entry from INFO used_memory: ${globalPerEntry} B (Δ ${globalDelta} B over ${peak.jtiKeys} entries); other clients share this Redis (dbsize ${before.dbsize} → ${peak.dbsize}), so this figure is noisy: prefer the per-key one`,
          `${exps.length} revocations in ${phaseSeconds.toFixed(1)} s (${rate.toFixed(0)}/s incl. the token requests, ${PARALLEL} in flight; server ${cpu.serverCores} cores, ${cpuPerPair} µs CPU per token + revoke, db+redis ${cpu.storeCores}, foreign ${cpu.foreignCores} cores); ${peak.jtiKeys} entries alive together at the end (expected ${expectedLive}: the tokens not yet expired)` +
            (peak.jtiKeys < exps.length ? `: the first entries had already expired with their tokens (${TTL_SECONDS} s lifetime), as designed` : ''),
          `sampled PTTL of entries at the peak: max ${ttls.length ? Math.max(...ttls) : '-'} ms, min ${ttls.length ? Math.min(...ttls) : '-'} ms (≤ ${TTL_SECONDS * 1000} ms: each entry expires with its token)`,
          `expiry: ${after.jtiKeys} jti entries and ${after.benchKeys} keys under {${prefix}} (the epoch key does not expire) ${after.secondsAfterLastRevoke} s after the last revocation; jti entries every ~5 s: ${curve.map((c) => `${c.secondsAfterLastRevoke}s:${c.jtiKeys}`).join(' ')}`,
          `extrapolated: 1 M live entries ≈ ${perKey ? r1((perKey.mean * 1e6) / 2 ** 20) : '-'} MiB by MEMORY USAGE; the denylist holds only the revocations of the last token lifetime (900 s by default)`,
          `stores: ${stores.description}; server on core ${server.cores}`,
        ];
        return {
          settings: { n: N, accessTokenTtl: TTL_SECONDS, parallel: PARALLEL, sample: SAMPLE, stores: stores.description },
          figures: {
            revoked: exps.length,
            revokePhaseSeconds: r1(phaseSeconds),
            revocationsPerSecond: r1(rate),
            cpuDuringRevocations: { ...cpu, serverMicrosPerTokenAndRevoke: cpuPerPair },
            before,
            peak,
            mirror,
            perEntryBytes: { memoryUsage: perKey, usedMemoryDelta: globalPerEntry, usedMemoryDeltaBytes: globalDelta },
            exampleKeyLength: exampleKey?.length ?? null,
            sampledPttlMs: ttls.length ? { min: Math.min(...ttls), max: Math.max(...ttls) } : null,
            expiry: { ...after, curve },
          },
          table,
          failures,
          notes,
        };
      } finally {
        http.close();
        redis.disconnect();
        await server.stop();
      }
    } finally {
      await stores.dispose();
    }
  },
};
