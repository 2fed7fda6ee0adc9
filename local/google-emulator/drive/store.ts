/**
 * Per-user Drive contents: a My Drive root and an app data folder (each user has one
 * per app), holding file metadata. Contents are not kept, only their size.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorClock } from '../clock';

const FOLDER_MIME_TYPE = 'application/vnd.google-apps.folder';
const APP_DATA_ALIAS = 'appDataFolder';
const ROOT_ALIAS = 'root';

export type DriveSpace = 'drive' | 'appDataFolder';

export interface StoredFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  space: DriveSpace;
  createdMs: number;
  modifiedMs: number;
  /** Bytes; undefined for folders. */
  size?: number;
  /** Creation order, for stable paging. */
  sequence: number;
}

/** A file as Drive v3 returns it with `fields=*` (the subset the emulator models). */
export interface DriveFileResource {
  kind: 'drive#file';
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  spaces: DriveSpace[];
  createdTime: string;
  modifiedTime: string;
  size?: string;
  trashed: false;
}

export interface NewFile {
  name: string;
  mimeType: string;
  /** A folder id or the `appDataFolder` / `root` alias. */
  parentId: string;
  /** Bytes of content (default 0; ignored for folders). */
  size?: number;
  modifiedMs?: number;
}

/** One entry of a user's change log (what `changes.list` returns). */
export interface FileChange {
  /** Position in the user's change log; page tokens point into it. */
  sequence: number;
  fileId: string;
  space: DriveSpace;
  removed: boolean;
  timeMs: number;
  /** The file as it is now; absent once removed. */
  file?: StoredFile;
}

export type ChangeListener = (change: FileChange) => void;

export class ParentNotFoundError extends Error {
  constructor(readonly parentId: string) {
    super(`File not found: ${parentId}.`);
  }
}

export class UserDrive {
  readonly root: StoredFile;
  readonly appData: StoredFile;
  private readonly files = new Map<string, StoredFile>();
  private nextSequence = 0;
  private readonly changes: FileChange[] = [];
  /** Page tokens minted before the latest expiry carry an older epoch and are rejected. */
  private tokenEpoch = 0;

  constructor(
    private readonly clock: EmulatorClock,
    private readonly onChange: ChangeListener = () => undefined,
  ) {
    this.root = this.insertFolder('My Drive', 'drive');
    this.appData = this.insertFolder(APP_DATA_ALIAS, 'appDataFolder');
  }

  get(idOrAlias: string): StoredFile | undefined {
    if (idOrAlias === APP_DATA_ALIAS) return this.appData;
    if (idOrAlias === ROOT_ALIAS) return this.root;
    return this.files.get(idOrAlias);
  }

  create(file: NewFile): StoredFile {
    const parent = this.get(file.parentId);
    if (!parent || parent.mimeType !== FOLDER_MIME_TYPE) throw new ParentNotFoundError(file.parentId);
    const now = this.clock.nowMs();
    const stored = this.insert({
      id: newFileId(),
      name: file.name,
      mimeType: file.mimeType,
      parents: [parent.id],
      space: parent.space,
      createdMs: now,
      modifiedMs: file.modifiedMs ?? now,
      size: file.mimeType === FOLDER_MIME_TYPE ? undefined : (file.size ?? 0),
    });
    this.recordChange(stored, false);
    return stored;
  }

  /** Deletes a file (not a space root); false when there is none. */
  delete(fileId: string): boolean {
    const file = this.files.get(fileId);
    if (!file || file === this.root || file === this.appData) return false;
    this.files.delete(fileId);
    this.recordChange(file, true);
    return true;
  }

  /** Where the change log ends now: the position the next change will take. */
  get changeLogEnd(): number {
    return this.changes.length;
  }

  get pageTokenEpoch(): number {
    return this.tokenEpoch;
  }

  /** Every page token handed out so far stops working (as Google's do after long disuse). */
  expirePageTokens(): void {
    this.tokenEpoch += 1;
  }

  /** Changes from position `from` on, in order. */
  changesSince(from: number): FileChange[] {
    return this.changes.slice(from);
  }

  private recordChange(file: StoredFile, removed: boolean): void {
    const change: FileChange = {
      sequence: this.changes.length,
      fileId: file.id,
      space: file.space,
      removed,
      timeMs: this.clock.nowMs(),
      ...(removed ? {} : { file }),
    };
    this.changes.push(change);
    this.onChange(change);
  }

  /** Files (not the space roots) in any of `spaces`, in creation order. */
  list(spaces: readonly DriveSpace[]): StoredFile[] {
    return [...this.files.values()].filter(
      (file) => file !== this.root && file !== this.appData && spaces.includes(file.space),
    );
  }

  private insertFolder(name: string, space: DriveSpace): StoredFile {
    const now = this.clock.nowMs();
    return this.insert({
      id: newFileId(),
      name,
      mimeType: FOLDER_MIME_TYPE,
      parents: [],
      space,
      createdMs: now,
      modifiedMs: now,
    });
  }

  private insert(file: Omit<StoredFile, 'sequence'>): StoredFile {
    const stored = { ...file, sequence: this.nextSequence++ };
    this.files.set(stored.id, stored);
    return stored;
  }
}

export class DriveStore {
  private readonly drives = new Map<string, UserDrive>();

  constructor(
    private readonly clock: EmulatorClock,
    /** Told of every change in anyone's Drive (push notifications). */
    private readonly onChange: (owner: string, change: FileChange) => void = () => undefined,
  ) {}

  /** The owner's Drive, created empty on first use. */
  of(owner: string): UserDrive {
    let drive = this.drives.get(owner);
    if (!drive) {
      drive = new UserDrive(this.clock, (change) => this.onChange(owner, change));
      this.drives.set(owner, drive);
    }
    return drive;
  }
}

export function toResource(file: StoredFile): DriveFileResource {
  return {
    kind: 'drive#file',
    id: file.id,
    name: file.name,
    mimeType: file.mimeType,
    parents: file.parents,
    spaces: [file.space],
    createdTime: new Date(file.createdMs).toISOString(),
    modifiedTime: new Date(file.modifiedMs).toISOString(),
    ...(file.size === undefined ? {} : { size: String(file.size) }),
    trashed: false,
  };
}

/** Drive ids are 33 URL-safe characters. */
function newFileId(): string {
  return `1${randomBytes(24).toString('base64url')}`;
}
