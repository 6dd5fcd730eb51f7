import { describe, expect, it } from 'vitest';
import { BLOB_SUFFIX_BY_CLOUD, loadConfig } from '../src/config.ts';
import { isPrivateAddress } from '../src/domain/private-address.ts';
import {
  checkStorageLocation,
  MAX_STORAGE_LOCATION_LENGTH,
  parseStorageLocation,
  redactSasSignatures,
  type StorageRules,
} from '../src/domain/storage-location.ts';
import type { OperationRow } from '../src/domain/operation.ts';
import { BlockedAddressError, isBlockedAddress } from '../src/export/guarded-agent.ts';
import { GraphError } from '../src/graph-error.ts';
import { classifyExportError } from '../src/worker/export-outcome.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const RULES: StorageRules = { blobSuffix: BLOB_SUFFIX_BY_CLOUD.global, allowedOrigins: ['http://127.0.0.1:10000'], minValiditySeconds: 3600 };

function iso(offsetSeconds: number): string {
  return new Date(NOW.getTime() + offsetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A SAS query; pass `null` to leave a parameter out. */
function sas(over: Partial<Record<'sv' | 'sr' | 'sp' | 'se' | 'st' | 'sig', string | null>> = {}): string {
  const p: Record<string, string | null> = { sv: '2025-05-05', sr: 'c', sp: 'racwl', st: iso(-60), se: iso(7200), sig: 'c2VjcmV0LXNpZw%3D%3D', ...over };
  return Object.entries(p)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const url = (base = 'https://acct.blob.core.windows.net/exports', q = sas()) => `${base}?${q}`;

function refusal(raw: unknown, rules: StorageRules = RULES, now = NOW): GraphError {
  try {
    checkStorageLocation(raw, rules, now);
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    const e = err as GraphError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('InvalidStorageLocation');
    return e;
  }
  throw new Error(`accepted: ${String(raw)}`);
}

describe('checkStorageLocation', () => {
  it('accepts a container SAS on the global blob endpoint and names the container without the query', () => {
    const raw = url();
    const target = checkStorageLocation(raw, RULES, NOW);
    expect(target.url).toBe(raw);
    expect(target.container).toBe('https://acct.blob.core.windows.net/exports');
  });

  it('identifies the same container whatever SAS or host case names it', () => {
    const a = checkStorageLocation(url('https://ACCT.blob.core.windows.net/exports', sas({ sig: 'one' })), RULES, NOW);
    const b = checkStorageLocation(url('https://acct.blob.core.windows.net/exports', sas({ sig: 'two', sp: 'cw' })), RULES, NOW);
    expect(a.container).toBe(b.container);
  });

  it('refuses a missing storageLocation', () => {
    for (const raw of [undefined, null, '']) expect(refusal(raw).message).toMatch(/required/);
  });

  it('refuses a non-string', () => {
    for (const raw of [42, { url: url() }, [url()], true]) expect(refusal(raw).message).toMatch(/must be a string/);
  });

  it('refuses what is not an absolute URL', () => {
    for (const raw of ['not a url', '/exports?sig=x', 'acct.blob.core.windows.net/exports?' + sas()]) {
      expect(refusal(raw).message).toMatch(/not an absolute URL/);
    }
  });

  it(`refuses more than ${MAX_STORAGE_LOCATION_LENGTH} characters, and accepts exactly the limit`, () => {
    const base = url();
    const pad = (n: number) => `${base}&x=${'a'.repeat(n - base.length - 3)}`;
    expect(pad(MAX_STORAGE_LOCATION_LENGTH)).toHaveLength(MAX_STORAGE_LOCATION_LENGTH);
    expect(() => checkStorageLocation(pad(MAX_STORAGE_LOCATION_LENGTH), RULES, NOW)).not.toThrow();
    expect(refusal(pad(MAX_STORAGE_LOCATION_LENGTH + 1)).message).toMatch(/longer than 2048/);
  });

  it('refuses user information', () => {
    expect(refusal(url('https://user:pw@acct.blob.core.windows.net/exports')).message).toMatch(/user information/);
    expect(refusal(url('https://user@acct.blob.core.windows.net/exports')).message).toMatch(/user information/);
    expect(refusal(url('http://u:p@127.0.0.1:10000/devstoreaccount1/exports')).message).toMatch(/user information/);
  });

  it('refuses plain http except on an allowed origin', () => {
    expect(refusal(url('http://acct.blob.core.windows.net/exports')).message).toMatch(/must use https \(got http\)/);
    expect(refusal(url('http://127.0.0.1:10001/devstoreaccount1/exports')).message).toMatch(/https/);
    expect(() => checkStorageLocation(url('http://127.0.0.1:10000/devstoreaccount1/exports'), RULES, NOW)).not.toThrow();
  });

  it('refuses file:// and ftp://', () => {
    expect(refusal(`file:///etc/passwd?${sas()}`).message).toMatch(/https \(got file\)/);
    expect(refusal(url('ftp://acct.blob.core.windows.net/exports')).message).toMatch(/https \(got ftp\)/);
  });

  it('refuses hosts that are not <account> + the blob suffix', () => {
    for (const host of [
      'acct.file.core.windows.net',
      'example.com',
      'blob.core.windows.net',
      'a.b.blob.core.windows.net',
      'acct.blob.core.windows.net.evil.com',
      'acctblob.core.windows.net',
      'acct.blob.core.usgovcloudapi.net',
    ]) {
      expect(refusal(url(`https://${host}/exports`)).message, host).toMatch(/not an allowed endpoint/);
    }
  });

  it('refuses a unicode (IDN) host, which is never a storage account name', () => {
    expect(refusal(url('https://аcct.blob.core.windows.net/exports')).message).toMatch(/not an allowed endpoint/);
    expect(refusal(url('https://xn--cct-5cd.blob.core.windows.net/exports')).message).toMatch(/not an allowed endpoint/);
  });

  it('refuses IP literals, naming private ones as such', () => {
    const privateHosts = [
      '127.0.0.1',
      '10.1.2.3',
      '169.254.169.254',
      '[::1]',
      '2130706433',
      '0177.0.0.1',
      '0x7f.1',
      '[::ffff:127.0.0.1]',
      '192.168.0.1',
      '[fe80::1]',
    ];
    for (const host of privateHosts) {
      expect(refusal(url(`https://${host}/exports`)).message, host).toMatch(/loopback, private, link-local or metadata/);
    }
    expect(refusal(url('https://20.60.1.1/exports')).message).toMatch(/not an IP address/);
    expect(refusal(url('https://[2001:4860::1]/exports')).message).toMatch(/not an IP address/);
  });

  it('accepts an IP-literal origin only when it is allowed', () => {
    const rules = { ...RULES, allowedOrigins: ['http://10.0.0.5:10000'] };
    expect(() => checkStorageLocation(url('http://10.0.0.5:10000/devstoreaccount1/exports'), rules, NOW)).not.toThrow();
    expect(refusal(url('http://10.0.0.5:10001/devstoreaccount1/exports'), rules).message).toMatch(/https/);
    expect(refusal(url('https://10.0.0.5/devstoreaccount1/exports'), rules).message).toMatch(/private/);
  });

  it('requires a container path', () => {
    expect(refusal(url('https://acct.blob.core.windows.net/')).message).toMatch(/must name a container: \/<container>/);
    expect(refusal(url('http://127.0.0.1:10000/devstoreaccount1')).message).toMatch(/\/<account>\/<container>/);
    expect(refusal(url('https://acct.blob.core.windows.net/Bad_Name')).message).toMatch(/container name "Bad_Name" is not valid/);
  });

  it('requires sig, sr, sp and se, each by name', () => {
    expect(refusal(url(undefined, sas({ sig: null }))).message).toMatch(/sig parameter is missing/);
    expect(refusal(url(undefined, sas({ sr: null }))).message).toMatch(/no sr parameter/);
    expect(refusal(url(undefined, sas({ sp: null }))).message).toMatch(/create \(c\) and write \(w\) permissions \(sp=missing\)/);
    expect(refusal(url(undefined, sas({ se: null }))).message).toMatch(/no expiry \(se\)/);
    expect(refusal(url(undefined, sas({ se: 'soon' }))).message).toMatch(/se=soon\) is not a date/);
  });

  it('refuses a blob SAS (sr=b) and other resource types', () => {
    expect(refusal(url('https://acct.blob.core.windows.net/exports/file.json', sas({ sr: 'b' }))).message).toMatch(/sr=b/);
    expect(refusal(url(undefined, sas({ sr: 's' }))).message).toMatch(/container SAS \(sr=c\)/);
  });

  it('refuses a SAS without create or write permission, naming the missing one', () => {
    expect(refusal(url(undefined, sas({ sp: 'rl' }))).message).toMatch(/create \(c\) and write \(w\) permissions \(sp=rl\)/);
    expect(refusal(url(undefined, sas({ sp: 'rwl' }))).message).toMatch(/lacks the create \(c\) permission \(sp=rwl\)/);
    expect(refusal(url(undefined, sas({ sp: 'rcl' }))).message).toMatch(/lacks the write \(w\) permission/);
    expect(() => checkStorageLocation(url(undefined, sas({ sp: 'cw' })), RULES, NOW)).not.toThrow();
  });

  it('refuses an expired SAS and one expiring sooner than the minimum validity', () => {
    expect(refusal(url(undefined, sas({ se: iso(-1) }))).message).toMatch(/has expired/);
    expect(refusal(url(undefined, sas({ se: iso(0) }))).message).toMatch(/has expired/);
    expect(refusal(url(undefined, sas({ se: iso(3599) }))).message).toMatch(/expires too soon: .* at least 60 minutes/);
    expect(() => checkStorageLocation(url(undefined, sas({ se: iso(3600) })), RULES, NOW)).not.toThrow();
    const strict = { ...RULES, minValiditySeconds: 4 * 3600 };
    expect(refusal(url(undefined, sas({ se: iso(3 * 3600) })), strict).message).toMatch(/at least 240 minutes/);
  });

  it('refuses a SAS whose start time is in the future (beyond clock skew)', () => {
    expect(refusal(url(undefined, sas({ st: iso(3600) }))).message).toMatch(/not valid yet: its start time \(st\)/);
    expect(refusal(url(undefined, sas({ st: 'tomorrow' }))).message).toMatch(/st=tomorrow\) is not a date/);
    expect(() => checkStorageLocation(url(undefined, sas({ st: iso(60) })), RULES, NOW)).not.toThrow();
    expect(() => checkStorageLocation(url(undefined, sas({ st: null })), RULES, NOW)).not.toThrow();
  });

  it('refuses a container SAS that names a path inside the container', () => {
    expect(refusal(url('https://acct.blob.core.windows.net/exports/dir')).message).toMatch(/container SAS \(sr=c\) but names a path/);
  });

  it('accepts a directory SAS (sr=d) on a directory, and identifies the directory', () => {
    const t = checkStorageLocation(url('https://acct.blob.core.windows.net/exports/case-17/a', sas({ sr: 'd' })), RULES, NOW);
    expect(t.container).toBe('https://acct.blob.core.windows.net/exports/case-17/a');
    expect(refusal(url(undefined, sas({ sr: 'd' }))).message).toMatch(/directory SAS \(sr=d\) but names no directory/);
  });

  it('accepts an Azurite-style allowed origin with /account/container', () => {
    const t = checkStorageLocation(url('http://127.0.0.1:10000/devstoreaccount1/exports'), RULES, NOW);
    expect(t.container).toBe('http://127.0.0.1:10000/devstoreaccount1/exports');
    expect(refusal(url('http://127.0.0.1:10000/devstoreaccount1/exports/dir')).message).toMatch(/names a path/);
  });

  it('uses the blob suffix of the configured cloud', () => {
    for (const [cloud, host] of [
      ['usgov', 'acct.blob.core.usgovcloudapi.net'],
      ['usgovdod', 'acct.blob.core.usgovcloudapi.net'],
      ['china', 'acct.blob.core.chinacloudapi.cn'],
    ] as const) {
      const config = loadConfig({ DSR_CLOUD: cloud });
      const rules = { ...RULES, blobSuffix: BLOB_SUFFIX_BY_CLOUD[config.cloud] };
      expect(() => checkStorageLocation(url(`https://${host}/exports`), rules, NOW), cloud).not.toThrow();
      expect(refusal(url('https://acct.blob.core.windows.net/exports'), rules).message).toContain(BLOB_SUFFIX_BY_CLOUD[cloud]);
    }
    expect(() => loadConfig({ DSR_CLOUD: 'mars' })).toThrow(/DSR_CLOUD/);
  });
});

describe('parseStorageLocation', () => {
  it('splits what checkStorageLocation accepted the same way, container identity included', () => {
    for (const raw of [
      url('https://ACCT.blob.core.windows.net/exports'),
      url('https://acct.blob.core.windows.net/exports/case%2017/a', sas({ sr: 'd' })),
      url('http://127.0.0.1:10000/devstoreaccount1/exports'),
    ]) {
      expect(parseStorageLocation(raw, RULES.allowedOrigins), raw).toEqual(checkStorageLocation(raw, RULES, NOW));
    }
  });

  it('reads /account/container on an allowed origin, an IP or localhost; /container elsewhere', () => {
    const azure = parseStorageLocation(url('https://acct.blob.core.windows.net/exports/case-17/a', sas({ sr: 'd' })), []);
    expect(azure).toMatchObject({ pathStyle: false, prefix: 'case-17/a/', hostname: 'acct.blob.core.windows.net' });
    expect(azure.containerUrl).toBe(url('https://acct.blob.core.windows.net/exports', sas({ sr: 'd' })));
    expect(azure.sas).toEqual({ permissions: 'racwl', expiresAt: new Date(iso(7200)) });
    for (const base of ['http://127.0.0.1:10000', 'http://[::1]:10000', 'http://localhost:10000', 'http://azurite:10000']) {
      const p = parseStorageLocation(url(`${base}/devstoreaccount1/exports/dir`, sas({ sr: 'd' })), ['http://azurite:10000']);
      expect(p, base).toMatchObject({ pathStyle: true, prefix: 'dir/' });
      expect(p.containerUrl, base).toBe(url(`${base}/devstoreaccount1/exports`, sas({ sr: 'd' })));
    }
    expect(parseStorageLocation(url('http://[::1]:10000/devstoreaccount1/exports'), []).hostname).toBe('::1');
  });
});

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '[::1]',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '[::ffff:a9fe:a9fe]',
    '0:0:0:0:0:ffff:7f00:1',
    '64:ff9b::7f00:1',
    '::7f00:1',
    '2002:7f00:1::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '168.63.129.16',
    '::ffff:168.63.129.16',
    '[::ffff:a83f:8110]',
    'fec0::1',
    'feff:ffff::1',
    '[fec0::a:b]',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '20.60.1.1',
    '8.8.8.8',
    '168.63.129.15',
    '168.63.129.17',
    'fe7f::1',
    '172.32.0.1',
    '192.169.0.1',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    'acct.blob.core.windows.net',
    '',
    'localhost',
  ])('%s is not a private address', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});

