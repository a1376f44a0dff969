export { baseScope, requestVariable, requestResource, serviceAccountOf } from './request';
export { extractImages, parseImage } from './images';
export type { ImageInfo } from './images';
export { loadContextEntries } from './entries';
export type { ContextEnvironment, ContextLoadResult } from './entries';
export { answerApiCall, pluralOf } from './apicall';
export type { ApiCallAnswer } from './apicall';
