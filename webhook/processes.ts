/**
 * The primary's side of the server processes: forks them, hands each accepted connection to
 * the next ready one, keeps them fed with policies, and replaces any that dies or stops
 * beating. A process whose heartbeat is older than the review deadline plus a grace is stuck
 * in work no budget reaches: it is killed, its connections drop, and the API server applies
 * the webhook's failurePolicy, as it would for a 504.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { WebhookMetrics, processStats, type MetricsSnapshot } from './metrics';
import type { EventInfo } from './event-info';
import { errorReply } from './evaluate';
import { SERVER_PROCESS_ROLE } from './server-process';
import type { FromServerProcess, GeneratedItem, LiveSettings, ReportableWithResource, ReviewReply, ReviewRequest, ServerProcessSettings, ToServerProcess } from './protocol';
import { reviewDeadlinesMs } from './rules';
import type { NamespaceState } from './namespaces';
import type { LiveContextState } from './live-context';
import type { AccessAnswers } from './access-review';

interface Member {
  proc: ChildProcess;
  ready: boolean;
  lastBeat: number;
  /** The counters from its latest heartbeat: kept when it dies, so totals never go back. */
  snapshot?: MetricsSnapshot;
  bootTimer: NodeJS.Timeout;
}

/** A connection sent to a process and not yet acknowledged: it is ours to close if the process dies. */
interface Handover {
  socket: Socket;
  member: Member;
}

interface Waiting<T> {
  resolve: (v: T) => void;
  timer: NodeJS.Timeout;
  member: Member;
}

export interface ProcessOptions {
  script: string;
  count: number;
  settings: ServerProcessSettings;
  log: (line: string) => void;
  onReportable?: (items: ReportableWithResource[]) => void;
  onEvents?: (items: EventInfo[]) => void;
  onGenerated?: (items: GeneratedItem[]) => void;
  /** Asks the API server a policy's permission questions (cluster mode); absent: no check. */
  accessAnswers?: (policy: JsonObject, checksAccess: boolean, warnsOfGrants: boolean) => Promise<AccessAnswers>;
  /** apiCall POSTs to the API server (cluster mode); absent: refused. */
  apiPost?: (path: string, body: JsonObject) => Promise<unknown>;
  /** What the primary itself records (policy changes, rule info, generating policies' results), summed into /metrics. */
  metrics?: WebhookMetrics;
}

const BOOT_TIMEOUT_MS = 30_000;

/**
 * How long past a review's deadline a silent process is left alone. The engine's budgets look
 * at the deadline as they charge (engine/core/budget), so a hostile review normally ends with
 * a 504 within milliseconds of it and the process, with the innocent reviews queued behind it,
 * goes on; only work no budget reaches (one huge native step) outlasts the grace and costs
 * the process.
 */
export function watchdogGraceMs(timeoutMs: number): number {
  return Math.max(2000, Math.floor(timeoutMs / 2));
}
const MAX_PARKED_CONNECTIONS = 1000;
const SNAPSHOT_WAIT_MS = 500;

