/**
 * Runs `task` every `intervalSeconds` until stopped, one round at a time (a slow round delays the
 * next instead of overlapping it); a failed round goes to `onError` and the next one runs anyway.
 * The timer does not keep the process alive; stop() waits for a round in progress.
 */
export function startPeriodicTask(
  task: () => Promise<unknown>,
  opts: { intervalSeconds: number; onError?: ((err: unknown) => void) | undefined },
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(task).catch((err: unknown) => opts.onError?.(err));
  }, opts.intervalSeconds * 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
