import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { Strategy } from 'passport-local';
import type { User } from '../users/user.js';
import { UsersService } from '../users/users.service.js';

/** passport-local: the password check behind SignIn (`username` and `password` fields). */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly users: UsersService) {
    super({ usernameField: 'username', passwordField: 'password', session: false });
  }

  async validate(username: string, password: string): Promise<User | false> {
    return (await this.users.verifyPassword(username, password)) ?? false;
  }
}

/** Runs the local strategy on `{ body: { username, password } }`: the user, or false for bad or missing credentials. */
export function authenticateLocal(req: { body: { username: string; password: string } }): Promise<User | false> {
  return new Promise((resolve, reject) => {
    passport.authenticate('local', { session: false }, (err: Error | null, user: User | false) => {
      if (err) return reject(err);
      resolve(user || false);
    })(req, {}, reject);
  });
}
