/**
 * The company's in-process consumers of `drive-changes` batches, compiled into the refresh
 * worker. Add yours here; each runs before the `Drive Changes` event is published, with the
 * user's Drive client, and must be idempotent (a batch can come twice). Consumers in other
 * services subscribe to the EventBridge event instead.
 */
import type { DriveChangesHandler } from './drive-changes';

export const DRIVE_CHANGES_HANDLERS: readonly DriveChangesHandler[] = [];
