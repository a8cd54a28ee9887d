import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { forbiddenRange } from './address-policy.js';

/** A delivery that must not be attempted at this address: recorded as a failed attempt, never sent. */
export class TargetRefused extends Error {}

export interface UrlPolicy {
  /** Only https in production. */
  production: boolean;
  allowPrivateNetworks: boolean;
}

/** Where an attempt connects: the address that was checked, and nothing else (no second lookup). */
export interface Target {
  url: URL;
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/**
 * Why a subscription URL is refused at registration, or null. Hostnames are judged at delivery
 * time, after resolution (DNS can change in between); an address written in the URL is judged now.
 */
export function urlProblem(raw: string, policy: UrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the URL must be http or https';
  if (policy.production && url.protocol !== 'https:') return 'the URL must be https in production';
  if (url.username || url.password) return 'the URL must not carry credentials';
  if (url.hash) return 'the URL must not have a fragment';
  if (!policy.allowPrivateNetworks && isIP(hostOf(url))) {
    const range = forbiddenRange(hostOf(url));
    if (range) return `the address is ${range} (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)`;
  }
  return null;
}

/** A lookup that hangs ends the attempt within its timeout, as a receiver that hangs does. */
async function lookupWithin(host: string, resolve: Resolver, timeoutMs: number): Promise<{ address: string; family: number }[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: `no answer within ${timeoutMs} ms` })), timeoutMs);
  });
  try {
    return await Promise.race([resolve(host), deadline]);
  } catch (err) {
    throw new TargetRefused(`DNS lookup of ${host} failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves the subscription's host once and checks every address it answers; the attempt then
 * connects to the checked address alone, so a DNS answer that changes between the check and the
 * connection (rebinding) cannot steer it elsewhere.
 */
export async function resolveTarget(raw: string, policy: UrlPolicy, resolve: Resolver = systemResolver, timeoutMs = 5000): Promise<Target> {
  const problem = urlProblem(raw, policy);
  if (problem) throw new TargetRefused(problem);
  const url = new URL(raw);
  const host = hostOf(url);
  const literal = isIP(host);
  const answers = literal ? [{ address: host, family: literal }] : await lookupWithin(host, resolve, timeoutMs);
  if (!answers.length) throw new TargetRefused(`DNS lookup of ${host} answered no address`);
  if (!policy.allowPrivateNetworks) {
    for (const a of answers) {
      const range = forbiddenRange(a.address);
      if (range) throw new TargetRefused(`${host} resolves to ${a.address}, a ${range} address (refused; WEBHOOK_ALLOW_PRIVATE_NETWORKS is off)`);
    }
  }
  return { url, address: answers[0].address, family: answers[0].family === 6 ? 6 : 4 };
}
