import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, type Repository } from 'typeorm';
import { Database, type Tx } from '../../infra/database/database.js';
import type { User } from '../user.js';
import { decodeUserCursor, encodeUserCursor, UUID } from '../user-cursor.js';
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

interface Row {
  id: string;
  email: string;
  roles: string[];
  status: User['status'];
  tokens_valid_after: Date | null;
  created_at: Date;
  updated_at: Date;
}

const fromRow = (r: Row): User => ({
  id: r.id,
  email: r.email,
  roles: r.roles,
  status: r.status,
  tokensValidAfter: r.tokens_valid_after ? new Date(r.tokens_valid_after) : null,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

@Injectable()
export class TypeOrmUserRepository extends UserRepository {
  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly db: Database,
  ) {
    super();
  }

  async findById(id: string): Promise<User | null> {
    if (!UUID.test(id)) return null;
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
    const after = cursor ? decodeUserCursor(cursor) : null;
    if (after) qb.andWhere(`(${at}, u.id) > (:at::timestamptz, :id::uuid)`, { at: after[0], id: after[1] });
    const rows = (await qb.getMany()).map(toUser);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? encodeUserCursor(items[items.length - 1]) : null };
  }

  count(): Promise<number> {
    return this.users.count();
  }

  async create(user: NewUser, tx?: Tx): Promise<User> {
    try {
      const [row] = await (tx ?? this.db).query<Row>(
        `INSERT INTO users (email, password_hash, roles) VALUES ($1, $2, $3) RETURNING id, email, roles, status, tokens_valid_after, created_at, updated_at`,
        [user.email.toLowerCase(), user.passwordHash, user.roles],
      );
      return fromRow(row);
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
