/**
 * The Kubernetes API's error and object-reference vocabulary, apart from client.ts so that code
 * which only handles API errors (the webhook's controllers, reports, events) does not load
 * @kubernetes/client-node when a command never talks to a cluster.
 */
export type JsonObject = Record<string, unknown>;

export const FIELD_MANAGER = 'kyverno-studio';

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }
}

/** The API server's own message (its Status), without the client's "GET <path>: " prefix. */
export function statusMessage(e: KubeError): string {
  return e.message.replace(/^[A-Z]+ \S+: /, '');
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function refOf(obj: JsonObject): ObjectRef {
  const meta = (obj.metadata ?? {}) as JsonObject;
  return { apiVersion: String(obj.apiVersion), kind: String(obj.kind), name: String(meta.name), namespace: meta.namespace ? String(meta.namespace) : undefined };
}

export function describeRef(r: ObjectRef): string {
  return r.namespace ? `${r.kind} ${r.namespace}/${r.name}` : `${r.kind} ${r.name}`;
}

/** Turns a 409 from server-side apply into "who owns which field", Kubernetes' own wording kept. */
export function conflictText(e: KubeError): string {
  const causes = ((e.details?.causes ?? []) as Array<{ message?: string; field?: string }>).map((c) => `  - ${c.message ?? ''}${c.field ? ` (${c.field})` : ''}`);
  return causes.length ? `${e.message.split(':')[0]}: conflicts with other field managers:\n${causes.join('\n')}` : e.message;
}
