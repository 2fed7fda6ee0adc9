/**
 * `appdata-summary`: what the app keeps in the user's Drive app data folder — file count,
 * total bytes and newest modification time — reading every page but only the two fields
 * it needs, so a large folder costs few, small responses.
 */
import type { OfflineJob } from './types';

export const DRIVE_APPDATA_SCOPE = 'https://www.googleapis.com/auth/drive.appdata';

export interface AppDataSummary extends Record<string, unknown> {
  fileCount: number;
  totalBytes: number;
  /** RFC 3339; null when the folder is empty. */
  newestModifiedTime: string | null;
}

export const appDataSummaryJob: OfflineJob = {
  name: 'appdata-summary',
  requiredScopes: [DRIVE_APPDATA_SCOPE],
  async run({ drive }): Promise<AppDataSummary> {
    const summary: AppDataSummary = { fileCount: 0, totalBytes: 0, newestModifiedTime: null };
    let newestMs = -Infinity;
    let pageToken: string | undefined;
    do {
      const { data } = await drive.files.list({
        spaces: 'appDataFolder',
        fields: 'nextPageToken, files(size, modifiedTime)',
        pageSize: 1000,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const file of data.files ?? []) {
        summary.fileCount += 1;
        // Drive sends int64 sizes as strings; Google Docs-type files have none.
        summary.totalBytes += Number(file.size ?? 0);
        const modifiedMs = file.modifiedTime ? Date.parse(file.modifiedTime) : NaN;
        if (modifiedMs > newestMs) {
          newestMs = modifiedMs;
          summary.newestModifiedTime = file.modifiedTime ?? null;
        }
      }
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    return summary;
  },
};
