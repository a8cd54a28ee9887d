import { nextStep, withJitter } from './delivery-worker.js';

describe('nextStep: what an attempt leads to', () => {
  const delays = [5, 30, 120];

  it('delivers on any 2xx', () => {
    for (const status of [200, 202, 204, 299]) expect(nextStep({ status }, 1, false, delays)).toEqual({ status: 'delivered', gone: false });
  });

  it('retries anything else while delays remain, with the delay of that attempt', () => {
    expect(nextStep({ status: 500 }, 1, false, delays)).toEqual({ status: 'retrying', retryInSeconds: 5, gone: false });
    expect(nextStep({ status: null }, 2, false, delays)).toEqual({ status: 'retrying', retryInSeconds: 30, gone: false });
    expect(nextStep({ status: 301 }, 3, false, delays)).toEqual({ status: 'retrying', retryInSeconds: 120, gone: false });
    expect(nextStep({ status: 429 }, 4, false, delays)).toEqual({ status: 'failed', gone: false });
  });

  it('gives up at once on 410 Gone, and after a manual attempt', () => {
    expect(nextStep({ status: 410 }, 1, false, delays)).toEqual({ status: 'failed', gone: true });
    expect(nextStep({ status: 503 }, 7, true, delays)).toEqual({ status: 'failed', gone: false });
  });
});

describe('withJitter', () => {
  it('spreads a delay by a fifth either way', () => {
    expect(withJitter(10, () => 0)).toBe(8000);
    expect(withJitter(10, () => 0.5)).toBe(10000);
    expect(withJitter(10, () => 0.999999)).toBeCloseTo(12000, -1);
  });
});
