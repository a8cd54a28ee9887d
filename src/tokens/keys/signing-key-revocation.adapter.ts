import { Injectable } from '@nestjs/common';
import type { Tx } from '../../infra/database/database.js';
import { KeyService } from './key.service.js';
import { SigningKeyGenerator } from './signing-key.generator.js';
import { SigningKeyRepository } from './signing-key.repository.js';
import { type KeyRevocationOutcome, SigningKeyRevocationPort } from './signing-key.revocation-port.js';

@Injectable()
export class SigningKeyRevocationAdapter extends SigningKeyRevocationPort {
  constructor(
    private readonly repo: SigningKeyRepository,
    private readonly generator: SigningKeyGenerator,
    private readonly keys: KeyService,
  ) {
    super();
  }

  async revoke(tx: Tx, kid: string): Promise<KeyRevocationOutcome> {
    let successorKid: string | undefined;
    const before = await this.repo.revoke(tx, kid, () => {
      const key = this.generator.generate();
      successorKid = key.kid;
      return key;
    });
    if (before === null) return { found: false };
    return { found: true, revoked: before !== 'revoked', successorKid };
  }

  reload(): Promise<void> {
    return this.keys.refresh(true);
  }
}
