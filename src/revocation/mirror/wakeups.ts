/**
 * A wait that one of many can end: `wake` is added to `waiters` (whoever makes progress calls them
 * all), and `settled` resolves at the first call of it while `ready()` holds, or after `ms`. The
 * waiter leaves the set once settled.
 */
export function wakeable(waiters: Set<() => void>, ms: number, ready: () => boolean = () => true): { settled: Promise<void>; wake: () => void } {
  let done!: () => void;
  const settled = new Promise<void>((resolve) => {
    done = () => {
      clearTimeout(timer);
      waiters.delete(wake);
      resolve();
    };
  });
  const wake = () => {
    if (ready()) done();
  };
  const timer = setTimeout(done, ms);
  waiters.add(wake);
  return { settled, wake };
}