export class ServerProcesses {
  private members: Member[] = [];
  private next = 0;
  private closed = false;
  private policyMessage: ToServerProcess | null = null;
  /** The last namespace state, remembered like the policies so a restarted process gets it. */
  private namespaceMessage: ToServerProcess | null = null;
  private contextMessage: ToServerProcess | null = null;
  /** Connections accepted while no process is ready (start-up, all replaced at once). */
  private parked: Socket[] = [];
  private readonly retired = new WebhookMetrics();
  private readonly reviews = new Map<number, Waiting<ReviewReply>>();
  private readonly snapshots = new Map<number, Waiting<MetricsSnapshot | undefined>>();
  private nextId = 1;
  private readonly handovers = new Map<number, Handover>();
  private failedStarts = 0;
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly opts: ProcessOptions) {
    for (let i = 0; i < opts.count; i++) this.members.push(this.spawn());
    this.watchdog = setInterval(() => this.checkHeartbeats(), opts.settings.heartbeatMs);
    this.watchdog.unref();
  }

  private spawn(): Member {
    const proc = fork(this.opts.script, [], {
      // Electron-based hosts (VS Code's extension host) run the bundle as plain Node.
      env: { ...process.env, KYVERNO_STUDIO_ROLE: SERVER_PROCESS_ROLE, ELECTRON_RUN_AS_NODE: '1' },
      execArgv: process.execArgv.filter((a) => a.startsWith('--cpu-prof') || a.startsWith('--max-old-space-size')),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const member: Member = {
      proc,
      ready: false,
      lastBeat: Date.now(),
      bootTimer: setTimeout(() => this.replace(member, 'server process did not start'), BOOT_TIMEOUT_MS),
    };
    member.bootTimer.unref();
    proc.on('message', (m: FromServerProcess) => this.onMessage(member, m));
    proc.on('error', (e) => this.replace(member, `server process failed: ${e.message}`));
    proc.on('exit', (code, signal) => {
      if (!this.closed && this.members.includes(member)) this.replace(member, `server process exited (${signal ?? code})`);
    });
    proc.send({ type: 'settings', settings: this.opts.settings } satisfies ToServerProcess);
    if (this.policyMessage) proc.send(this.policyMessage);
    if (this.namespaceMessage) proc.send(this.namespaceMessage);
    if (this.contextMessage) proc.send(this.contextMessage);
    return member;
  }

  private onMessage(member: Member, m: FromServerProcess): void {
    switch (m.type) {
      case 'ready':
        member.ready = true;
        member.lastBeat = Date.now();
        clearTimeout(member.bootTimer);
        for (const socket of this.parked.splice(0)) this.dispatch(socket);
        return;
      case 'heartbeat':
        member.lastBeat = Date.now();
        member.snapshot = m.snapshot;
        return;
      case 'accepted':
        this.handovers.get(m.id)?.socket.destroy();
        this.handovers.delete(m.id);
        return;
      case 'answer':
        return this.settle(this.reviews, m.id, m.reply);
      case 'metrics-snapshot':
        member.snapshot = m.snapshot;
        return this.settle(this.snapshots, m.id, m.snapshot);
      case 'metrics-wanted':
        member.snapshot = m.snapshot;
        void this.metricsText(member).then((text) => this.post(member, { type: 'metrics-text', id: m.id, text }));
        return;
      case 'reportable':
        this.opts.onReportable?.(m.items);
        return;
      case 'events':
        this.opts.onEvents?.(m.items);
        return;
      case 'generated':
        this.opts.onGenerated?.(m.items);
        return;
      case 'log':
        this.opts.log(m.line);
        return;
      case 'api-post': {
        const post = this.opts.apiPost;
        if (!post) return void this.post(member, { type: 'api-post-answer', id: m.id, answer: { error: 'no API server to post to' } });
        void post(m.path, m.body).then(
          (body) => this.post(member, { type: 'api-post-answer', id: m.id, answer: { body } }),
          (e) => this.post(member, { type: 'api-post-answer', id: m.id, answer: { error: (e as Error).message } }),
        );
        return;
      }
      case 'access-wanted': {
        const ask = this.opts.accessAnswers;
        if (!ask) return void this.post(member, { type: 'access-answers', id: m.id, answers: null });
        void ask(m.policy, m.checksAccess, m.warnsOfGrants).then(
          (answers) => this.post(member, { type: 'access-answers', id: m.id, answers }),
          (e) => {
            this.opts.log(`policy permission check failed: ${(e as Error).message}`);
            this.post(member, { type: 'access-answers', id: m.id, answers: null });
          },
        );
        return;
      }
    }
  }

  private post(member: Member, m: ToServerProcess, handle?: Socket): boolean {
    if (!member.proc.connected) return false;
    try {
      // keepOpen: our copy of a connection stays ours to close (on 'accepted', or when the
      // process dies before taking it); otherwise Node holds it until an acknowledgement that a
      // stuck process never sends, and the client hangs.
      if (handle) member.proc.send(m, handle, { keepOpen: true });
      else member.proc.send(m);
      return true;
    } catch {
      return false;
    }
  }

  private checkHeartbeats(): void {
    const now = Date.now();
    const { timeoutMs } = this.opts.settings;
    for (const m of this.members) {
      if (m.ready && now - m.lastBeat > timeoutMs + watchdogGraceMs(timeoutMs)) {
        this.replace(m, `a review ran past its ${timeoutMs} ms deadline; server process ${m.proc.pid} restarted (its open requests fail, the failurePolicy applies)`);
      }
    }
  }

  /** Replaces a dead or stuck process; what it owed (reviews, snapshots) is settled now. */
  private replace(member: Member, reason: string): void {
    const i = this.members.indexOf(member);
    if (i < 0 || this.closed) return;
    this.opts.log(reason);
    clearTimeout(member.bootTimer);
    if (member.snapshot) this.retired.add(member.snapshot);
    // A process that dies before it is ready will die again (a broken bundle, no memory): back
    // off instead of forking in a tight loop.
    this.failedStarts = member.ready ? 0 : this.failedStarts + 1;
    if (this.failedStarts === 0) this.members[i] = this.spawn();
    else {
      const delay = Math.min(30_000, 250 * 2 ** (this.failedStarts - 1));
      this.opts.log(`server process failed to start ${this.failedStarts} time(s) in a row; next try in ${delay} ms`);
      this.members.splice(i, 1);
      const timer = setTimeout(() => {
        this.respawns.delete(timer);
        if (!this.closed) this.members.push(this.spawn());
      }, delay);
      this.respawns.add(timer);
    }
    member.proc.kill('SIGKILL');
    for (const [id, w] of this.reviews) if (w.member === member) this.settle(this.reviews, id, errorReply(500, reason));
    // Connections it never took: closing our copy lets their clients see the failure now.
    for (const [id, h] of this.handovers) {
      if (h.member !== member) continue;
      this.handovers.delete(id);
      h.socket.destroy();
    }
    for (const [id, w] of this.snapshots) if (w.member === member) this.settle(this.snapshots, id, undefined);
  }

  private settle<T>(table: Map<number, Waiting<T>>, id: number, value: T): void {
    const w = table.get(id);
    if (!w) return;
    table.delete(id);
    clearTimeout(w.timer);
    w.resolve(value);
  }

  private ask<T>(table: Map<number, Waiting<T>>, member: Member, message: (id: number) => ToServerProcess, waitMs: number, fallback: T): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(table, id, fallback), waitMs);
      table.set(id, { resolve, timer, member });
      if (!this.post(member, message(id))) this.settle(table, id, fallback);
    });
  }

  /** Hands an accepted connection to the next ready process (round robin). */
  dispatch(socket: Socket): void {
    const live = this.members.filter((m) => m.ready && m.proc.connected);
    // A process that missed its last beats is busy or stuck: new connections go elsewhere.
    const beating = live.filter((m) => Date.now() - m.lastBeat < 3 * this.opts.settings.heartbeatMs);
    const ready = beating.length ? beating : live;
    if (ready.length === 0) {
      if (this.parked.length >= MAX_PARKED_CONNECTIONS) socket.destroy();
      else this.parked.push(socket);
      return;
    }
    const member = ready[this.next++ % ready.length];
    const id = this.nextId++;
    this.handovers.set(id, { socket, member });
    if (!this.post(member, { type: 'connection', id }, socket)) {
      this.handovers.delete(id);
      socket.destroy();
    }
  }

  setPolicies(policies: JsonObject[], cluster: ClusterState): void {
    this.policyMessage = { type: 'policies', policies, cluster, deadlinesMs: reviewDeadlinesMs(policies, this.opts.settings.webhookTimeoutSeconds) };
    for (const m of this.members) this.post(m, this.policyMessage);
  }

  /** The cluster's Namespaces changed: a light message, the processes keep their PolicyIndex. */
  setNamespaces(namespaces: NamespaceState): void {
    this.namespaceMessage = { type: 'namespaces', namespaces };
    for (const m of this.members) this.post(m, this.namespaceMessage);
  }

  /** What the policies read from the cluster changed: like namespaces, the PolicyIndex stays. */
  setContext(context: LiveContextState): void {
    this.contextMessage = { type: 'context', context };
    for (const m of this.members) this.post(m, this.contextMessage);
  }

  /** Kyverno's ConfigMap changed: the running processes take the new settings, and so does any started later. */
  setLiveSettings(live: LiveSettings): void {
    this.opts.settings = { ...this.opts.settings, ...live };
    for (const m of this.members) this.post(m, { type: 'configuration', configuration: live });
  }

  /** Evaluates a review in one of the processes, without HTTP (background scans). */
  review(review: ReviewRequest): Promise<ReviewReply> {
    const ready = this.members.filter((m) => m.ready);
    const member = ready.length ? ready[this.next++ % ready.length] : this.members[0];
    if (!member) return Promise.resolve(errorReply(503, 'no server process is running (restarting after failed starts)'));
    const timeoutMs = this.opts.settings.timeoutMs;
    return this.ask(this.reviews, member, (id) => ({ type: 'review', id, review }), 2 * timeoutMs + BOOT_TIMEOUT_MS,
      errorReply(504, `policy evaluation exceeded ${timeoutMs} ms`));
  }

  /** Prometheus text summing every process, live ones asked for fresh counters. */
  /** Metric families of the primary's own controllers (cleanup), appended to the exposition. */
  readonly metricsSources: Array<() => string> = [];

  async metricsText(asking?: Member): Promise<string> {
    const fresh = await Promise.all(
      this.members.map((m) => (m === asking || !m.ready ? Promise.resolve(m.snapshot) : this.ask(this.snapshots, m, (id) => ({ type: 'metrics-snapshot', id }), SNAPSHOT_WAIT_MS, m.snapshot))),
    );
    const total = new WebhookMetrics();
    // Counters of replaced processes go on; their memory does not.
    total.add(this.retired.snapshot());
    if (this.opts.metrics) total.add(this.opts.metrics.snapshot());
    for (const s of fresh) if (s) total.add(s);
    total.addProcess(processStats());
    return total.render() + this.metricsSources.map((source) => source()).join('');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    for (const t of this.respawns) clearTimeout(t);
    for (const s of this.parked.splice(0)) s.destroy();
    for (const h of this.handovers.values()) h.socket.destroy();
    this.handovers.clear();
    await Promise.all(
      this.members.map(
        (m) =>
          new Promise<void>((resolve) => {
            clearTimeout(m.bootTimer);
            if (m.proc.exitCode !== null || m.proc.signalCode !== null) return resolve();
            const kill = setTimeout(() => m.proc.kill('SIGKILL'), 2000);
            m.proc.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (!this.post(m, { type: 'close' })) m.proc.kill('SIGKILL');
          }),
      ),
    );
  }
}
