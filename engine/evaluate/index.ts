/** One evaluation path (policies × resources as Kyverno's CLI runs them) and its offline cluster. */
export {
  evaluateResource,
  evaluateResources,
  operationFrom,
  policyPhase,
  isKyvernoPolicy,
  ResponseMemo,
  type EngineResponse,
  type EvaluationInput,
  type PolicyApplier,
  type ResourceEvaluation,
} from './evaluate';
export { emptyCluster, offlineCluster, namespaceLabelsOf, type OfflineClusterInput } from './cluster';
export { PolicyKindIndex, kindTarget, objectTarget, type KindTarget } from './candidates';
