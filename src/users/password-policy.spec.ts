import { passwordWeakness } from './password-policy.js';

describe('passwordWeakness', () => {
  it.each([
    [undefined, /required/],
    ['short', /at least 12/],
    ['Password123!', /too common/],
    ['aaaaaaaaaaaaaaaa', /too few/],
    ['jordan.smith-2026', /email/],
  ])('refuses %s', (password, reason) => {
    expect(passwordWeakness(password, 'jordan.smith@example.com')).toMatch(reason);
  });

  it('accepts a long passphrase', () => {
    expect(passwordWeakness('violet staple orbit canyon', 'jordan.smith@example.com')).toBeNull();
  });
});
