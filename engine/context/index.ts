export { baseScope, scopeWithoutImages, requestVariable, requestResource, serviceAccountOf } from './request';
export { extractImages } from './images';
export type { ImageInfo } from './images';
export { loadContextEntries } from './entries';
export type { ContextEnvironment, ContextLoadResult } from './entries';
export { answerApiCall, apiServerAnswer, findApiCallMock, mockStatus } from './apicall';
export { apiServerGet, apiServerList, crdOf, objectsOfType, namespaceOf, parseApiPath, readRefusal } from './api-server';
export type { ApiCallAnswer } from './apicall';
export { addGlobalContextEntries, globalContextEntryData, isGlobalContextEntry, setGlobalContextEntry, storedEntryGet } from './global-context';
