import { createClient, createUser, login, type TestClient } from './fixtures.js';
import type { TestApp } from './test-app.js';

export interface StaffApi {
  staff: Awaited<ReturnType<typeof createUser>>;
  client: TestClient;
  /** A JSON call with a fresh token of the staff member; answers the status and the parsed body. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/** A staff member (`admin` by default) of the app, calling the admin API over HTTP. */
export async function staffApi(t: TestApp, roles: string[] = ['admin']): Promise<StaffApi> {
  const client = await createClient(t.app);
  const staff = await createUser(t.app, { roles });
  return {
    staff,
    client,
    async call(method, path, body) {
      const token = (await login(t, client, staff)).access_token;
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}
