import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { Strategy } from 'passport-local';
import type { User } from '../users/user.js';
import { UsersService } from '../users/users.service.js';

/** passport-local: the password check of the password grant (`username` and `password` form fields). */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly users: UsersService) {
    super({ usernameField: 'username', passwordField: 'password', session: false });
  }

  async validate(username: string, password: string): Promise<User | false> {
    return (await this.users.verifyPassword(username, password)) ?? false;
  }
}

/** Runs the local strategy on a request: the user, false for bad credentials, or 'missing'. */
export function authenticateLocal(req: unknown): Promise<User | false | 'missing'> {
  return new Promise((resolve, reject) => {
    passport.authenticate('local', { session: false }, (err: Error | null, user: User | false, info?: { message?: string }) => {
      if (err) return reject(err);
      if (!user && info?.message === 'Missing credentials') return resolve('missing');
      resolve(user);
    })(req, {}, reject);
  });
}
