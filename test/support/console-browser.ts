import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { jest } from '@jest/globals';
import { Secret, TOTP } from 'otpauth';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The console's browser tests drive Debian's Chromium. On a machine without it (a fresh one with only
 * Node and npm) they stand aside and say so; CI installs it (`.ci/run`), so CI runs them.
 */
export const withChromium = (name: string, body: () => void): void => {
  if (existsSync(CHROMIUM)) {
    describe(name, () => {
      // A browser test walks several pages (and axe-core scans each): more than the default 30 s on a busy 2-core machine.
      jest.setTimeout(120_000);
      body();
    });
    return;
  }
  console.warn(`[stands aside] "${name}" needs Chromium at ${CHROMIUM}: apt-get install chromium (CI does).`);
  const standAside = describe.skip;
  standAside(name, body);
};

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context (its own cookies) at the console's reference size. */
export function newContext(browser: Browser, size = { width: 1280, height: 800 }): Promise<BrowserContext> {
  return browser.newContext({ viewport: size });
}

/** The TOTP code of `base32` for now plus `steps` periods of 30 s (the console accepts one step either side). */
export function codeFor(base32: string, steps = 0): string {
  const totp = new TOTP({ secret: Secret.fromBase32(base32), algorithm: 'SHA1', digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + steps * 30_000 });
}

export interface Staff {
  email: string;
  password: string;
}

export async function submitPassword(page: Page, base: string, who: Staff): Promise<void> {
  await page.goto(`${base}/admin/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** First sign-in: password, then TOTP enrolment; answers the secret (read off the page) and the recovery codes. */
export async function enrol(page: Page, base: string, who: Staff): Promise<{ secret: string; recoveryCodes: string[] }> {
  await submitPassword(page, base, who);
  await page.waitForURL(/\/admin\/enrol$/);
  const secret = (await page.locator('#totp-secret').textContent())!.trim();
  await page.getByLabel('Code from your authenticator app').fill(codeFor(secret));
  await page.getByRole('button', { name: 'Confirm and continue' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  const recoveryCodes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
  await page.getByRole('link', { name: 'Continue to the console' }).click();
  await page.waitForURL(/\/admin\/users$/);
  return { secret, recoveryCodes };
}

/** A later sign-in: password, then a code (the next step's, so that it never replays the enrolment's). */
export async function signIn(page: Page, base: string, who: Staff, code: string): Promise<void> {
  await submitPassword(page, base, who);
  await page.waitForURL(/\/admin\/login\/code$/);
  await page.getByLabel('Code from your authenticator app, or a recovery code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/admin\/login\?signed_out=1$/);
}

/** axe-core in the page: the serious and critical violations (none is the goal). */
export async function seriousViolations(page: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact!, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

/**
 * Where the screenshots go: docs/images/ (the README's) with UPDATE_SCREENSHOTS=1, else a temporary
 * folder, so that an ordinary test run leaves the working tree as it found it.
 */
const IMAGES = process.env.UPDATE_SCREENSHOTS === '1' ? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'images') : join(tmpdir(), 'latchkey-console-screenshots');

/** A screenshot of the page at the console's reference size (docs/images/ with UPDATE_SCREENSHOTS=1). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: join(IMAGES, `${name}.png`) });
}

/** A staff member of `roles`, enrolled and signed in, in a browser context of their own. */
export async function signedInStaff(browser: Browser, base: string, staff: Staff, size?: { width: number; height: number }) {
  const context = await newContext(browser, size);
  const page = await context.newPage();
  const { secret, recoveryCodes } = await enrol(page, base, staff);
  return { context, page, secret, recoveryCodes };
}

/** The console cookie's value in `context` (to replay it from elsewhere). */
export async function consoleCookie(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === 'lk_console');
  if (!cookie) throw new Error('no console cookie');
  return cookie.value;
}

/**
 * Records every console document the page receives (pages, error pages, the pages that show a secret
 * once) whose headers miss the console's policy: the CSP, no-store, the referrer policy, no framing.
 */
export function watchConsoleHeaders(page: Page, csp: string): string[] {
  const problems: string[] = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (r.request().resourceType() !== 'document' || !url.pathname.startsWith('/admin') || url.pathname.startsWith('/admin/api')) return;
    if (r.status() >= 300 && r.status() < 400) return;
    const h = r.headers();
    const where = `${r.request().method()} ${url.pathname} ${r.status()}`;
    if (h['content-security-policy'] !== csp) problems.push(`${where}: CSP ${h['content-security-policy']}`);
    if (h['cache-control'] !== 'no-store') problems.push(`${where}: cache-control ${h['cache-control']}`);
    if (h['referrer-policy'] !== 'same-origin') problems.push(`${where}: referrer-policy ${h['referrer-policy']}`);
    if (h['x-frame-options'] !== 'DENY') problems.push(`${where}: x-frame-options ${h['x-frame-options']}`);
    if (h['x-content-type-options'] !== 'nosniff') problems.push(`${where}: x-content-type-options ${h['x-content-type-options']}`);
  });
  return problems;
}
