/**
 * The runner's store served over loopback HTTPS as the Kubernetes API, for programs that read a
 * cluster through a kubeconfig rather than through kubectl (our CLI's `kyverno apply --cluster`,
 * kube-api/client.ts): discovery (`/api`, `/apis`, each group version's resource list, from the
 * same kind table the runner's kubectl and webhook use), `/version`, and GETs of one object or
 * of a list, namespaced or cluster-wide, narrowed by `labelSelector` and by the `fieldSelector`
 * fields every kind supports (metadata.name, metadata.namespace). The caller is chainsaw's
 * kubeconfig user, a kind cluster's admin: nothing is refused for RBAC. Every request is
 * recorded; one this endpoint cannot answer as an API server would (a write, a watch, a
 * subresource, another path) gets a 404 Status and is reported in `unserved`, which makes the
 * operation unsupported rather than letting the program go on with a made-up answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../../engine/core/types';
import { asObject } from '../../engine/core/json';
import type { KindResource, KindTable } from '../../engine/kube';
import { KubeError } from '../../kube-api/errors';
import { makeCertificates, type CertificateSet } from '../../tls/certificates';
import { discoveryDocuments, type ObjectStore } from './store';

/** The Kubernetes version of the kind node image Kyverno's CI runs the CLI scenarios on (check-tests: kindest/node v1.33.1). */
const SERVER_VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.1', platform: 'linux/amd64' };

export interface ApiEndpoint {
  /** `https://127.0.0.1:PORT`, the kubeconfig's server. */
  url: string;
  /** The CA that signed the endpoint's certificate (the kubeconfig's certificate-authority-data), PEM. */
  caPem: string;
  /** Every request, `METHOD path?query`, in order. */
  requests: string[];
  /** The requests answered 404 because this endpoint does not serve them, with why. */
  unserved: string[];
  close(): Promise<void>;
}

/** A request answered with a Status. */
class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: JsonObject = {},
  ) {
    super(message);
  }
}

/** Not a request this endpoint serves (recorded as unserved). */
class Unserved extends StatusError {
  constructor(why: string) {
    super(404, 'NotFound', `the server could not find the requested resource (${why}: not served offline)`);
  }
}

function statusBody(e: StatusError): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, details: e.details, code: e.code };
}

/** The kind a group version serves under `plural` (its kind table entry), or undefined. */
function resourceOf(table: KindTable, group: string, version: string, plural: string): { kind: string; entry: KindResource } | undefined {
  for (const [kind, entries] of table) {
    const entry = entries.find((e) => e.group === group && e.resource === plural && (e.version === version || (e.otherVersions ?? []).includes(version)));
    if (entry) return { kind, entry };
  }
  return undefined;
}

/** One `fieldSelector` term over the fields every kind supports; others are refused as the API server refuses them. */
function fieldFilter(selector: string | null): (o: JsonObject) => boolean {
  if (!selector) return () => true;
  const terms = selector.split(',').filter((t) => t.trim() !== '').map((raw) => {
    const m = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (!m) throw new StatusError(400, 'BadRequest', `invalid field selector: ${raw}`);
    const [, field, op, value] = m;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') throw new Unserved(`fieldSelector ${field}`);
    return (o: JsonObject) => (String(asObject(o.metadata)[field.slice('metadata.'.length)] ?? '') === value) === (op !== '!=');
  });
  return (o) => terms.every((t) => t(o));
}

/** `/api/v1/...` or `/apis/GROUP/VERSION/...` split into its parts; undefined for other paths. */
function parsePath(path: string): { group: string; version: string; rest: string[] } | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'api' && parts.length >= 3) return { group: '', version: parts[1], rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 4) return { group: parts[1], version: parts[2], rest: parts.slice(3) };
  return undefined;
}

