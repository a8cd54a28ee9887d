import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { hash } from '@node-rs/argon2';
import { DataSource } from 'typeorm';
import { ConfigModule } from '../../src/config/config.module.js';
import { DatabaseModule } from '../../src/infra/database/database.module.js';
import { ARGON2_PARAMS } from '../../src/infra/crypto/password-hasher.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { UsersModule } from '../../src/users/users.module.js';
import { UsersService } from '../../src/users/users.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testConfig } from '../support/test-app.js';

describe('users on a real database', () => {
  let db: TestDatabase;
  let ctx: INestApplicationContext;
  let users: UsersService;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    @Module({ imports: [ConfigModule.forRoot(testConfig(db.url)), DatabaseModule.forRoot(db.url), UsersModule] })
    class TestModule {}
    ctx = await NestFactory.createApplicationContext(TestModule, { logger: false });
    users = ctx.get(UsersService);
    ds = ctx.get(DataSource);
  });
  afterAll(async () => {
    await ctx?.close();
    await db?.drop();
  });

  it('creates a user with a normalised email and an argon2id hash, and never returns the hash', async () => {
    const user = await users.createUser({ email: '  Dana@Example.COM ', password: 'a long enough passphrase', roles: ['security'] });
    expect(user).toMatchObject({ email: 'dana@example.com', roles: ['security'], status: 'active', tokensValidAfter: null });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(user)).not.toContain('passwordHash');
    const read = await ctx.get(UserRepository).findById(user.id);
    expect(read && Object.keys(read)).not.toContain('passwordHash');
    const [row] = await ds.query(`SELECT password_hash FROM users WHERE id = $1`, [user.id]);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('refuses an existing email in any case, and changes nothing', async () => {
    const before = await users.count();
    await expect(users.createUser({ email: 'DANA@example.com', password: 'another long passphrase' })).rejects.toMatchObject({ code: 'EMAIL_TAKEN', status: 409 });
    expect(await users.count()).toBe(before);
  });

  it.each([
    ['not-an-email', 'a long enough passphrase', 'INVALID_EMAIL'],
    ['eve@example.com', 'short', 'WEAK_PASSWORD'],
    ['eve@example.com', 'password123', 'WEAK_PASSWORD'],
  ])('refuses %s / %s with %s and writes nothing', async (email, password, code) => {
    const before = await users.count();
    await expect(users.createUser({ email, password })).rejects.toMatchObject({ code });
    expect(await users.count()).toBe(before);
  });

  it('checks a password, and refuses a wrong one or an unknown email', async () => {
    expect((await users.verifyPassword('dana@example.com', 'a long enough passphrase'))?.email).toBe('dana@example.com');
    expect(await users.verifyPassword('dana@example.com', 'a wrong passphrase here')).toBeNull();
    expect(await users.verifyPassword('nobody@example.com', 'a long enough passphrase')).toBeNull();
  });

  it('rehashes on login when the stored hash has older parameters', async () => {
    const old = await hash('an older passphrase', { ...ARGON2_PARAMS, memoryCost: 4096, timeCost: 3 });
    const [{ id }] = await ds.query(`INSERT INTO users (email, password_hash) VALUES ('old@example.com', $1) RETURNING id`, [old]);
    expect(await users.verifyPassword('old@example.com', 'an older passphrase')).toMatchObject({ id });
    const [row] = await ds.query(`SELECT password_hash FROM users WHERE id = $1`, [id]);
    expect(row.password_hash).not.toBe(old);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await users.verifyPassword('old@example.com', 'an older passphrase')).toMatchObject({ id });
  });

  it('lists users page by page with a cursor, and finds them by a part of the email', async () => {
    for (const n of [1, 2, 3]) await users.createUser({ email: `page${n}@list.example`, password: 'a long enough passphrase' });
    const first = await users.list({ q: '@list.', limit: 2 });
    expect(first.items.map((u) => u.email)).toEqual(['page1@list.example', 'page2@list.example']);
    const second = await users.list({ q: '@list.', limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((u) => u.email)).toEqual(['page3@list.example']);
    expect(second.nextCursor).toBeNull();
    expect((await users.list({ q: '%' })).items).toEqual([]);
  });
});