describe('redactSasSignatures', () => {
  it('replaces the value of sig only', () => {
    expect(redactSasSignatures('https://a.blob.core.windows.net/c?sv=1&sig=abc%2Bdef%3D&sp=cw')).toBe(
      'https://a.blob.core.windows.net/c?sv=1&sig=REDACTED&sp=cw',
    );
    expect(redactSasSignatures('https://a.blob.core.windows.net/c?sig=abc')).toBe('https://a.blob.core.windows.net/c?sig=REDACTED');
  });

  it('redacts every sig, in any case and percent-encoded spelling', () => {
    const out = redactSasSignatures('https://a.blob.core.windows.net/c?SIG=one&sr=c&sig=two&%73ig=three&%53%49%47=four');
    for (const secret of ['one', 'two', 'three', 'four']) expect(out).not.toContain(secret);
    expect(out).toContain('sr=c');
  });

  it('leaves a URL without sig unchanged, and does not touch similarly named parameters', () => {
    expect(redactSasSignatures('https://a.blob.core.windows.net/c?sv=1&sp=cw')).toBe('https://a.blob.core.windows.net/c?sv=1&sp=cw');
    expect(redactSasSignatures('https://a.blob.core.windows.net/c?xsig=keep&sig=drop')).toBe('https://a.blob.core.windows.net/c?xsig=keep&sig=REDACTED');
  });
});

