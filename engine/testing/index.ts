export type { TestRow, TestFileResult, ExpectedResult, TestSpec, EngineResponse, ResourceSpec } from './types';
export {
  combineTestResults,
  failedTest,
  runLoadedTest,
  runTestDocument,
  runTestText,
  testDocumentsOf,
  testFormatError,
  testInputPaths,
  testFilePassed,
  type RunTestOptions,
  type RunTimings,
} from './run';
export {
  computeCoverage,
  coverageByFolder,
  coverageRanges,
  coverageTotals,
  mergeCoverage,
  type CoverageCounts,
  type CoveragePart,
  type CoverageRange,
  type PolicyCoverage,
  type PolicySource,
  type RuleCoverage,
} from './coverage';
export { readTestSpec, referencedPaths, testFormatProblems, TestSpecError } from './spec';
export { evaluateResources, evaluateResource, operationFrom, type EvaluationInput, type PolicyApplier, type ResourceEvaluation } from '../evaluate';
export { decideResult, indexResponses, lookupRules, reportResult, selectResources } from './decide';
export { tidy, resourcesEqual, fixupGenerateLabels } from './compare';
export {
  loadDocuments,
  filesAt,
  toTestValues,
  toRequestInfo,
  emptyCluster,
  addContext,
  namespaceLabelsOf,
  namespacesOf,
  checkPolicyShape,
  checkResourceShape,
  invalidPolicy,
  type InvalidPolicy,
  InputError,
  withDefaultNamespace,
  type FileSource,
} from './inputs';
export { resolvePath, dirname, normalizePath } from './paths';
export { policyFamilies, testFamilies, FAMILY_LABELS, type PolicyFamily } from './families';
export { networkNeeds } from './network';
export {
  evaluateAuthzPayload,
  evaluateJsonPayload,
  isAuthzPolicy,
  isJsonModePolicy,
  loadAuthzPayload,
  loadJsonPayload,
  PayloadError,
  type Payload,
} from './payloads';
