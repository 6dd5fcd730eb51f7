// Live updates by polling the Graph routes. A browser cannot receive change notifications
// (webhooks need a public HTTPS endpoint that the service calls), so a screen asks again while
// something runs: soon at first, then less often, paused while the tab is hidden, and given up
// after a deadline (the screen then says so and offers Refresh).

const FIRST_MS = 1000;
const MAX_MS = 10_000;
const DEADLINE_MS = 30 * 60_000;
const MAX_FAILURES = 5;

/**
 * Calls `tick()` until it returns false ("nothing runs any more"), `anchor` leaves the page (the
 * screen was replaced), the deadline passes or it failed MAX_FAILURES times in a row. The wait
 * starts at FIRST_MS, resets when `tick` returns 'changed' and grows by half up to MAX_MS
 * otherwise. `onStop(reason)` hears of a stop other than the normal end ('deadline', an error).
 * Returns a function that stops it.
 */
export function poll(anchor, tick, onStop = () => {}) {
  const started = Date.now();
  let wait = FIRST_MS;
  let failures = 0;
  let timer = null;
  let stopped = false;
  let busy = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  };
  const schedule = () => {
    clearTimeout(timer);
    if (!stopped && !document.hidden) timer = setTimeout(run, wait);
  };
  const run = async () => {
    if (stopped || busy) return;
    if (!anchor.isConnected) return stop();
    if (Date.now() - started > DEADLINE_MS) {
      stop();
      return onStop('deadline');
    }
    busy = true;
    try {
      const result = await tick();
      failures = 0;
      if (result === false) return stop();
      wait = result === 'changed' ? FIRST_MS : Math.min(MAX_MS, Math.round(wait * 1.5));
    } catch (err) {
      failures += 1;
      wait = Math.min(MAX_MS, wait * 2);
      if (failures >= MAX_FAILURES) {
        stop();
        return onStop(err);
      }
    } finally {
      busy = false;
    }
    schedule();
  };
  // Hidden tabs ask nothing; back in view, ask at once.
  function onVisibility() {
    if (stopped) return;
    if (!anchor.isConnected) return stop();
    if (document.hidden) clearTimeout(timer);
    else {
      clearTimeout(timer);
      run();
    }
  }
  document.addEventListener('visibilitychange', onVisibility);
  schedule();
  return stop;
}
