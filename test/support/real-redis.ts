/**
 * Tests that mean nothing without a real Redis (two instances sharing it, Redis losing its data or
 * going away) stand aside when REDIS_URL is unset, and say so. CI always sets it.
 */
export const withRealRedis = (name: string, body: () => void): void => {
  if (process.env.REDIS_URL) {
    describe(name, body);
    return;
  }
  console.warn(`[stands aside] "${name}" needs a real Redis: set REDIS_URL (CI does).`);
  const standAside = describe.skip;
  standAside(name, body);
};
