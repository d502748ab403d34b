// Certificates for TLS tests, made with openssl at test time in a temp dir: a CA, a server
// certificate for 127.0.0.1 and localhost, client certificates (with any subject), an expired
// one, and a CRL revoking a chosen one. EC P-256 keys: quick to make on a busy machine.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'

export interface TestCertificates {
  dir: string
  /** Path of a file in the dir: `ca.crt`, `server.key`, `alice.crt`... */
  file: (name: string) => string
  /** A client certificate and key, `<name>.crt` and `<name>.key`, signed by the CA. */
  client: (name: string, subject: string, options?: { expired?: boolean }) => void
  /** Writes `crl.pem`, revoking the named client certificates. */
  revoke: (...names: string[]) => void
  /** A second server certificate (`<name>.crt`, `<name>.key`) with another subject, for reload tests. */
  server: (name: string, subject: string) => void
}

/** Makes `ca.crt`/`ca.key` and `server.crt`/`server.key` (CN=localhost, SAN 127.0.0.1 and localhost) in dir. */
export function makeCertificates (dir: string): TestCertificates {
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }) }
  const key = (name: string): void => run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`)
  // `openssl ca` keeps its records in files: an index of issued certificates and the CA's settings.
  writeFileSync(path.join(dir, 'index.txt'), '')
  writeFileSync(path.join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = test_ca', '[test_ca]', `dir = ${dir}`, 'database = $dir/index.txt',
    'new_certs_dir = $dir', 'certificate = $dir/ca.crt', 'private_key = $dir/ca.key', 'serial = $dir/serial',
    'default_md = sha256', 'default_crl_days = 2', 'policy = anything', 'unique_subject = no', 'copy_extensions = copy',
    '[anything]', 'commonName = optional', 'countryName = optional', 'organizationName = optional',
    'organizationalUnitName = optional', 'stateOrProvinceName = optional', 'localityName = optional', 'userId = optional', ''
  ].join('\n'))
  writeFileSync(path.join(dir, 'serial'), '1000\n')
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  key('ca')
  run('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Roost test CA')
  /** Signs name.csr with `openssl ca`, so the CA's index knows it and can revoke it. */
  const sign = (name: string, subject: string, extra: string[]): void => {
    key(name)
    run('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject, '-utf8')
    // -preserveDN: the subject as requested, in its order, rather than re-ordered by the policy.
    run('ca', '-batch', '-config', 'ca.cnf', '-notext', '-preserveDN', '-in', `${name}.csr`, '-out', `${name}.crt`, '-utf8', ...extra)
  }
  const certificates: TestCertificates = {
    dir,
    file: (name) => path.join(dir, name),
    client: (name, subject, options = {}) => {
      // An expired certificate: valid for a day that ended yesterday.
      const validity = options.expired === true ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] : ['-days', '2']
      sign(name, subject, validity)
    },
    revoke: (...names) => {
      for (const name of names) run('ca', '-config', 'ca.cnf', '-revoke', `${name}.crt`)
      run('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem')
    },
    server: (name, subject) => { sign(name, subject, ['-days', '2', '-extfile', 'server.ext']) }
  }
  certificates.server('server', '/CN=localhost')
  return certificates
}
