export {
  type KindSelector,
  containsKind,
  formatApiVersion,
  groupVersionMatches,
  isVersionLike,
  kindSelectorsMatch,
  parseApiVersion,
  parseKindSelector,
  resourceGVK,
  splitKindSelector,
  splitSubresource,
} from './selectors';
export {
  type KnownKind,
  KNOWN_KINDS,
  findKnownKinds,
  inferGVK,
  isNamespacedKind,
  knownKindOfResource,
  lookupKnownKind,
  pluralOf,
  qualifiedKind,
} from './known-kinds';
export { type KindResource, type KindTable, type ServedResource, builtInKindTable, findBuiltInResources, findResources, kindTableWith, knownKindTable, resolveKind } from './kind-table';
export { type CrdSchema, crdSchemaOf } from './crd';
export { MANAGED_BY_LABEL } from './labels';
