import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked } from '../tools/run.ts';

/** Paths of the PKI files a control plane needs, all inside one folder. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  /** Admin client identity: CN=dtk-admin, O=system:masters, so RBAC lets it do anything. */
  adminCert: string;
  adminKey: string;
  /** Key pair that signs and verifies service-account tokens. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Name the admin client certificate carries; RBAC sees it as a member of system:masters. */
export const ADMIN_USER = 'dtk-admin';

const DAYS = '3650';

/**
 * Generates a throw-away CA, a serving certificate for the API server on loopback, an admin client certificate and
 * a service-account key pair with openssl (present on this machine kind; Node's crypto cannot issue X.509
 * certificates). EC keys keep this fast: the whole set takes well under a second.
 */
export async function generatePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const pki: Pki = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  // Our own config file so the CA extensions are exactly these (the system openssl.cnf differs between distros).
  writeFileSync(
    p('ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = ca',
      'prompt = no',
      '[dn]',
      'CN = dtk-test-ca',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await runChecked('openssl', ['req', '-x509', ...ec, '-keyout', pki.caKey, '-out', pki.caCert, '-days', DAYS, '-config', p('ca.cnf')]);

  await issue(pki, 'apiserver', '/CN=kube-apiserver', pki.servingKey, pki.servingCert, [
    'basicConstraints = CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    // 10.0.0.1 is the first address of --service-cluster-ip-range: the in-cluster `kubernetes` service.
    'subjectAltName = IP:127.0.0.1, IP:10.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, ' +
      'DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local',
  ]);
  await issue(pki, 'admin', `/O=system:masters/CN=${ADMIN_USER}`, pki.adminKey, pki.adminCert, [
    'basicConstraints = CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = clientAuth',
  ]);

  await runChecked('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pki.serviceAccountKey]);
  await runChecked('openssl', ['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  return pki;
}

async function issue(pki: Pki, name: string, subject: string, keyPath: string, certPath: string, extensions: string[]) {
  const csr = join(pki.dir, `${name}.csr`);
  const ext = join(pki.dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join('\n')}\n`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runChecked('openssl', ['req', '-new', ...ec, '-keyout', keyPath, '-out', csr, '-subj', subject]);
  await runChecked('openssl', [
    'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-days', DAYS, '-out', certPath,
    '-extfile', ext, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
  ]);
}

/** Reads a PEM file as base64, the form kubeconfig's `*-data` fields take. */
export function pemBase64(path: string): string {
  return readFileSync(path).toString('base64');
}
