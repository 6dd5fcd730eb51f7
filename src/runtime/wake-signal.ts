/**
 * A loop's wake-up: `wait(ms)` resolves after `ms` or at the next `wake()`, whichever comes first.
 * A wake that arrives while the loop is busy is kept, so the next `wait` returns at once; the
 * loop calls `reset()` when it starts looking for work, because that look covers earlier wakes.
 */
export interface WakeSignal {
  /** A plain function (the state lives in a closure, not on `this`): callers pass it around unbound. */
  readonly wake: () => void;
  wait(ms: number): Promise<void>;
  reset(): void;
}

export function createWakeSignal(): WakeSignal {
  let pending = false;
  let wakeUp: (() => void) | undefined;
  return {
    wake() {
      pending = true;
      wakeUp?.();
    },
    wait: (ms) =>
      new Promise<void>((resolve) => {
        if (pending) return resolve();
        const t = setTimeout(() => done(), ms);
        const done = () => {
          clearTimeout(t);
          wakeUp = undefined;
          resolve();
        };
        wakeUp = done;
      }),
    reset() {
      pending = false;
    },
  };
}
