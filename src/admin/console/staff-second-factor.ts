import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { AppConfig } from '../../config/config.schema.js';
import { KeyEncryption } from '../../infra/crypto/key-encryption.js';
import type { Tx } from '../../infra/database/database.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { RateLimiter } from '../../infra/rate-limit/rate-limiter.js';
import { AdminErrors } from '../admin.errors.js';
import { SqlStaffFactors } from './persistence/sql-staff-factors.js';

/** RFC 6238 with the parameters every authenticator app reads: SHA-1, 6 digits, 30 s. */
const totpOf = (secret: Secret, label = '') => new TOTP({ issuer: 'Latchkey', label, secret, algorithm: 'SHA1', digits: 6, period: 30 });
/** One step either side of now: a phone whose clock is up to 30 s off still signs in. */
const WINDOW = 1;
const RECOVERY_CODES = 10;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const TOTP_FORMAT = /^\d{6}$/;
const RECOVERY_FORMAT = /^[a-z0-9]{5}-?[a-z0-9]{5}$/;

/** Ten random characters (~49 bits) as `xxxxx-xxxxx`, from an alphabet without look-alikes. */
function recoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

export interface Enrolment {
  /** The secret as base32 text, for typing into an app. */
  base32: string;
  /** The same, sealed with the key-encryption key: what the console session holds until a first code confirms it. */
  sealed: string;
  /** The otpauth:// URI and its QR code as an SVG document. */
  uri: string;
  qrSvg: string;
}

/**
 * The console's second factor: TOTP (RFC 6238) with one-time recovery codes. A code is accepted once
 * (the last step accepted is kept, and only a later step passes); wrong codes are counted per staff
 * member like wrong passwords, and past the limit the console answers 429 before checking any code.
 */
@Injectable()
export class StaffSecondFactor {
  constructor(
    private readonly factors: SqlStaffFactors,
    private readonly encryption: KeyEncryption,
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
  ) {}

  async isEnrolled(userId: string): Promise<boolean> {
    return (await this.factors.secretOf(userId)) !== null;
  }

  async newEnrolment(email: string, sealed?: string): Promise<Enrolment> {
    const secret = sealed ? Secret.fromBase32(this.encryption.decrypt(sealed)) : new Secret({ size: 20 });
    const uri = totpOf(secret, email).toString();
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { base32: secret.base32, sealed: sealed ?? this.encryption.encrypt(secret.base32), uri, qrSvg };
  }

  /** Confirms an enrolment with a first code; answers the ten recovery codes, to be shown once. */
  async confirmEnrolment(userId: string, sealed: string, code: string): Promise<string[]> {
    return this.throttled(userId, async () => {
      const step = this.stepOf(this.encryption.decrypt(sealed), code.trim());
      if (step === null) return null;
      const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
      const fresh = await this.factors.enrol(userId, sealed, step, codes.map((c) => this.recoveryHash(c)));
      return fresh ? codes : null;
    });
  }

  /** Checks a TOTP code or a recovery code; either is accepted once. Throws INVALID_SECOND_FACTOR or TOO_MANY_CODE_ATTEMPTS. */
  async verify(userId: string, input: string): Promise<'totp' | 'recovery'> {
    const code = input.trim().toLowerCase().replace(/\s+/g, '');
    return this.throttled(userId, async () => {
      if (TOTP_FORMAT.test(code)) {
        const stored = await this.factors.secretOf(userId);
        const step = stored ? this.stepOf(this.encryption.decrypt(stored.sealed), code) : null;
        return step !== null && (await this.factors.useStep(userId, step)) ? 'totp' : null;
      }
      if (RECOVERY_FORMAT.test(code)) return (await this.factors.useRecoveryCode(userId, this.recoveryHash(code))) ? 'recovery' : null;
      return null;
    });
  }

  recoveryCodesLeft(userId: string): Promise<number> {
    return this.factors.recoveryCodesLeft(userId);
  }

  /** Removes a staff member's second factor, in the caller's (audited) transaction. */
  reset(userId: string, tx: Tx): Promise<boolean> {
    return this.factors.reset(userId, tx);
  }

  /** The time step the code belongs to, within the window around now (the clock read once); null for a wrong code. */
  private stepOf(base32: string, code: string): number | null {
    if (!TOTP_FORMAT.test(code)) return null;
    const totp = totpOf(Secret.fromBase32(base32));
    const timestamp = Date.now();
    const delta = totp.validate({ token: code, window: WINDOW, timestamp });
    return delta === null ? null : totp.counter({ timestamp }) + delta;
  }

  /**
   * Recovery codes are stored as an HMAC keyed from the key-encryption key: ~49 bits each, too few
   * to resist an offline search of a stolen table if they were plainly hashed.
   */
  private recoveryHash(code: string): string {
    return this.encryption.mac('recovery-code', code.toLowerCase().replace('-', ''));
  }

  /** Reserves an attempt on the staff member's counter; a right code gives it back, a wrong one keeps it. */
  private async throttled<T>(userId: string, check: () => Promise<T | null>): Promise<T> {
    const key = `2fa:${userId}`;
    const wait = await this.limiter.reserve(key, this.config.consoleMaxCodeFailures, this.config.loginThrottleWindow);
    if (wait > 0) throw new DomainError(AdminErrors.TOO_MANY_CODE_ATTEMPTS, 'Too many wrong codes. Wait before you try again.', { headers: { 'retry-after': String(wait) } });
    const result = await check();
    if (result === null) throw new DomainError(AdminErrors.INVALID_SECOND_FACTOR, 'That code is wrong, or was used already.');
    await this.limiter.release(key);
    return result;
  }
}
