/**
 * The Kyverno language service: pure functions from text (+ settings) to LSP-shaped
 * results, with no connection. server/src/main.ts adapts them to the protocol.
 */
export { parseFile, offsetAt, positionAt, DEFAULT_LIMITS, type ParsedFile, type ParsedDocument, type Range, type Position, type ParseLimits } from './documents';
export { validateFile, type ValidateOptions } from './validate';
export { complete, type CompletionItem, type CompletionSettings } from './complete';
export { hover, type Hover } from './hover';
export { documentSymbols, foldingRanges, definition, type DocumentSymbol, type FoldingRange, type Location } from './navigation';
export {
  evaluateManifests,
  evaluateManifestDocuments,
  manifestDiagnostics,
  manifestDocuments, manifestResources,
  workspacePolicies,
  policySet,
  mutationEdit,
  ManifestResults,
  type WorkspacePolicy,
  type WorkspaceRole,
  type PolicySet,
  type MutationData,
  type MutationFix,
  type ManifestOptions,
  type ManifestEvaluation,
} from './manifest';
export { Codes, Severity, type Diagnostic } from './codes';
export { isClassicPolicy, isCelPolicyDoc } from './kyverno-checks';
export { schemaKeys } from './schemas';
