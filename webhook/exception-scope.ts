/**
 * Which PolicyExceptions take effect, as Kyverno's --enablePolicyException and
 * --exceptionNamespace decide (cmd/internal/engine.go NewExceptionSelector for the classic
 * kyverno.io exceptions, pkg/cel/engine/exception.go NewPolicyExceptionLister for the CEL
 * policies.kyverno.io ones, both turned off together by the flag in cmd/kyverno/main.go). Pure.
 *
 * Our default differs from Kyverno's flags on purpose: every exception applies (as with
 * Kyverno's chart once `features.policyExceptions` is enabled with namespace `*`), since an
 * exception someone wrote into the cluster is meant to work.
 */
import { asObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';

export interface ExceptionScope {
  /** --enable-policy-exception (Kyverno's --enablePolicyException); false: no exception applies. */
  enabled: boolean;
  /** --exception-namespace (Kyverno's --exceptionNamespace): `*` every namespace, else only this one. */
  namespace: string;
}

export const DEFAULT_EXCEPTION_SCOPE: ExceptionScope = { enabled: true, namespace: '*' };

const isCelException = (o: JsonObject) => String(o.apiVersion ?? '').startsWith('policies.kyverno.io/');

/**
 * The exceptions that apply. An empty namespace is Kyverno's misconfiguration: it then applies
 * no classic exception (it logs "--exceptionNamespace cannot be empty") but every CEL one.
 */
export function exceptionsInScope(exceptions: JsonObject[], scope: ExceptionScope = DEFAULT_EXCEPTION_SCOPE): JsonObject[] {
  if (!scope.enabled) return [];
  if (scope.namespace === '*') return exceptions;
  return exceptions.filter((e) => {
    if (scope.namespace === '') return isCelException(e);
    return asObject(e.metadata).namespace === scope.namespace;
  });
}

