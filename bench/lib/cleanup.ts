/**
 * Everything a bench run must undo (server processes, databases, Redis keys, temp dirs), undone in
 * reverse order at the end of the run, on an error, and on SIGINT/SIGTERM.
 */
type Step = { what: string; undo: () => Promise<void> | void };

const steps: Step[] = [];
let running: Promise<void> | undefined;

/** Registers an undo step; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(what: string, undo: Step['undo']): () => Promise<void> {
  const step: Step = { what, undo };
  steps.push(step);
  let done: Promise<void> | undefined;
  return () => {
    const i = steps.indexOf(step);
    if (i >= 0) steps.splice(i, 1);
    done ??= runStep(step);
    return done;
  };
}

async function runStep(step: Step): Promise<void> {
  try {
    await step.undo();
  } catch (err) {
    process.stderr.write(`bench: cleanup failed (${step.what}): ${(err as Error).message}\n`);
  }
}

/** Runs every registered step, newest first. Safe to call more than once. */
export function cleanupAll(): Promise<void> {
  running ??= (async () => {
    while (steps.length) await runStep(steps.pop()!);
  })().finally(() => {
    running = undefined;
  });
  return running;
}

let installed = false;

/** On SIGINT/SIGTERM: clean up, then exit 130/143. */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      void cleanupAll().finally(() => process.exit(code));
    });
  }
}
