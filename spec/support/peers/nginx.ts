/**
 * Debian's nginx on 127.0.0.1, started by a test with a config of its own
 * (`nginx -p PREFIX -c CONF -e LOG -g 'daemon off;'`): static files with
 * Range support from `root`, optionally HTTPS with a fresh self-signed
 * certificate for 127.0.0.1, extra `location` blocks for misbehaviour
 * (redirect loops, 503s), and an access log of every request's URI, status
 * and Range header.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { freePort, waitForTcp } from './ports.ts'
import { spawnLogged, type ChildHandle } from './process.ts'
import { makeTempDir } from './tmp.ts'

const run = promisify(execFile)

/** A running nginx. */
export interface Nginx {
  /** Folder served at `/` (world-readable; write the test's files here). */
  readonly root: string
  readonly port: number
  /** `http://127.0.0.1:PORT/` */
  readonly base: string
  /** `https://127.0.0.1:PORT/` when started with `https: true`. */
  readonly httpsBase?: string
  /** PEM of the self-signed certificate (trust it as a CA). */
  readonly ca?: string
  readonly process: ChildHandle
  /** Requests served so far: URI, status and Range header ('-' when none). */
  requests(): Promise<Array<{ uri: string; status: number; range: string }>>
  /** Stops nginx and removes its folder. Safe to call twice. */
  close(): Promise<void>
}

/** Options of {@link startNginx}. */
export interface NginxOptions {
  /** Also listen with TLS on a second port. */
  readonly https?: boolean
  /** Extra directives inside the server block, e.g. `location /loop { return 302 /loop; }`. */
  readonly extra?: string
}

/**
 * Starts nginx on free ports of 127.0.0.1 and waits until it accepts connections.
 *
 * @example
 * const web = await startNginx({ https: true })
 * t.after(() => web.close())
 * await writeFile(join(web.root, 'file.bin'), data)
 */
export async function startNginx (options: NginxOptions = {}): Promise<Nginx> {
  // Workers run as nobody when we are root: everything they read must be world-readable.
  const dir = await makeTempDir('nginx-', { worldReadable: true })
  const root = join(dir.path, 'root')
  await mkdir(root, { mode: 0o755 })
  await mkdir(join(dir.path, 'tmp'), { mode: 0o755 })
  let ca: string | undefined
  if (options.https === true) {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir.path, 'key.pem'), '-out', join(dir.path, 'cert.pem'), '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
    ca = await readFile(join(dir.path, 'cert.pem'), 'utf8')
  }
  let child: ChildHandle | undefined
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const sport = options.https === true ? await freePort() : 0
    const p = dir.path
    const conf = [
      ...(process.getuid?.() === 0 ? ['user nobody nogroup;'] : []),
      'worker_processes 1;',
      `pid ${p}/nginx.pid;`,
      `error_log ${p}/error.log info;`,
      'events { worker_connections 256; }',
      'http {',
      "  log_format ranges '$request_uri $status $http_range';",
      `  access_log ${p}/access.log ranges;`,
      `  client_body_temp_path ${p}/tmp/body; proxy_temp_path ${p}/tmp/proxy; fastcgi_temp_path ${p}/tmp/fcgi;`,
      `  uwsgi_temp_path ${p}/tmp/uwsgi; scgi_temp_path ${p}/tmp/scgi;`,
      '  default_type application/octet-stream;',
      '  sendfile on;',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      ...(options.https === true
        ? [`    listen 127.0.0.1:${sport} ssl;`, `    ssl_certificate ${p}/cert.pem;`, `    ssl_certificate_key ${p}/key.pem;`]
        : []),
      `    root ${root};`,
      options.extra ?? '',
      '  }',
      '}',
      ''
    ].join('\n')
    const confPath = join(p, 'nginx.conf')
    await writeFile(confPath, conf, { mode: 0o644 })
    child = spawnLogged('nginx', ['-p', p, '-c', confPath, '-e', `${p}/error.log`, '-g', 'daemon off;'], {
      logPath: join(p, 'nginx.out'), cwd: p, graceMs: 1000
    })
    const c = child
    try {
      await waitForTcp(port, 5000, () => c.exitInfo() === undefined)
      if (sport !== 0) await waitForTcp(sport, 5000, () => c.exitInfo() === undefined)
    } catch (err) {
      const log = await readFile(join(p, 'error.log'), 'utf8').catch(() => '')
      await c.close()
      if (attempt >= 2) {
        await dir.close()
        throw new Error(`nginx did not start: ${(err as Error).message}\n${c.logTail()}\n${log}`)
      }
      continue
    }
    let closing: Promise<void> | undefined
    return {
      root,
      port,
      base: `http://127.0.0.1:${port}/`,
      ...(sport !== 0 ? { httpsBase: `https://127.0.0.1:${sport}/` } : {}),
      ...(ca !== undefined ? { ca } : {}),
      process: c,
      requests: async () => {
        const text = await readFile(join(p, 'access.log'), 'utf8').catch(() => '')
        return text.split('\n').filter((l) => l.length > 0).map((l) => {
          const [uri = '', status = '0', ...range] = l.split(' ')
          return { uri, status: Number(status), range: range.join(' ') }
        })
      },
      close: () => {
        closing ??= (async () => {
          await c.close()
          await dir.close()
        })()
        return closing
      }
    }
  }
}
