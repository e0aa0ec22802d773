import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { createSelfSignedCertificate } from '../../src/sandbox/graph-emulator';

describe('Graph emulator: self-signed certificates', () => {
  const cert = createSelfSignedCertificate({ commonName: 'graph-emulator', altNames: ['localhost', '127.0.0.1', '::1'], validDays: 2 });
  const parsed = new X509Certificate(cert.certificatePem);

  it('is a valid self-signed X.509 certificate for the names asked', () => {
    expect(parsed.subject).toBe('CN=graph-emulator');
    expect(parsed.issuer).toBe(parsed.subject);
    expect(parsed.verify(cert.publicKey)).toBe(true);
    expect(parsed.checkHost('localhost')).toBe('localhost');
    expect(parsed.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(parsed.checkIP('::1')).toBe('::1');
    expect(parsed.ca).toBe(false);
    const days = (Date.parse(parsed.validTo) - Date.parse(parsed.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(2);
  });

  it('names its thumbprints as Entra and MSAL do (hex SHA-1 and SHA-256 of the DER)', () => {
    expect(cert.thumbprintSha1).toBe(parsed.fingerprint.replace(/:/g, ''));
    expect(cert.thumbprintSha256).toBe(parsed.fingerprint256.replace(/:/g, ''));
  });

  it('holds the private key of its public key', () => {
    const fromPem = createPublicKey(createPrivateKey(cert.privateKeyPem)).export({ type: 'spki', format: 'der' });
    expect(Buffer.compare(fromPem, parsed.publicKey.export({ type: 'spki', format: 'der' }))).toBe(0);
  });
});
