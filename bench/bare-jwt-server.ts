// The API benchmark's baseline: a bare Fastify route doing the same JWT verification (jose,
// RS256, the local issuer's key) and answering like the real routes, with no database.
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadLocalIssuer } from '../src/auth/local-issuer.ts';

const dataDir = process.argv[2]!;
const issuer = await loadLocalIssuer(dataDir);
const keys = createLocalJWKSet(issuer.jwks);
const app = Fastify({ logger: false });
app.addHook('onRequest', async (request) => {
  const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
  await jwtVerify(token, keys, { issuer: issuer.issuer, audience: issuer.audience, algorithms: ['RS256'] });
});
app.post('/v1.0/users/:id/exportPersonalData', async (_request, reply) =>
  reply.code(202).header('location', 'http://127.0.0.1/v1.0/dataPolicyOperations/x').header('retry-after', '5').send());
app.get('/v1.0/dataPolicyOperations/:id', async () => ({ id: 'x', status: 'notStarted', progress: 0 }));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
