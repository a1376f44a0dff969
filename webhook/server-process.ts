/**
 * A server process: terminates TLS for the connections the primary hands it and evaluates
 * each review inline. Evaluating in the thread that owns the socket avoids a thread hop per
 * review, which on a busy machine cost more than the policies themselves; the deadline is
 * kept by checks between policies (504) and, for a review stuck inside one policy, by the
 * primary's watchdog, which kills a process whose heartbeat stops.
 */
import { parseResourceFilters, type ResourceFilter } from './resource-filters';
import { parseUserExclusions, type UserExclusions } from './user-filters';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync, watchFile } from 'node:fs';
import type { ClusterState, ServiceCall, ServiceCallRequest } from '../engine/core/types';
import { configureEngine } from '../engine/core/configuration';
import { errorReply, evaluatePolicyMutation, evaluateReview, evaluateTtlLabel, evaluateVerifyMutation, policyValidationReply, type PolicyValidationOptions } from './evaluate';
import { celRoute } from './cel-webhooks';
import { WebhookMetrics } from './metrics';
import { PolicyIndex } from './prefilter';
import { withNamespaces, type NamespaceState } from './namespaces';
import { withLiveContext, type LiveContextState } from './live-context';
import type { FromServerProcess, PendingGeneration, ReviewReply, ReviewRequest, ServerProcessSettings, ToServerProcess } from './protocol';
import { apiCallPostPaths, asksCelAuthorizer, callsServices } from './context-reads';
import { evaluatePostingApiCalls } from './cluster-reads';
import { ADMISSION_MAX_RESPONSE_BYTES, BACKGROUND_MAX_RESPONSE_BYTES, makeServiceCalls, type ApiCallSettings } from './service-calls';
import { runGeneration } from './generate-work';
import { ImageRegistryAccess } from './images';
import { dockerConfigKeychain } from '../registry/docker-config';
import { asObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';
import { accessOptionsOf, type AccessAnswers } from './access-review';
import { accessQuestions } from '../engine/policy/auth-checks';
import { isCleanupPolicy } from '../engine/cleanup';
import { lookupFinder } from '../engine/policy/admission-checks';

export const SERVER_PROCESS_ROLE = 'kyverno-studio-webhook-server';

const EMPTY_CLUSTER: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const METRICS_WAIT_MS = 2000;
/** How long a round of batched reviews may run before those evaluated are answered (evaluateWaiting). */
const BATCH_ANSWER_AFTER_MS = 2;
/** Defaults for the connection bounds (ServerProcessSettings may override them, e.g. tests). */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const IDLE_TIMEOUT_MS = 65_000;
export const MAX_CONNECTIONS = 1000;

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Reads a request's body, then calls `done` with it, or with null when it is larger than
 * `limit` (the rest is drained, not kept); `failed` gets a stream error or what `done` threw.
 * Callbacks rather than a promise: no promise, await and microtask per review, and a body
 * that came in one chunk (most) is decoded without a copy.
 */
function readBody(req: IncomingMessage, limit: number, done: (body: string | null) => void, failed: (e: Error) => void): void {
  let first: Buffer | undefined;
  let rest: Buffer[] | undefined;
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit) return;
    if (first === undefined) first = c;
    else (rest ??= [first]).push(c);
  });
  req.on('end', () => {
    try {
      done(size > limit ? null : rest ? Buffer.concat(rest).toString('utf8') : first ? first.toString('utf8') : '');
    } catch (e) {
      failed(e as Error);
    }
  });
  req.on('error', failed);
}

