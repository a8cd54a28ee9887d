import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, type Repository } from 'typeorm';
import type { User } from '../user.js';
import { type NewUser, UserCredentialsRepository, type UserPage, UserRepository } from '../user.repository.js';
import { emailTaken } from '../users.errors.js';
import { UserEntity } from './user.entity.js';

export function toUser(e: UserEntity): User {
  return {
    id: e.id,
    email: e.email,
    roles: e.roles,
    status: e.status,
    tokensValidAfter: e.tokensValidAfter,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

const encodeCursor = (u: User) => Buffer.from(JSON.stringify([u.createdAt.toISOString(), u.id])).toString('base64url');
function decodeCursor(cursor: string): [string, string] | null {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    return typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)) ? [at, id] : null;
  } catch {
    return null;
  }
}

@Injectable()
export class TypeOrmUserRepository extends UserRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {
    super();
  }

  async findById(id: string): Promise<User | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const e = await this.users.findOneBy({ id });
    return e ? toUser(e) : null;
  }

  async findByEmail(email: string): Promise<User | null> {
    const e = await this.users.findOneBy({ email: email.toLowerCase() });
    return e ? toUser(e) : null;
  }

  async list({ q, cursor, limit }: { q?: string; cursor?: string; limit: number }): Promise<UserPage> {
    // Cursors carry JavaScript's millisecond time: compare at that precision, not PostgreSQL's microseconds.
    const at = `date_trunc('milliseconds', u.created_at)`;
    const qb = this.users.createQueryBuilder('u').orderBy(at, 'ASC').addOrderBy('u.id', 'ASC').limit(limit + 1);
    if (q) qb.andWhere(`u.email LIKE :q ESCAPE '\\'`, { q: `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` });
    const after = cursor ? decodeCursor(cursor) : null;
    if (after) qb.andWhere(`(${at}, u.id) > (:at::timestamptz, :id::uuid)`, { at: after[0], id: after[1] });
    const rows = (await qb.getMany()).map(toUser);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null };
  }

  count(): Promise<number> {
    return this.users.count();
  }

  async create(user: NewUser): Promise<User> {
    try {
      const saved = await this.users.save(this.users.create({ email: user.email.toLowerCase(), passwordHash: user.passwordHash, roles: user.roles }));
      const e = await this.users.findOneByOrFail({ id: saved.id });
      return toUser(e);
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string })?.code === '23505') throw emailTaken(user.email);
      throw err;
    }
  }
}

@Injectable()
export class TypeOrmUserCredentialsRepository extends UserCredentialsRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {
    super();
  }

  async findCredentials(email: string): Promise<{ user: User; passwordHash: string } | null> {
    const e = await this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email: email.toLowerCase() })
      .getOne();
    return e?.passwordHash ? { user: toUser(e), passwordHash: e.passwordHash } : null;
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.users.update({ id: userId }, { passwordHash, updatedAt: () => 'now()' });
  }
}