describe('a host the DNS guard refused', () => {
  const refused = new BlockedAddressError('rebind.example', '10.0.0.7');
  // What the storage SDK can make of it: a RestError that keeps the message, not the code.
  const wrapped = Object.assign(new Error(`request failed: ${refused.message}`), { name: 'RestError', code: 'REQUEST_SEND_ERROR' });

  it('is recognised by its code or, wrapped, by its message; other network failures are not', () => {
    expect(isBlockedAddress(refused)).toBe(true);
    expect(isBlockedAddress(wrapped)).toBe(true);
    expect(isBlockedAddress(Object.assign(new Error('getaddrinfo ENOTFOUND x.example'), { code: 'ENOTFOUND' }))).toBe(false);
    expect(isBlockedAddress({ statusCode: 503, message: 'Server busy' })).toBe(false);
    expect(isBlockedAddress(undefined)).toBe(false);
  });

  it('fails the export with InvalidStorageLocation naming the host, wrapped or not', () => {
    const op = { storage_location: 'https://rebind.example/c?sv=2022-11-02&sr=c&sp=cw&se=2099-01-01T00:00:00Z&sig=abc' } as OperationRow;
    for (const err of [refused, wrapped]) {
      const failure = classifyExportError(err, op, undefined, { storageAllow: [] });
      expect(failure).toMatchObject({ kind: 'permanent', code: 'InvalidStorageLocation' });
      expect(failure.message).toContain('rebind.example');
    }
  });
});