class ServerProcess {
  private index = new PolicyIndex([]);
  /** What reviews run against: the policies' cluster state with the watched namespaces. */
  private cluster = EMPTY_CLUSTER;
  private policyCluster = EMPTY_CLUSTER;
  private namespaces: NamespaceState | null = null;
  private context: LiveContextState | null = null;
  private hasPolicies = false;
  private readonly metrics = new WebhookMetrics();
  private readonly metricsWaiting = new Map<number, ServerResponse>();
  private readonly accessWaiting = new Map<number, (answers: AccessAnswers | null) => void>();
  private readonly postWaiting = new Map<number, (answer: { body: unknown } | { error: string }) => void>();
  /**
   * Some policy POSTs to the API server from an apiCall entry or a CEL authorizer check, or
   * calls a service (an apiCall `service`, CEL http.*): reviews go through evaluatePostingApiCalls.
   */
  private postsApiCalls = false;
  private httpBlocklist?: string[];
  private allowHttpInNamespacedPolicies = false;
  private apiCalls: ApiCallSettings = {};
  private nextMetricsId = 1;
  private https?: Server;
  private timeoutMs?: number;
  private filters: ResourceFilter[] = [];
  private exclusions: UserExclusions | undefined;
  /** Kyverno's generateSuccessEvents (a flag, then its ConfigMap). */
  private successEvents = false;
  private active = 0;
  private closing = false;
  /** Per path, from the webhook configurations' timeoutSeconds (rules.reviewDeadlinesMs). */
  private deadlinesMs: Partial<Record<'validate' | 'mutate', number>> = {};
  private connections = 0;
  // The `default` credential provider: the process's own Docker config (and its helpers).
  private readonly images = new ImageRegistryAccess({ defaultKeychain: dockerConfigKeychain() });

  constructor(private readonly post: (m: FromServerProcess) => void) {}

  private maxConnections = MAX_CONNECTIONS;
  private heartbeatMs = Infinity;
  private lastBeat = 0;

  private beat(): void {
    this.lastBeat = Date.now();
    this.post({ type: 'heartbeat', snapshot: this.metrics.snapshot(true) });
  }

  /**
   * Also beats after each review when a beat is due: reviews that arrived together run back
   * to back without the event loop reaching its timers, and each may take up to its deadline.
   */
  private beatIfDue(): void {
    if (Date.now() - this.lastBeat >= this.heartbeatMs) this.beat();
  }

  configure(settings: ServerProcessSettings): void {
    this.timeoutMs = settings.timeoutMs;
    this.httpBlocklist = settings.httpBlocklist;
    this.apiCalls = settings.apiCalls ?? {};
    this.allowHttpInNamespacedPolicies = settings.allowHttpInNamespacedPolicies === true;
    this.cluster = this.withClusterData();
    this.filters = parseResourceFilters(settings.resourceFilters ?? '');
    this.exclusions = parseUserExclusions(settings.userExclusions ?? {});
    this.successEvents = settings.successEvents === true;
    configureEngine(settings.engine);
    this.maxConnections = settings.maxConnections ?? MAX_CONNECTIONS;
    const tls = () => ({ cert: readFileSync(settings.tlsCertFile), key: readFileSync(settings.tlsKeyFile), minVersion: 'TLSv1.2' as const });
    const headersTimeoutMs = settings.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    const https = createHttpsServer({
      ...tls(),
      handshakeTimeout: headersTimeoutMs,
      // How often Node looks for requests past headersTimeout/requestTimeout (default 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    }, (req, res) => {
      try {
        this.handle(req, res, settings);
      } catch (e) {
        this.failed(res, e as Error);
      }
    });
    // Slow or stalled clients must not hold sockets forever: a TLS handshake, the headers and
    // the whole request each have a bound, and so has an idle keep-alive connection.
    https.headersTimeout = headersTimeoutMs;
    https.requestTimeout = settings.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    https.keepAliveTimeout = settings.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    https.timeout = settings.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    // Node enforces headersTimeout and requestTimeout from a timer it starts on 'listening';
    // this process never listens (the primary hands it accepted sockets), so start it here.
    https.emit('listening');
    // Certificates in a mounted Secret are swapped in place; polling survives the symlink dance.
    const reload = () => {
      try {
        https.setSecureContext(tls());
        this.post({ type: 'log', line: 'TLS certificate reloaded' });
      } catch (e) {
        this.post({ type: 'log', line: `TLS reload failed, keeping the previous certificate: ${(e as Error).message}` });
      }
    };
    watchFile(settings.tlsCertFile, { interval: 2000 }, reload);
    watchFile(settings.tlsKeyFile, { interval: 2000 }, reload);
    this.https = https;
    this.heartbeatMs = settings.heartbeatMs;
    setInterval(() => this.beat(), settings.heartbeatMs).unref();
    this.post({ type: 'ready' });
  }

  /** The policies' cluster state with what the watches hold (namespaces, context data). */
  private withClusterData(): ClusterState {
    const cluster = withNamespaces(withLiveContext(this.policyCluster, this.context), this.namespaces);
    return this.allowHttpInNamespacedPolicies ? { ...cluster, allowHttpInNamespacedPolicies: true } : cluster;
  }

