import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';

const VARIABLE = 'MICROSOFT_CLIENT_CERTIFICATE_FILE';

/** The app's certificate credential: the PEM certificate (uploaded to the app registration) and its private key. */
export interface ClientCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * Reads MICROSOFT_CLIENT_CERTIFICATE_FILE: one PEM file holding the certificate and its unencrypted private key
 * (`cat cert.pem key.pem`). Every problem is a ConfigError naming the variable and what is wrong, never the key.
 */
export function readClientCertificate(file: string): ClientCertificate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(VARIABLE, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const certificatePem = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!certificatePem) throw new ConfigError(VARIABLE, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) throw new ConfigError(VARIABLE, 'holds an encrypted private key: store it unencrypted (openssl pkey -in key.pem -out plain.pem), readable by the daemon only');
  const privateKeyPem = text.match(/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/)?.[0];
  if (!privateKeyPem) throw new ConfigError(VARIABLE, 'holds no private key (-----BEGIN PRIVATE KEY-----): put the certificate and its key in one file');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch {
    throw new ConfigError(VARIABLE, 'holds a certificate that cannot be parsed');
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(privateKeyPem))) throw new Error('mismatch');
  } catch {
    throw new ConfigError(VARIABLE, 'holds a private key that does not belong to its certificate');
  }
  return { certificatePem, privateKeyPem };
}

/** Upper-case hex SHA-256 of the certificate's DER: MSAL's `thumbprintSha256` (Entra matches it against the uploaded certificate). */
export function thumbprintSha256(certificatePem: string): string {
  return createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('hex').toUpperCase();
}
