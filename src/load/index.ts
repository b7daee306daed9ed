/**
 * `redpool/load`: the programmatic load generator behind `redpool bench` — workloads, latency
 * histograms, server-side deltas from INFO, and the HTML report.
 */
export { runLoad, WORKLOADS } from './run-load.js';
export type { LoadOptions, LoadProgress, LoadResult, ClassResult, TimelinePoint, Workload } from './run-load.js';
export { LatencyRecorder } from './histogram.js';
export type { LatencySummary, HistogramBucket } from './histogram.js';
export { poolClient, perOperationClient, ioredisOptions } from './clients.js';
export type { LoadClient } from './clients.js';
export { parseInfo, infoNumber, keyspaceKeys, openToolPool, readInfo, ServerSampler } from './server-info.js';
export type { InfoFields, ServerDelta } from './server-info.js';
export { renderHtmlReport } from './report.js';
export { fmtMs, fmtCount, fmtRatio, fmtBytes } from './format.js';
export type { LoadReport, ReportRun } from './report.js';