  on(msg: ToServerProcess, handle: unknown): void {
    switch (msg.type) {
      case 'settings':
        return this.configure(msg.settings);
      case 'policies':
        this.index = new PolicyIndex(msg.policies);
        this.postsApiCalls = msg.policies.some((p) => apiCallPostPaths(p).length > 0 || asksCelAuthorizer(p) || callsServices(p));
        this.policyCluster = msg.cluster;
        this.cluster = this.withClusterData();
        this.deadlinesMs = msg.deadlinesMs ?? {};
        this.hasPolicies = true;
        return;
      case 'namespaces':
        this.namespaces = msg.namespaces;
        this.cluster = this.withClusterData();
        return;
      case 'context':
        this.context = msg.context;
        this.cluster = this.withClusterData();
        return;
      case 'configuration':
        this.filters = parseResourceFilters(msg.configuration.resourceFilters ?? '');
        this.exclusions = parseUserExclusions(msg.configuration.userExclusions ?? {});
        this.successEvents = msg.configuration.successEvents === true;
        configureEngine(msg.configuration.engine);
        return;
      case 'connection': {
        this.post({ type: 'accepted', id: msg.id });
        const socket = handle as Socket | undefined;
        if (!this.https || !socket) return void socket?.destroy();
        // A cap per process: past it a connection is closed at once rather than queued
        // behind the others (the API server retries or applies the failurePolicy).
        if (this.connections >= this.maxConnections) return void socket.destroy();
        this.connections++;
        socket.once('close', () => this.connections--);
        this.https.emit('connection', socket);
        return;
      }
      case 'review': {
        // Scans keep the same per-review deadline as admission, counted from here.
        const deadline = msg.review.deadline ?? Date.now() + (this.timeoutMs ?? Infinity);
        // A background scan skips what the resource filters name, as Kyverno's ScanResource does.
        const review = { ...msg.review, deadline, ...(msg.review.scan ? { filters: this.filters } : {}) };
        const answered = (reply: ReviewReply) => {
          // Kyverno counts background scan results with rule_execution_cause="background_scan".
          if (reply.request) this.metrics.recordRequest(`scan/${msg.review.path}`, reply.status, reply.request, 0, reply.outcomes, 'background_scan', reply.outcomeSeconds);
          this.post({ type: 'answer', id: msg.id, reply });
          this.beatIfDue();
        };
        if (!this.postsApiCalls) return answered(evaluateReview(review, this.index, this.cluster));
        // Calls out as the background controller does (its response cap), within the deadline.
        void evaluatePostingApiCalls(this.cluster, (c) => evaluateReview(review, this.index, c), (p, b) => this.apiPost(p, b, deadline), this.serviceCalls(deadline, BACKGROUND_MAX_RESPONSE_BYTES))
          .then(answered, (e: Error) => answered(errorReply(500, e.message)));
        return;
      }
      case 'metrics-snapshot':
        return this.post({ type: 'metrics-snapshot', id: msg.id, snapshot: this.metrics.snapshot(true) });
      case 'api-post-answer': {
        const waiting = this.postWaiting.get(msg.id);
        this.postWaiting.delete(msg.id);
        waiting?.(msg.answer);
        return;
      }
      case 'access-answers': {
        const waiting = this.accessWaiting.get(msg.id);
        this.accessWaiting.delete(msg.id);
        waiting?.(msg.answers);
        return;
      }
      case 'metrics-text': {
        const res = this.metricsWaiting.get(msg.id);
        this.metricsWaiting.delete(msg.id);
        if (res && !res.headersSent) send(res, 200, msg.text, 'text/plain; version=0.0.4');
        return;
      }
      case 'close':
        return this.drainAndExit();
    }
  }

  /** Answers what is in flight (bounded), then exits; idle keep-alive connections just close. */
  private drainAndExit(): void {
    this.closing = true;
    this.https?.closeIdleConnections();
    const deadline = Date.now() + 1500;
    const check = () => (this.active === 0 || Date.now() > deadline ? process.exit(0) : setTimeout(check, 20));
    check();
  }

