import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Argon2PasswordHasher, PasswordHasher } from '../infra/crypto/password-hasher.js';
import { AdminBootstrapService } from './admin-bootstrap.service.js';
import { UserEntity } from './persistence/user.entity.js';
import { TypeOrmUserCredentialsRepository, TypeOrmUserRepository } from './persistence/typeorm-user.repository.js';
import { UserRevocationRepository } from './persistence/user-revocation.repository.js';
import { UserRevocationPort } from './user.revocation-port.js';
import { UserCredentialsRepository, UserRepository } from './user.repository.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([UserEntity])],
  providers: [
    UsersService,
    AdminBootstrapService,
    { provide: UserRepository, useClass: TypeOrmUserRepository },
    { provide: UserCredentialsRepository, useClass: TypeOrmUserCredentialsRepository },
    { provide: UserRevocationPort, useClass: UserRevocationRepository },
    { provide: PasswordHasher, useClass: Argon2PasswordHasher },
  ],
  exports: [UsersService, UserRepository, PasswordHasher, UserRevocationPort],
})
export class UsersModule {}
