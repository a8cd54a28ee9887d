import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { KeyEncryption } from '../../infra/crypto/key-encryption.js';
import type { NewSigningKey } from './signing-key.repository.js';

export const SIGNING_ALG = 'ES256';

/** A new ES256 key pair, its private key sealed with the key-encryption key. */
@Injectable()
export class SigningKeyGenerator {
  constructor(private readonly encryption: KeyEncryption) {}

  generate(): NewSigningKey {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
    return {
      kid: randomBytes(12).toString('base64url'),
      alg: SIGNING_ALG,
      publicJwk: { kty, crv, x, y },
      privateKeyEnc: this.encryption.encrypt(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string),
    };
  }
}