  /** A request that failed outside the evaluation (which answers its own errors): logged, and a 500 if nothing was sent. */
  private failed(res: ServerResponse, e: Error): void {
    this.post({ type: 'log', line: `request failed: ${e.message}` });
    if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'internal error' }));
  }

  private readonly responseClosed = (): void => {
    this.active--;
  };

  /**
   * The API server's answers for the classic policy in a /policyvalidate review, asked by the
   * primary (which holds the client): its permission questions and discovery's answers for its
   * kinds (the permission questions only when `checksAccess`); null for other kinds, when the
   * primary cannot ask, or does not answer within the deadline.
   */
  private accessAnswers(policy: JsonObject, checksAccess: boolean, warnsOfGrants: boolean, timeoutMs: number): Promise<AccessAnswers | null> {
    // Every classic policy's kinds are looked up in discovery (validKinds), questions or not;
    // a cleanup policy's permissions are asked too (Kyverno's cleanup controller webhook).
    if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy' && !isCleanupPolicy(policy)) return Promise.resolve(null);
    const id = this.nextMetricsId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.accessWaiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.accessWaiting.set(id, (answers) => {
        clearTimeout(timer);
        resolve(answers);
      });
      this.post({ type: 'access-wanted', id, policy, checksAccess, warnsOfGrants });
    });
  }

  /** An apiCall POST, made by the primary (which holds the client) within `deadline`. */
  /** Service calls from this process, bounded by the review's deadline. */
  /** `maxResponseBytes`: Kyverno's default for the controller this evaluation stands for, unless serve set one. */
  private serviceCalls(deadline: number, maxResponseBytes: number) {
    const limits = { deadline, maxResponseBytes: this.apiCalls.maxResponseBytes ?? maxResponseBytes, timeoutMs: this.apiCalls.timeoutMs, httpBlocklist: this.httpBlocklist };
    return (requests: readonly ServiceCallRequest[], made: readonly ServiceCall[]) => makeServiceCalls(requests, made, limits);
  }

  private apiPost(path: string, body: JsonObject, deadline: number): Promise<unknown> {
    const id = this.nextMetricsId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.postWaiting.delete(id);
        reject(new Error('the API server did not answer before the review\'s deadline'));
      }, Math.max(0, deadline - Date.now()));
      this.postWaiting.set(id, (answer) => {
        clearTimeout(timer);
        if ('error' in answer) reject(new Error(answer.error));
        else resolve(answer.body);
      });
      this.post({ type: 'api-post', id, path, body });
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, settings: ServerProcessSettings): void {
    this.active++;
    res.once('close', this.responseClosed);
    if (this.closing) res.shouldKeepAlive = false;
    const target = req.url ?? '/';
    const query = target.indexOf('?');
    const url = query < 0 ? target : target.slice(0, query);
    if (req.method === 'GET' && url === '/healthz') return send(res, 200, 'ok', 'text/plain');
    if (req.method === 'GET' && url === '/readyz') {
      return send(res, this.hasPolicies ? 200 : 503, this.hasPolicies ? 'ready' : 'no policies loaded yet', 'text/plain');
    }
    if (req.method === 'GET' && url === '/metrics') return settings.metricsElsewhere ? send(res, 404, 'metrics are served on the metrics port', 'text/plain') : this.metricsForAll(res);
    // Kyverno's paths: /validate/fail, /validate/ignore, /mutate/fail, /mutate/ignore (the
    // policies of that failurePolicy); plain /validate and /mutate run every policy.
    if (url === '/policyvalidate' && req.method === 'POST') {
      return readBody(req, settings.maxBodyBytes, (body) => {
        if (body === null) return send(res, 400, errorReply(400, `body is larger than ${settings.maxBodyBytes} bytes`).body);
        let review: unknown;
        try {
          review = JSON.parse(body) as unknown;
        } catch (e) {
          return send(res, 400, errorReply(400, `body is not JSON: ${(e as Error).message}`).body);
        }
        const request = asObject(asObject(review).request);
        const checksAccess = policyChecksAccess(request);
        // A dry run (deploy's preview, before it applies the RBAC it plans) is not warned of missing permissions.
        this.accessAnswers(asObject(request.object), checksAccess, request.dryRun !== true, settings.timeoutMs)
          .then((access) => {
            const reply = policyValidationReply(review, { ...policyValidationOptions(access, checksAccess), allowHttpInNamespacedPolicies: this.allowHttpInNamespacedPolicies });
            send(res, reply.status, reply.body);
          })
          .catch((e: Error) => this.failed(res, e));
      }, (e) => this.failed(res, e));
    }
    if ((url === '/policymutate' || url === '/verifymutate') && req.method === 'POST') {
      return readBody(req, settings.maxBodyBytes, (body) => {
        const reply = body === null ? errorReply(400, `body is larger than ${settings.maxBodyBytes} bytes`)
          : url === '/policymutate' ? evaluatePolicyMutation(body) : evaluateVerifyMutation(body, settings.namespace);
        send(res, reply.status, reply.body);
      }, (e) => this.failed(res, e));
    }
    if (url === '/verifyttl' && req.method === 'POST') {
      return readBody(req, settings.maxBodyBytes, (body) => {
        const reply = body === null ? errorReply(400, `body is larger than ${settings.maxBodyBytes} bytes`) : evaluateTtlLabel(body);
        send(res, reply.status, reply.body);
      }, (e) => this.failed(res, e));
    }
    const route = ROUTES.get(url) ?? fineGrainedRouteOf(url) ?? celRouteOf(url);
    if (!route) return send(res, 404, JSON.stringify({ message: `no route ${url}` }));
    if (req.method !== 'POST') return send(res, 405, JSON.stringify({ message: `${req.method} is not allowed; POST an AdmissionReview` }));
    const started = performance.now();
    readBody(req, settings.maxBodyBytes, (body) => this.review(url, route, body, started, res, settings), (e) => this.failed(res, e));
  }

  /** A review's body is in: evaluate it (after the registry reads, when a policy reads images) and answer. */
  private review(url: string, route: Route, body: string | null, started: number, res: ServerResponse, settings: ServerProcessSettings): void {
    if (body === null) return this.answer(route.label ?? url.slice(1), errorReply(400, `body is larger than ${settings.maxBodyBytes} bytes`), started, res, settings);
    if (!this.hasPolicies) return this.answer(route.label ?? url.slice(1), errorReply(503, 'no policies loaded yet'), started, res, settings);
    // Most policy sets read no images and post nothing: no registry step (and no await) per
    // review; the review waits for the others of this round of I/O (see evaluateWaiting).
    if (!this.index.readsImages && !this.postsApiCalls) {
      this.waiting.push({ label: route.label ?? url.slice(1), route, body, started, res, settings });
      if (this.waiting.length === 1) setImmediate(this.evaluateWaiting);
      return;
    }
    const deadline = Date.now() + this.timeoutOf(route, settings);
    (this.index.readsImages ? this.withRegistry(body, deadline) : Promise.resolve(this.cluster))
      .then((cluster) =>
        this.postsApiCalls
          ? evaluatePostingApiCalls(cluster, (c) => this.evaluate(route, body, deadline, c, settings), (p, b) => this.apiPost(p, b, deadline), this.serviceCalls(deadline, ADMISSION_MAX_RESPONSE_BYTES))
          : this.evaluate(route, body, deadline, cluster, settings),
      )
      .then((reply) => this.answer(route.label ?? url.slice(1), reply, started, res, settings))
      .catch((e: Error) => this.failed(res, e));
  }

  /** How long a review of this route may take: --timeout-ms, or less when the webhook configuration asks for less. */
  private timeoutOf(route: Route, settings: ServerProcessSettings): number {
    return Math.min(settings.timeoutMs, this.deadlinesMs[route.path] ?? Infinity);
  }

  /** Reviews whose body came in during this round of I/O, evaluated together once it ends. */
  private waiting: WaitingReview[] = [];

  /**
   * Evaluates the waiting reviews back to back, then answers them: one after the other the
   * policies, their plans and the engine's code stay in the caches, where a review between
   * TLS reads and response writes finds them evicted (in a server under load most of a
   * review's time). As when each ran on its own, a review's deadline counts from the start of
   * its evaluation (one stuck until its deadline leaves the next their whole time), and the
   * heartbeat is sent when due after each one. Once the round has taken BATCH_ANSWER_AFTER_MS,
   * the reviews evaluated so far are answered before the next one starts, so a slow (hostile)
   * review delays those evaluated before it by its own time at most, never by a second one's.
   */
  private readonly evaluateWaiting = (): void => {
    const batch = this.waiting;
    this.waiting = [];
    const replies: Array<ReviewReply | Error> = new Array(batch.length);
    const started = Date.now();
    let answered = 0;
    const answerUpTo = (end: number) => {
      for (; answered < end; answered++) {
        const w = batch[answered];
        const reply = replies[answered];
        try {
          if (reply instanceof Error) throw reply;
          this.answer(w.label, reply, w.started, w.res, w.settings);
        } catch (e) {
          this.failed(w.res, e as Error);
        }
      }
    };
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i];
      try {
        replies[i] = this.evaluate(w.route, w.body, Date.now() + this.timeoutOf(w.route, w.settings), this.cluster, w.settings);
      } catch (e) {
        replies[i] = e as Error;
      }
      this.beatIfDue();
      if (Date.now() - started >= BATCH_ANSWER_AFTER_MS) answerUpTo(i + 1);
    }
    answerUpTo(batch.length);
  };

  private evaluate(route: Route, body: string, deadline: number, cluster: ClusterState, settings: ServerProcessSettings): ReviewReply {
    return evaluateReview(
      { path: route.path, body, reports: settings.reports, deadline, generate: settings.generate, failurePolicy: route.failurePolicy, kinds: route.kinds, only: route.names, events: settings.events ? 'admission' : undefined, successEvents: this.successEvents, filters: this.filters, exclusions: this.exclusions, backgroundUser: settings.backgroundUser },
      this.index,
      cluster,
    );
  }

  /** Sends the reply, then records it and hands on what it produced (reports, events, generate work). */
  private answer(metricsPath: string, reply: ReviewReply, started: number, res: ServerResponse, settings: ServerProcessSettings): void {
    send(res, reply.status, reply.body);
    this.beatIfDue();
    this.metrics.recordRequest(metricsPath, reply.status, reply.request, (performance.now() - started) / 1000, reply.outcomes, 'admission_request', reply.outcomeSeconds);
    if (settings.reports && reply.allowed && !reply.dryRun && reply.subject && reply.reportable.length) {
      const resource = reply.subject;
      this.post({ type: 'reportable', items: reply.reportable.map((r) => ({ ...r, resource })) });
    }
    if (reply.events) this.post({ type: 'events', items: reply.events });
    if (reply.generation) this.generate(reply.generation);
  }

  /**
   * The cluster state with what the registry says about the review's images, read before
   * evaluation when a candidate policy verifies or reads images (a body that does not parse
   * is left to evaluateReview, which answers it).
   */
  private async withRegistry(body: string, deadline: number): Promise<ClusterState> {
    if (!this.index.readsImages) return this.cluster;
    let request: JsonObject;
    try {
      request = asObject(asObject(JSON.parse(body) as unknown).request) ?? {};
    } catch {
      return this.cluster;
    }
    const object = asObject(request.object);
    return this.images.clusterFor(this.index.candidatesForReview(request), object, this.cluster, deadline);
  }

  /** Generate rules, after the answer went out: their outcome never changes it. */
  private generate(pending: PendingGeneration): void {
    try {
      const work = runGeneration(pending, this.cluster);
      for (const line of work.errors) this.post({ type: 'log', line });
      if (work.items.length) this.post({ type: 'generated', items: work.items });
    } catch (e) {
      this.post({ type: 'log', line: `generate: ${(e as Error).message}` });
    }
  }

  /** Prometheus counts every process: the primary sums them; alone, this process answers. */
  private metricsForAll(res: ServerResponse): void {
    const id = this.nextMetricsId++;
    this.metricsWaiting.set(id, res);
    this.post({ type: 'metrics-wanted', id, snapshot: this.metrics.snapshot(true) });
    setTimeout(() => {
      if (!this.metricsWaiting.delete(id)) return;
      send(res, 200, this.metrics.render(), 'text/plain; version=0.0.4');
    }, METRICS_WAIT_MS).unref();
  }
}

