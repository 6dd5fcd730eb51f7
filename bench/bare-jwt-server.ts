// The API benchmark's baselines: a bare Fastify route with the same JWT verification (jose,
// RS256, the local issuer's key), run as a user would run it: Fastify's own logger at the default
// level (info: a line per request and per response) and verified tokens kept until they expire,
// as the service keeps them.
//   bare-jwt-server.ts <dataDir>                       no database: the physical-limit reference
//   bare-jwt-server.ts <dataDir> <databaseUrl> <pool>  the fair baselines: the POST inserts one row
//     as wide as an operation row (`INSERT … RETURNING *`, committed), the GET selects one row by
//     primary key, through a pool of the service's size; both statements prepared once per connection.
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadLocalIssuer } from '../src/auth/local-issuer.ts';
import { createPool } from '../src/db/pool.ts';
import { BASELINE_TABLE } from './lib.ts';

const [dataDir, databaseUrl, poolSize] = process.argv.slice(2);
const issuer = await loadLocalIssuer(dataDir!);
const keys = createLocalJWKSet(issuer.jwks);
const db = databaseUrl ? createPool(databaseUrl, Number(poolSize ?? 20)) : undefined;
const verified = new Map<string, number>();
// A sealed SAS URL is about this long (AES-GCM of the URL, base64): the row is as wide as ours.
const sealedStandIn = randomBytes(240).toString('base64');

const app = Fastify({ logger: { level: 'info' } });
app.addHook('onRequest', async (request) => {
  const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
  const expiresMs = verified.get(token);
  if (expiresMs !== undefined && Date.now() < expiresMs) return;
  const { payload } = await jwtVerify(token, keys, { issuer: issuer.issuer, audience: issuer.audience, algorithms: ['RS256'] });
  verified.set(token, (payload.exp ?? 0) * 1000);
});
app.post<{ Params: { id: string }; Body: { storageLocation: string } }>('/v1.0/users/:id/exportPersonalData', async (request, reply) => {
  let id = 'x';
  if (db) {
    const url = new URL(request.body.storageLocation);
    const { rows } = await db.query<{ id: string }>({
      name: 'insert',
      text: `insert into ${BASELINE_TABLE}
         (id, tenant_id, user_id, user_principal_name, storage_location, storage_location_sealed, storage_container, status, requested_by, submitted_at, next_attempt_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'notStarted', $8, $9, $9) returning *`,
      values: [
        randomUUID(),
        randomUUID(),
        request.params.id,
        'bench@contoso.com',
        request.body.storageLocation,
        sealedStandIn,
        url.pathname.split('/')[1],
        { kind: 'application', appId: randomUUID(), oid: randomUUID() },
        new Date(),
      ],
    });
    id = rows[0]!.id;
  }
  return reply.code(202).header('location', `http://127.0.0.1/v1.0/dataPolicyOperations/${id}`).header('retry-after', '5').send();
});
app.get<{ Params: { id: string } }>('/v1.0/dataPolicyOperations/:id', async (request) => {
  if (!db) return { id: 'x', status: 'notStarted', progress: 0 };
  const { rows } = await db.query({ name: 'select', text: `select * from ${BASELINE_TABLE} where id = $1`, values: [request.params.id] });
  return rows[0];
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
process.once(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => db?.end())
      .then(() => process.exit(0)),
);
