/**
 * Makes the service calls an evaluation noted (`ClusterState.serviceCallMisses`: a classic
 * `apiCall.service`, CEL http.Get/Post) and returns what happened, for the engine to read on
 * its next run. As Kyverno's clients: a timeout over the whole exchange (its --apiCallTimeout,
 * 30 s, here also bounded by the caller's deadline), the caBundle as the only roots (TLS 1.2 at
 * least), a cap on the body of an entry's answer (--maxAPICallResponseLength: 10 MB in the
 * admission controller, 2 MB in the background and reports controllers), and for the CEL
 * library the SSRF blocklist (--httpBlocklist: hostnames refused before the call, CIDR ranges
 * at connection time, for every address a name resolves to). Errors are worded as Go's
 * net/http words them (`Get "url": ...`), which Kyverno's messages carry.
 *
 * Deliberate differences: Kyverno's CEL client reads any size of body (capped here too, as
 * every read in this process is bounded), and no scoped service-account token is sent (our
 * deploy mounts none). Redirects are not followed.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { ServiceCallOutcome, ServiceCallRequest } from '../engine/core/types';
import { sameServiceCall, urlErrorOp } from '../engine/context/service-calls';

/** Kyverno's --apiCallTimeout default. */
export const SERVICE_CALL_TIMEOUT_MS = 30_000;
/** Kyverno's --maxAPICallResponseLength in the admission controller (cmd/kyverno). */
export const ADMISSION_MAX_RESPONSE_BYTES = 10_000_000;
/** Kyverno's --maxAPICallResponseLength in the background, reports and cleanup controllers. */
export const BACKGROUND_MAX_RESPONSE_BYTES = 2_000_000;
/** Kyverno's default --httpBlocklist (pkg/toggle): metadata services and loopback. */
export const DEFAULT_HTTP_BLOCKLIST = ['169.254.169.254', '169.254.169.253', 'metadata.google.internal', '127.0.0.0/8', '::1/128'];

/**
 * serve's --max-api-call-response-length and --api-call-timeout (Kyverno's
 * --maxAPICallResponseLength and --apiCallTimeout): one value for admission and background
 * alike, as a chart gives every controller the same; absent, each gets Kyverno's default.
 */
export interface ApiCallSettings {
  maxResponseBytes?: number;
  timeoutMs?: number;
}

/**
 * This process's settings for service calls (Kyverno's toggles are process-wide too): serve's
 * --http-blocklist, --allow-http-in-namespaced-policies and its ApiCallSettings, for the
 * evaluations that do not get them handed (generate, GeneratingPolicy, mutate-existing in the primary).
 */
export const httpCallSettings: { blocklist?: readonly string[]; allowInNamespacedPolicies: boolean } & ApiCallSettings = { allowInNamespacedPolicies: false };

export interface ServiceCallLimits {
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** When the caller must have its answer (a review's deadline), in ms since the epoch. */
  deadline?: number;
  /** CEL http's blocklist: CIDR ranges (with a `/`) and host names; Kyverno's default when absent. */
  httpBlocklist?: readonly string[];
}

interface Blocklist {
  hosts: Set<string>;
  ranges: Array<{ text: string; list: BlockList }>;
}

/** sdk's normalizeHost: lower case, no trailing dot. */
function normalizeHost(h: string): string {
  return h.toLowerCase().replace(/\.+$/, '');
}

function blocklistOf(entries: readonly string[]): Blocklist {
  const out: Blocklist = { hosts: new Set(), ranges: [] };
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    if (!entry.includes('/')) {
      out.hosts.add(normalizeHost(entry));
      continue;
    }
    const [address, bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const list = new BlockList();
    list.addSubnet(address, Number(bits), family);
    out.ranges.push({ text: entry, list });
  }
  return out;
}

function blockedRange(bl: Blocklist, ip: string): string | undefined {
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  return bl.ranges.find((r) => r.list.check(ip, family))?.text;
}

/** A lookup that refuses a name any of whose addresses is in a blocked range (sdk's secureDialContext). */
function secureLookup(bl: Blocklist, port: string): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const range = blockedRange(bl, a.address);
        if (range) return callback(Object.assign(new Error(`connection to ${hostname}:${port} blocked: resolved IP ${a.address} falls in blocked range ${range}`), { code: 'EBLOCKED' }), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Go's dial and TLS errors for Node's codes, as far as they are told apart. */
function goTransportError(e: NodeJS.ErrnoException & { host?: string; port?: number; hostname?: string }, host: string, port: string): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${host}:${port}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${host}: no such host`;
    case 'ECONNRESET':
      return 'EOF';
    case 'EBLOCKED':
      return e.message;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${host}`;
    default:
      return e.message;
  }
}