/** A review whose body is in, waiting for the end of this round of I/O. */
interface WaitingReview {
  label: string;
  route: Route;
  body: string;
  started: number;
  res: ServerResponse;
  settings: ServerProcessSettings;
}

interface Route {
  path: 'validate' | 'mutate';
  failurePolicy?: 'Fail' | 'Ignore';
  /** Only policies of these kinds. */
  kinds?: string[];
  /** Only the policies of these names (a CEL path names them). */
  names?: string[];
  /** The metrics label (a CEL path without its policy names). */
  label?: string;
}

/**
 * Kyverno's resource webhook paths: /validate/fail, /validate/ignore, /mutate/fail and
 * /mutate/ignore run the classic policies of that failurePolicy; the CEL kinds have paths of
 * their own (celRoute). Plain /validate and /mutate run every policy.
 */
const CLASSIC_KINDS = ['ClusterPolicy', 'Policy'];
const ROUTES = new Map<string, Route>([
  ['/validate', { path: 'validate' }],
  ['/mutate', { path: 'mutate' }],
  ['/validate/fail', { path: 'validate', failurePolicy: 'Fail', kinds: CLASSIC_KINDS }],
  ['/validate/ignore', { path: 'validate', failurePolicy: 'Ignore', kinds: CLASSIC_KINDS }],
  ['/mutate/fail', { path: 'mutate', failurePolicy: 'Fail', kinds: CLASSIC_KINDS }],
  ['/mutate/ignore', { path: 'mutate', failurePolicy: 'Ignore', kinds: CLASSIC_KINDS }],
]);

