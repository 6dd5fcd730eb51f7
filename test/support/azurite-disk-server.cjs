// Azurite with its blobs and metadata on disk (argv: port, folder), for fault tests: stopping it
// (SIGTERM) and starting it again on the same port and folder is an outage, not a data loss.
// Prints {"url": "..."} once listening; exits on SIGTERM or when stdin closes (parent died).
const path = require('node:path');
const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;

async function main() {
  const port = Number(process.argv[2] ?? 0);
  const dir = process.argv[3];
  const config = new BlobConfiguration('127.0.0.1', port, undefined,
    path.join(dir, '__azurite_db_blob__.json'), path.join(dir, '__azurite_db_blob_extent__.json'),
    [{ locationId: 'Default', locationPath: path.join(dir, '__blobstorage__'), maxConcurrency: 10 }],
    false, undefined, false, undefined, true, true, '', '', '', undefined, false, false);
  const server = new BlobServer(config);
  await server.start();
  process.stdout.write(JSON.stringify({ url: server.getHttpServerAddress() }) + '\n');
  const stop = () => server.close().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
