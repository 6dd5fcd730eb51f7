// The dataPolicyOperation JSON as a response schema: Fastify compiles it into a serializer
// (fast-json-stringify) instead of walking each object with JSON.stringify. Properties left out
// by $select are simply absent; nothing outside the schema can leak into a response.
const nullableString = { type: ['string', 'null'] } as const;

export const OPERATION_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string' },
    progress: { type: 'number' },
    userId: { type: 'string' },
    storageLocation: { type: 'string' },
    submittedDateTime: nullableString,
    completedDateTime: nullableString,
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] },
  },
} as const;

/** GET dataPolicyOperations/{id}: `@odata.context` and the operation. */
export const OPERATION_RESPONSE = {
  200: { ...OPERATION_SCHEMA, properties: { '@odata.context': { type: 'string' }, ...OPERATION_SCHEMA.properties }, required: ['@odata.context'] },
} as const;

/** GET dataPolicyOperations: a page of operations. */
export const OPERATION_PAGE_RESPONSE = {
  200: {
    type: 'object',
    properties: { '@odata.context': { type: 'string' }, value: { type: 'array', items: OPERATION_SCHEMA }, '@odata.nextLink': { type: 'string' } },
    required: ['@odata.context', 'value'],
  },
} as const;
