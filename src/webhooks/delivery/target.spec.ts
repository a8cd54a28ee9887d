import { resolveTarget, TargetRefused, urlProblem, type Resolver } from './target.js';

const DEFAULT = { production: false, allowPrivateNetworks: false };

describe('urlProblem: a subscription URL at registration', () => {
  it.each([
    ['not a url', 'not a URL'],
    ['ftp://example.com/hook', 'the URL must be http or https'],
    ['https://user:pw@example.com/hook', 'the URL must not carry credentials'],
    ['https://example.com/hook#frag', 'the URL must not have a fragment'],
    ['http://127.0.0.1:8080/hook', 'the address is loopback (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)'],
    ['http://[::ffff:127.0.0.1]/hook', 'the address is loopback (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)'],
    ['http://2130706433/hook', 'the address is loopback (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)'],
  ])('refuses %s', (url, problem) => {
    expect(urlProblem(url, DEFAULT)).toBe(problem);
  });

  it('wants https in production, and judges a hostname only at delivery', () => {
    expect(urlProblem('http://hooks.example.com/x', { production: true, allowPrivateNetworks: false })).toBe('the URL must be https in production');
    expect(urlProblem('https://hooks.example.com/x', { production: true, allowPrivateNetworks: false })).toBeNull();
    expect(urlProblem('http://localhost:9/x', DEFAULT)).toBeNull();
    expect(urlProblem('http://127.0.0.1:9/x', { production: false, allowPrivateNetworks: true })).toBeNull();
  });
});

describe('resolveTarget: the address an attempt connects to', () => {
  /** A resolver whose answers change on every call, as a rebinding attacker's DNS would. */
  const rebinding = (...answers: string[][]): Resolver & { calls: number } => {
    const r = Object.assign(async () => (answers[Math.min(r.calls++, answers.length - 1)] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })), { calls: 0 });
    return r;
  };

  it('resolves once and pins the checked address: a later answer cannot steer the connection', async () => {
    const dns = rebinding(['93.184.215.14'], ['127.0.0.1']);
    const target = await resolveTarget('https://hooks.example.com/x', DEFAULT, dns);
    expect(target).toMatchObject({ address: '93.184.215.14', family: 4 });
    expect(target.url.hostname).toBe('hooks.example.com');
    expect(dns.calls).toBe(1);
  });

  it('refuses a name that resolves to a private address, or to any private address among several', async () => {
    await expect(resolveTarget('https://hooks.example.com/x', DEFAULT, rebinding(['127.0.0.1']))).rejects.toThrow(new TargetRefused('hooks.example.com resolves to 127.0.0.1, a loopback address (refused; WEBHOOK_ALLOW_PRIVATE_NETWORKS is off)'));
    await expect(resolveTarget('https://hooks.example.com/x', DEFAULT, rebinding(['93.184.215.14', '::ffff:10.0.0.7']))).rejects.toThrow(/::ffff:10\.0\.0\.7, a private address/);
    await expect(resolveTarget('https://hooks.example.com/x', DEFAULT, rebinding([]))).rejects.toThrow(/answered no address/);
  });

  it('lets a private address through only when private networks are allowed', async () => {
    const target = await resolveTarget('http://receiver.internal:8080/x', { production: false, allowPrivateNetworks: true }, rebinding(['10.0.0.7']));
    expect(target).toMatchObject({ address: '10.0.0.7', family: 4 });
  });

  it('says why a lookup failed', async () => {
    const failing: Resolver = async () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }));
    await expect(resolveTarget('https://nowhere.example/x', DEFAULT, failing)).rejects.toThrow('DNS lookup of nowhere.example failed (ENOTFOUND)');
  });
});