/** Answers one GET from the store: a discovery document, the version, an object or a list. */
function answerGet(store: ObjectStore, table: KindTable, documents: Map<string, JsonObject>, path: string, query: URLSearchParams): JsonObject {
  if (path === '/version') return { ...SERVER_VERSION };
  const document = documents.get(path);
  if (document) return structuredClone(document);
  const parsed = parsePath(path);
  if (!parsed) {
    // An unknown group version is a plain 404 on an API server; anything else is a path not modelled.
    if (/^\/apis?\/[^/]+(\/[^/]+)?$/.test(path)) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    throw new Unserved(`GET ${path}`);
  }
  if (query.get('watch') === 'true' || query.get('watch') === '1') throw new Unserved('watch');
  const { group, version } = parsed;
  let { rest } = parsed;
  const apiVersion = group ? `${group}/${version}` : version;
  let namespace: string | undefined;
  // `namespaces/NS/PLURAL...` addresses a namespaced resource; `namespaces/NAME` the Namespace.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = resourceOf(table, group, version, rest[2]);
    if (!inner || inner.entry.namespaced === false) throw new Unserved(`GET ${path}`);
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, ...sub] = rest;
  if (sub.length > 0) throw new Unserved(`the subresource ${sub.join('/')}`);
  const served = resourceOf(table, group, version, plural);
  if (!served) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  const { kind, entry } = served;
  const namespaced = entry.namespaced !== false;
  // The API server serves every stored object at the version asked for.
  const atVersion = (o: JsonObject): JsonObject => ({ ...o, apiVersion });
  if (name !== undefined) {
    if (namespaced && namespace === undefined) throw new Unserved(`GET ${path} (a namespaced object without its namespace)`);
    const found = store.get({ apiVersion, kind, namespace, name });
    if (!found) throw new StatusError(404, 'NotFound', `${group ? `${plural}.${group}` : plural} "${name}" not found`, { name, group, kind: plural });
    return atVersion(found);
  }
  let items: JsonObject[];
  try {
    items = store.list(apiVersion, kind, namespace, query.get('labelSelector') ?? undefined);
  } catch (e) {
    // The store's selector parser refuses what it does not model (set-based terms).
    if (e instanceof KubeError) throw new Unserved(`labelSelector ${query.get('labelSelector') ?? ''}`);
    throw e;
  }
  const byField = fieldFilter(query.get('fieldSelector'));
  items = items.filter(byField).map(atVersion);
  items.sort((a, b) => {
    const ka = `${String(asObject(a.metadata).namespace ?? '')}/${String(asObject(a.metadata).name ?? '')}`;
    const kb = `${String(asObject(b.metadata).namespace ?? '')}/${String(asObject(b.metadata).name ?? '')}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: String(store.revision) }, items };
}

/** One CA and serving certificate for every endpoint of the run (ECDSA: quick to make). */
let certificates: CertificateSet | undefined;

/**
 * Starts the endpoint over `store`; `kinds` is read per request, so CRDs a scenario stores are
 * served from the next request on (discovery documents are rebuilt after each write).
 */
export async function startApiEndpoint(store: ObjectStore, kinds: () => KindTable): Promise<ApiEndpoint> {
  const requests: string[] = [];
  const unserved: string[] = [];
  let served: { revision: number; table: KindTable; documents: Map<string, JsonObject> } | undefined;
  const current = () => {
    if (served?.revision !== store.revision) {
      const table = kinds();
      served = { revision: store.revision, table, documents: discoveryDocuments(table) };
    }
    return served;
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://offline');
    const method = req.method ?? 'GET';
    requests.push(`${method} ${url.pathname}${url.search}`);
    if (process.env.CHAINSAW_OFFLINE_API_LOG) process.stderr.write(`api: ${method} ${url.pathname}${url.search}\n`);
    let status = 200;
    let body: JsonObject;
    try {
      if (method !== 'GET') throw new Unserved(`${method} ${url.pathname}`);
      const { table, documents } = current();
      body = answerGet(store, table, documents, url.pathname, url.searchParams);
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
      if (e instanceof Unserved) unserved.push(`${method} ${url.pathname}${url.search}`);
      status = e.code;
      body = statusBody(e);
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  certificates ??= makeCertificates({ hosts: ['127.0.0.1'], algorithm: 'ECDSA' });
  const server = createServer({ cert: certificates.serving.certPem, key: certificates.serving.keyPem }, (req, res) => {
    // The body (none for a GET) is drained before answering.
    req.resume();
    req.on('end', () => {
      try {
        handle(req, res);
      } catch (e) {
        unserved.push(`${req.method ?? 'GET'} ${req.url ?? ''}: ${(e as Error).message}`);
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusBody(new StatusError(500, 'InternalError', (e as Error).message))));
      }
    });
  });
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: certificates.ca.certPem,
    requests,
    unserved,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
