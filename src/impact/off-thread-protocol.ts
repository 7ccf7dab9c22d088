/** Messages between OffThreadModel and its worker. */
export interface WorkerSetup {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly modelOptions: unknown;
}
export interface BatchRequest {
  readonly id: number;
  readonly texts: readonly string[];
}
export type BatchReply =
  | { readonly type: 'batch'; readonly id: number; readonly results: Float64Array; readonly error?: undefined }
  | { readonly type: 'batch'; readonly id: number; readonly error: string; readonly results?: undefined };
export type WorkerEvent = { readonly type: 'ready'; readonly name: string } | { readonly type: 'failed'; readonly error: string } | BatchReply;
