import { Injectable } from '@nestjs/common';
import type { Tx } from '../../infra/database/database.js';
import { ClientRepository } from './client.repository.js';
import { ClientRevocationPort } from './client.revocation-port.js';
import { ClientsService } from './clients.service.js';

@Injectable()
export class ClientRevocationAdapter extends ClientRevocationPort {
  constructor(
    private readonly repo: ClientRepository,
    private readonly clients: ClientsService,
  ) {
    super();
  }

  revoke(tx: Tx, clientId: string): Promise<boolean> {
    return this.repo.revoke(tx, clientId);
  }

  forget(clientId: string): void {
    this.clients.forget(clientId);
  }
}
