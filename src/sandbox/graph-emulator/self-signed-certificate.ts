/**
 * Self-signed X.509 certificates, written in DER by hand (node:crypto can parse certificates but not make them):
 * the emulator's HTTPS certificate (MSAL only accepts https:// authorities) and app certificates for the
 * certificate credential of the client-credentials grant. RSA-2048, SHA-256 with RSA.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedCertificate {
  /** PEM "CERTIFICATE". */
  certificatePem: string;
  /** PEM PKCS#8 "PRIVATE KEY". */
  privateKeyPem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Upper-case hex SHA-1 of the DER (what Entra shows as the thumbprint; MSAL's `thumbprint`). */
  thumbprintSha1: string;
  /** Upper-case hex SHA-256 of the DER (MSAL's `thumbprintSha256`). */
  thumbprintSha256: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const NULL = Buffer.from([0x05, 0x00]);

function integer(bytes: Buffer): Buffer {
  const positive = bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(0x02, positive);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [parts[0] * 40 + parts[1]];
  for (const part of parts.slice(2)) {
    const chunk = [part & 0x7f];
    for (let v = part >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), NULL);

function subjectAltNames(names: readonly string[]): Buffer {
  const general = names.map((name) => {
    const version = isIP(name);
    if (version === 4) return tlv(0x87, Buffer.from(name.split('.').map(Number)));
    if (version === 6) return tlv(0x87, ipv6Bytes(name));
    return tlv(0x82, Buffer.from(name, 'ascii'));
  });
  return sequence(oid('2.5.29.17'), octets(sequence(...general)));
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

export function createSelfSignedCertificate(
  opts: { commonName?: string; altNames?: readonly string[]; validDays?: number; now?: number } = {},
): SelfSignedCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = opts.now ?? Date.now();
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8(opts.commonName ?? 'graph-emulator'))));
  const extensions = [sequence(oid('2.5.29.19'), octets(sequence()))]; // basicConstraints: not a CA
  if (opts.altNames?.length) extensions.push(subjectAltNames(opts.altNames));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    SHA256_WITH_RSA,
    name,
    sequence(time(now - 60_000), time(now + (opts.validDays ?? 30) * 86_400_000)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, sequence(...extensions)),
  );
  const der = sequence(tbs, SHA256_WITH_RSA, bitString(sign('sha256', tbs, privateKey)));
  const certificatePem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  // Parse it back: a malformed encoding fails here, not in a TLS handshake.
  const parsed = new X509Certificate(certificatePem);
  if (!parsed.verify(publicKey)) throw new Error('self-signed certificate does not verify');
  return {
    certificatePem,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKey,
    publicKey,
    thumbprintSha1: createHash('sha1').update(der).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}
