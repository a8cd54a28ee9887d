import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/config.schema.js';
import { Database, DatabaseEndpoint } from './database.js';
import { dataSourceOptions } from './data-source.js';
import { TypeOrmDatabase } from './typeorm-database.js';

@Global()
@Module({})
export class DatabaseModule {
  /** Connects to `url` (a real server or the embedded one) and migrates it when MIGRATIONS_RUN is on. */
  static forRoot(url: string): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(url, config.databasePoolSize),
            migrationsRun: config.migrationsRun,
            autoLoadEntities: true,
            retryAttempts: 0,
          }),
        }),
      ],
      providers: [
        { provide: Database, useClass: TypeOrmDatabase },
        { provide: DatabaseEndpoint, useValue: { url } satisfies DatabaseEndpoint },
      ],
      exports: [Database, DatabaseEndpoint],
    };
  }
}
