import { PasswordHasher, PasswordHashingBusy } from '../infra/crypto/password-hasher.js';
import { UserCredentialsRepository, UserRepository } from './user.repository.js';
import { UsersService } from './users.service.js';

/** A hasher whose next hash calls fail as "busy" as many times as told: pure logic, no argon2. */
class ScriptedHasher extends PasswordHasher {
  busyHashes = 0;
  hashes = 0;
  async hash(password: string): Promise<string> {
    this.hashes++;
    if (this.busyHashes > 0) {
      this.busyHashes--;
      throw new PasswordHashingBusy();
    }
    return `hashed:${password}`;
  }
  async verify(hash: string, password: string): Promise<boolean> {
    return hash === `hashed:${password}`;
  }
  needsRehash(): boolean {
    return false;
  }
}

describe('UsersService.verifyPassword for an unknown email', () => {
  const credentials = { findCredentials: async () => null, updatePasswordHash: async () => undefined } as unknown as UserCredentialsRepository;

  it('forgets a dummy hash that failed, so one busy moment does not answer 503 for ever', async () => {
    const hasher = new ScriptedHasher();
    const service = new UsersService({} as UserRepository, credentials, hasher);
    hasher.busyHashes = 1;
    await expect(service.verifyPassword('nobody@example.com', 'some password here')).rejects.toBeInstanceOf(PasswordHashingBusy);
    await expect(service.verifyPassword('nobody@example.com', 'some password here')).resolves.toBeNull();
    await expect(service.verifyPassword('nobody@example.com', 'other password here')).resolves.toBeNull();
    expect(hasher.hashes).toBe(2); // the failed attempt, then one good dummy hash kept
  });
});
