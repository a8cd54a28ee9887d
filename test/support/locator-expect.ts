import { expect as jestExpect } from '@jest/globals';
import type { Locator } from 'playwright-core';

/** playwright-core has no test runner: jest's `expect`, plus retrying assertions for locators. */

type LocatorExpect = {
  toHaveText(text: string): Promise<void>;
  toContainText(text: string, o?: { timeout?: number }): Promise<void>;
  toHaveCount(n: number): Promise<void>;
};
export function expect(actual: Locator): LocatorExpect;
export function expect<T>(actual: T): ReturnType<typeof jestExpect<T>>;
export function expect(actual: unknown): unknown {
  if (actual && typeof actual === 'object' && 'waitFor' in actual && 'textContent' in actual) return locatorExpect(actual as Locator);
  return jestExpect(actual);
}
function locatorExpect(l: Locator): LocatorExpect {
  const poll = async (check: () => Promise<boolean>, what: () => Promise<string>, timeout = 5_000) => {
    const until = Date.now() + timeout;
    for (;;) {
      if (await check().catch(() => false)) return;
      if (Date.now() > until) throw new Error(`expected ${l.toString()} ${await what().catch((e: Error) => e.message)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    toHaveText: (text) => poll(async () => (await l.first().textContent())?.trim() === text, async () => `to have text "${text}", got "${await l.first().textContent()}"`),
    toContainText: (text, o) => poll(async () => ((await l.first().textContent()) ?? '').includes(text), async () => `to contain "${text}", got "${(await l.first().textContent())?.slice(0, 300)}"`, o?.timeout),
    toHaveCount: (n) => poll(async () => (await l.count()) === n, async () => `to have ${n} elements, got ${await l.count()}`),
  };
}
