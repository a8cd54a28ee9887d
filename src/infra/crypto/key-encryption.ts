import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/config.schema.js';

/**
 * The key-encryption key does not open the signing keys in the database: it was changed, or is not
 * the one this database was created with. Nothing can be signed or verified; the start stops.
 */
export class KeyEncryptionKeyMismatch extends Error {
  constructor(cause: unknown) {
    super(
      'KEY_ENCRYPTION_KEY does not decrypt the signing keys stored in the database: it was changed or is wrong. ' +
        'Set it back to the key this database was created with (with docker compose: in .env). A new key needs an empty database.',
      { cause },
    );
    this.name = 'KeyEncryptionKeyMismatch';
  }
}

/** AES-256-GCM with the key-encryption key: how private signing keys rest in the database. */
export class KeyEncryption {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /**
   * A keyed hash (HMAC-SHA256) of `value`, with a key derived from the key-encryption key for
   * `purpose`: for secrets of modest entropy (recovery codes) that a stolen database alone must not
   * let anyone test offline.
   */
  mac(purpose: string, value: string): string {
    const key = createHmac('sha256', this.key).update(`latchkey:${purpose}`).digest();
    return createHmac('sha256', key).update(value).digest('hex');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1') throw new Error('unknown key envelope');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new KeyEncryptionKeyMismatch(err);
    }
  }
}

/**
 * KEY_ENCRYPTION_KEY when set (production requires it). Otherwise a key generated once and kept
 * beside the embedded data in DATA_DIR, so that a restart can still read the signing keys.
 */
export async function loadKeyEncryption(config: AppConfig): Promise<KeyEncryption> {
  // Node's base64 decoder reads both the standard and the URL-safe alphabet.
  if (config.keyEncryptionKey) return new KeyEncryption(Buffer.from(config.keyEncryptionKey, 'base64'));
  const dir = resolve(config.dataDir);
  const file = join(dir, 'key-encryption-key');
  try {
    return new KeyEncryption(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url'));
  } catch {
    await mkdir(dir, { recursive: true });
    const key = randomBytes(32);
    await writeFile(file, key.toString('base64url'), { mode: 0o600, flag: 'wx' }).catch(async () => undefined);
    await chmod(file, 0o600).catch(() => undefined);
    const stored = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
    new Logger('Keys').warn(`KEY_ENCRYPTION_KEY is unset: generated one in ${file} (set KEY_ENCRYPTION_KEY in production)`);
    return new KeyEncryption(stored);
  }
}
