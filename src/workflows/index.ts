// The worker bundles this file: workflow code only, no I/O, no Node built-ins.
export { systemCheck, type SystemCheckInput } from './system-check';
export { ingestDocument, progressQuery, cancelSignal, type IngestInput, type IngestProgress } from './ingest-document';
export { deleteDocument } from './delete-document';
export { ingestBatch, batchProgressQuery, type BatchInput, type BatchProgress } from './ingest-batch';
export { answerQuery, type AnswerWorkflowInput } from './answer-query';
export { batchQuery, batchQueryProgress, type BatchQueryInput, type BatchQueryProgress } from './batch-query';
export { migrateVectors, type MigrateVectorsInput, type MigrateVectorsResult } from './migrate-vectors';
export { optimizeModels, optimizationState, decisionSignal, type OptimizeModelsInput, type OptimizeModelsState } from './optimize-models';
