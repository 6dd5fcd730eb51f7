// Runs an Azurite blob service in its own process (its CPU and memory stay apart from ours).
// Prints {"url": "..."} on stdout once listening; exits when stdin closes (parent died) or on
// SIGTERM. Arguments: the port (0 = a free one) and, optionally, a folder: with it, blobs and
// metadata live on disk, so stopping and starting again on the same port and folder is an
// outage, not a data loss (fault tests); without it, everything is in memory.
const path = require('node:path');
const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;

async function main() {
  const port = Number(process.argv[2] ?? 0);
  const dir = process.argv[3];
  // Positional: host, port, keepAlive, metadataDB, extentDB, persistence, accessLog, accessLogStream,
  // debugLog, debugLogPath, loose, skipApiVersionCheck (storage-blob 12.32 sends a newer
  // x-ms-version than Azurite 3.35 knows), cert, key, pwd, oauth, disableProductStyleUrl, inMemory.
  const config = new BlobConfiguration(
    '127.0.0.1',
    port,
    undefined,
    dir ? path.join(dir, '__azurite_db_blob__.json') : undefined,
    dir ? path.join(dir, '__azurite_db_blob_extent__.json') : undefined,
    dir ? [{ locationId: 'Default', locationPath: path.join(dir, '__blobstorage__'), maxConcurrency: 10 }] : undefined,
    false,
    undefined,
    false,
    undefined,
    true,
    true,
    '',
    '',
    '',
    undefined,
    false,
    !dir,
  );
  const server = new BlobServer(config);
  await server.start();
  process.stdout.write(JSON.stringify({ url: server.getHttpServerAddress() }) + '\n');
  const stop = () =>
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
