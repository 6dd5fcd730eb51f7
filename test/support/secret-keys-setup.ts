import { randomBytes } from 'node:crypto';
import { createSecretKeys, installSecretKeys } from '../../src/secrets/secret-keys.ts';

// What `serve` and `worker` do at start-up, for tests that build the app and the worker
// themselves: one key per test process. Exported as DSR_SECRET_KEY too, so that the dsr-export
// processes a test spawns (they inherit the environment) open what this process queued.
const key = randomBytes(32);
process.env.DSR_SECRET_KEY = key.toString('base64');
installSecretKeys(createSecretKeys([key]));
