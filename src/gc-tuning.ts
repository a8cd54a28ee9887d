import { setFlagsFromString } from 'node:v8';

/**
 * Imported first by main.ts, before the app's code runs. V8 "pretenures" an allocation site whose
 * objects often survive a young-generation collection: it allocates them straight into the old
 * generation. Under steady request load some per-request sites cross that threshold; their objects
 * then die in the old generation (heap growth of ~2.6 MB per scavenge at 6,000 req/s), and every
 * scavenge must trace the old-to-new pointers they leave (6.3 ms median pauses). With pretenuring off
 * the same load grows the old generation by ~0.6 MB per scavenge and the median pause is ~2.4 ms
 * (`--trace-gc`, docs/performance.md). The flag is read when V8 processes pretenuring feedback, so
 * setting it at start-up takes effect.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