/** `/validate/fail/finegrained/[<ns>/]<name>`: one classic policy's own webhook (Kyverno's `/*policy` parameter). */
function fineGrainedRouteOf(url: string): Route | undefined {
  const m = /^\/(validate|mutate)\/(fail|ignore)\/finegrained\/(?:[^/]+\/)?([^/]+)$/.exec(url);
  if (!m) return undefined;
  return { path: m[1] as 'validate' | 'mutate', failurePolicy: m[2] === 'fail' ? 'Fail' : 'Ignore', kinds: CLASSIC_KINDS, names: [m[3]], label: `${m[1]}/${m[2]}/finegrained` };
}

/** `/vpol/a/b`: the ValidatingPolicies a and b (an empty list: every one of the kind), as Kyverno's /vpol/*policies. */
function celRouteOf(url: string): Route | undefined {
  const route = celRoute(url);
  if (!route) return undefined;
  return { path: route.phase, kinds: route.kinds, names: route.names.length ? route.names : undefined, label: route.base.slice(1) };
}

/** Entry of a forked server process; returns false when this process is not one. */
export function runAsServerProcessIfAsked(): boolean {
  if (process.env.KYVERNO_STUDIO_ROLE !== SERVER_PROCESS_ROLE || !process.send) return false;
  const post = (m: FromServerProcess) => {
    if (process.connected) process.send!(m);
  };
  const server = new ServerProcess(post);
  // One line to the primary's log instead of a stack trace; the primary starts a new process.
  const die = (e: unknown) => {
    post({ type: 'log', line: `server process ${process.pid} stopped: ${e instanceof Error ? e.message : String(e)}` });
    setTimeout(() => process.exit(1), 50);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  process.on('message', (msg: ToServerProcess, handle: unknown) => server.on(msg, handle));
  // The primary is gone (crashed or killed): nobody hands out connections or policies any more.
  process.on('disconnect', () => process.exit(0));
  return true;
}

/** Whether a /policyvalidate review's permissions are checked: not a dry run, and the policy asks something. */
function policyChecksAccess(request: JsonObject): boolean {
  return request.dryRun !== true && accessQuestions(asObject(request.object)).length > 0;
}

/**
 * evaluatePolicyValidation's options from the primary's answers: discovery's answers for the
 * kinds and the CRDs serving them, and the permission answers unless the review is a dry run (deploy's preview, before it
 * applies the RBAC it plans for the policies, leaves nothing for the background controller to
 * do: the permissions are checked when the policy is created for real; Kyverno checks dry runs
 * too, but its RBAC does not follow its policies).
 */
function policyValidationOptions(answers: AccessAnswers | null, checksAccess: boolean): PolicyValidationOptions {
  if (!answers) return {};
  return {
    ...(answers.kinds ? { findResources: lookupFinder(answers.kinds) } : {}),
    ...(answers.crds?.length ? { customResources: answers.crds } : {}),
    ...(checksAccess ? { access: accessOptionsOf(answers) } : {}),
    ...(answers.grantWarnings?.length ? { grantWarnings: answers.grantWarnings } : {}),
  };
}
