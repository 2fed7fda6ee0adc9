/** What every in-process or spawned local AWS stand-in hands back. */
export interface LocalService {
  /** `http://127.0.0.1:<port>`, the value for the matching `AWS_ENDPOINT_URL_*`. */
  readonly url: string;
  close(): Promise<void>;
}
