import { randomBytes } from 'node:crypto';
import { createSecretKeys, installSecretKeys } from '../../src/secrets/secret-keys.ts';

// What `serve` and `worker` do at start-up, for tests that build the app and the worker
// themselves: one key per test process, shared by the app and worker of that process.
installSecretKeys(createSecretKeys([randomBytes(32)]));
