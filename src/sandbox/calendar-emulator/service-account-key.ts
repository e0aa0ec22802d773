import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** The JSON key file Google issues for a service account (the fields the clients read). */
export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

/** A fresh service account key: an RSA 2048 key pair, the private key as PKCS#8 PEM like Google's key files. */
export function createServiceAccountKey(opts: { clientEmail?: string; projectId?: string } = {}): ServiceAccountKey {
  const projectId = opts.projectId ?? 'emulator-project';
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const suffix = randomBytes(4).toString('hex');
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: opts.clientEmail ?? `emulator-${suffix}@${projectId}.iam.gserviceaccount.com`,
    client_id: String(100_000_000_000_000_000_000n + BigInt(`0x${randomBytes(8).toString('hex')}`)),
    token_uri: 'https://oauth2.googleapis.com/token',
  };
}
