// Runs an in-memory Azurite blob service in its own process (its CPU and memory stay apart from
// ours). Prints {"url": "..."} on stdout once listening; exits when stdin closes (parent died) or
// on SIGTERM. Argument: the port (0 = a free one).
const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;

async function main() {
  const port = Number(process.argv[2] ?? 0);
  // Positional: host, port, keepAlive, metadataDB, extentDB, persistence, accessLog, accessLogStream,
  // debugLog, debugLogPath, loose, skipApiVersionCheck (storage-blob 12.32 sends a newer
  // x-ms-version than Azurite 3.35 knows), cert, key, pwd, oauth, disableProductStyleUrl, inMemory.
  const config = new BlobConfiguration('127.0.0.1', port, undefined, undefined, undefined, undefined,
    false, undefined, false, undefined, true, true, '', '', '', undefined, false, true);
  const server = new BlobServer(config);
  await server.start();
  process.stdout.write(JSON.stringify({ url: server.getHttpServerAddress() }) + '\n');
  const stop = () => server.close().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