/**
 * Makes one call. Resolves with the status and body text (`overLimit` when the body passed
 * the cap: it is cut there), or Go's words for why there was no answer; never rejects.
 */
export function makeServiceCall(req: ServiceCallRequest, limits: ServiceCallLimits = {}): Promise<ServiceCallOutcome> {
  const op = urlErrorOp(req.method);
  const fail = (message: string): ServiceCallOutcome => ({ error: `${op} "${req.url}": ${message}` });
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return Promise.resolve({ error: `parse "${req.url}": invalid URI for request` });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.resolve(fail(`unsupported protocol scheme "${url.protocol.replace(/:$/, '')}"`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  let lookupFn: LookupFunction | undefined;
  if (req.caller === 'http') {
    const bl = blocklistOf(limits.httpBlocklist ?? httpCallSettings.blocklist ?? DEFAULT_HTTP_BLOCKLIST);
    // sdk's validateURL: a blocked host name is refused before any request (not a Go url.Error).
    if (bl.hosts.has(normalizeHost(host))) return Promise.resolve({ error: `URL "${req.url}" is blocked: hostname "${host}" is on the blocklist` });
    const literal = isIP(host) ? blockedRange(bl, host) : undefined;
    if (literal) return Promise.resolve(fail(`connection to ${host}:${port} blocked: IP ${host} falls in blocked range ${literal}`));
    if (bl.ranges.length > 0 && !isIP(host)) lookupFn = secureLookup(bl, port);
  }
  const maxBytes = limits.maxResponseBytes ?? httpCallSettings.maxResponseBytes ?? ADMISSION_MAX_RESPONSE_BYTES;
  // Before a deadline, a quarter of what is left (up to a second) stays for evaluating again and answering.
  const left = (limits.deadline ?? Infinity) - Date.now();
  const timeoutMs = Math.max(0, Math.min(limits.timeoutMs ?? httpCallSettings.timeoutMs ?? SERVICE_CALL_TIMEOUT_MS, left - Math.min(1000, left / 4)));
  // Go's json.Encoder ends the body with a newline.
  const payload = req.method === 'POST' ? `${JSON.stringify(req.body ?? null)}\n` : undefined;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of req.headers) {
    const key = k.toLowerCase();
    const had = headers[key];
    headers[key] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  return new Promise((resolve) => {
    let settled = false;
    let gotHeaders = false;
    const settle = (o: ServiceCallOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const onResponse = (res: IncomingMessage) => {
      gotHeaders = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= maxBytes) return;
        chunks.push(c);
        size += c.length;
        if (size > maxBytes) {
          const text = Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
          settle({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text, overLimit: maxBytes });
          res.destroy();
        }
      });
      res.on('end', () => settle({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => settle(fail(e.message)));
    };
    const options = {
      method: req.method,
      headers,
      ...(lookupFn ? { lookup: lookupFn } : {}),
      ...(req.caBundle ? { ca: req.caBundle, minVersion: 'TLSv1.2' as const } : {}),
      // One connection per call: nothing is kept alive across reviews.
      agent: false as const,
    };
    const call = url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
    call.on('error', (e) => settle(fail(goTransportError(e as NodeJS.ErrnoException, host, port))));
    const timer = setTimeout(() => {
      settle(fail(gotHeaders ? 'context deadline exceeded (Client.Timeout or context cancellation while reading body)' : 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)'));
      call.destroy();
    }, timeoutMs);
    call.end(payload);
  });
}

/** Makes each call not made yet (in parallel) and returns the calls with their outcomes. */
export async function makeServiceCalls(misses: readonly ServiceCallRequest[], made: readonly { request: ServiceCallRequest }[], limits: ServiceCallLimits): Promise<Array<{ request: ServiceCallRequest; outcome: ServiceCallOutcome }>> {
  const todo = misses.filter((m, i) => !made.some((c) => sameServiceCall(c.request, m)) && misses.findIndex((o) => sameServiceCall(o, m)) === i);
  return Promise.all(todo.map(async (request) => ({ request, outcome: await makeServiceCall(request, limits) })));
}
