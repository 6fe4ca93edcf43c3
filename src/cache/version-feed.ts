import { Client } from 'pg';
import { channelOf, parseNotice, readVersions, type VersionsRow } from '../db/versions';
import { Versions } from './versions';
import { within } from '../within';

export type FeedState = 'listening' | 'polling' | 'local' | 'stopped';

export interface VersionFeedOptions {
  versions: Versions;
  /** A pooled query, for the start-up read and for polling. */
  query: (sql: string, params: unknown[]) => Promise<VersionsRow[]>;
  /**
   * The database to LISTEN on, over a connection of its own (never one from the pool: it stays
   * idle in LISTEN for the life of the process); null on the embedded database, where every write
   * is made by this process and reaches Versions in-process after its commit.
   */
  listen: { url: string; schema?: string; connectTimeoutMs: number } | null;
  /** How often versions are polled while the notification connection is down. */
  pollMs?: number;
  /** First and longest wait between reconnection attempts (doubling, with jitter). */
  reconnectMs?: { min: number; max: number };
  /**
   * How often the LISTEN connection is asked `SELECT 1`, and how long the answer may take: a
   * connection that went silent without an error (a half-open TCP flow) is dropped as a lost one.
   */
  heartbeatMs?: number;
  log?: (message: string) => void;
}

/**
 * A poll looks back this far past the highest ratings version it saw: versions come from one
 * sequence at the start of each writing transaction, so a slow one commits a lower version after a
 * higher one was seen. Rating transactions are bounded by the statement and idle timeouts.
 */
const POLL_OVERLAP_MS = 10_000;

/** How long stop() waits for the LISTEN connection to close. */
const STOP_WAIT_MS = 500;

/**
 * Brings the versions other instances commit into this one's Versions: LISTEN/NOTIFY on a dedicated
 * connection (a notice arrives when its transaction commits); while that connection is down, the
 * versions are polled every pollMs and the connection is re-made with backoff, then polled once more
 * to catch up on what was committed in between. A connection can also die without telling: a
 * partition or a NAT that forgets the flow leaves it half-open, no error, no end, just no notices.
 * So it is asked `SELECT 1` every heartbeatMs, and one that does not answer within heartbeatMs is
 * destroyed and handled as lost.
 */
export class VersionFeed {
  private client: Client | null = null;
  private pid: number | null = null;
  private current: FeedState = 'stopped';
  private stopped = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reconnectDelay: number;
  private polling: Promise<void> | null = null;
  /** (time, highest ratings version then): the poll reads users above the mark of POLL_OVERLAP_MS ago. */
  private marks: { at: number; mark: number }[] = [];
  /** A failing poll is logged once, not every second of an outage. */
  private pollFailing = false;
  private readonly pollMs: number;
  private readonly reconnectMs: { min: number; max: number };
  private readonly heartbeatMs: number;
  private readonly log: (message: string) => void;
  /** Notices and polls taken in, reconnections, heartbeats left unanswered: for /health and tests. */
  readonly counts = { notices: 0, polls: 0, reconnects: 0, heartbeatTimeouts: 0 };

  constructor(private readonly options: VersionFeedOptions) {
    this.pollMs = options.pollMs ?? 1000;
    this.reconnectMs = options.reconnectMs ?? { min: 100, max: 5000 };
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.reconnectDelay = this.reconnectMs.min;
    this.log = options.log ?? (() => undefined);
  }

  /** Listens first, then reads the versions as they stand, so nothing committed in between is missed. */
  async start(): Promise<void> {
    this.stopped = false;
    if (!this.options.listen) {
      this.current = 'local';
      await this.poll(true);
      return;
    }
    try {
      await this.connect();
    } catch (error) {
      this.log(`version notices: cannot listen (${String(error)}); polling every ${this.pollMs} ms`);
      this.degrade();
    }
    await this.poll(true);
  }

  state(): FeedState {
    return this.current;
  }

  /** The backend pid of the LISTEN connection (null while down): what a fault drill terminates. */
  listenerPid(): number | null {
    return this.pid;
  }

  /** Reads every version once now (after an import by this process, say). */
  refresh(): Promise<void> {
    return this.poll(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current = 'stopped';
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.pollTimer = this.reconnectTimer = this.heartbeatTimer = null;
    const client = this.client;
    this.client = null;
    this.pid = null;
    // A stalled database may never answer the goodbye: shutdown does not wait for it.
    if (client)
      await within(
        STOP_WAIT_MS,
        client.end().catch(() => undefined),
      );
  }

  private async connect(): Promise<void> {
    const listen = this.options.listen!;
    const client = new Client({
      connectionString: listen.url,
      connectionTimeoutMillis: listen.connectTimeoutMs,
      keepAlive: true,
      ...(listen.schema ? { options: `-c search_path=${listen.schema},public` } : {}),
    });
    // Without a listener an 'error' event would throw; a lost connection is handled on 'end'.
    client.on('error', () => undefined);
    // connectionTimeoutMillis bounds the connect only; a flow that goes silent right after it would
    // hold the reconnection up for good.
    const bounded = async <T>(work: Promise<T>): Promise<T> => {
      const result = await within(this.heartbeatMs, work);
      if (result === 'timed out') throw new Error(`no answer within ${this.heartbeatMs} ms`);
      return result;
    };
    try {
      await client.connect();
      const [row] = (
        await bounded(client.query(`SELECT current_schema() AS schema, pg_backend_pid() AS pid`))
      ).rows;
      const channel = channelOf(row.schema as string);
      client.on('notification', (message) => {
        if (message.channel !== channel || !message.payload) return;
        const notice = parseNotice(message.payload);
        if (!notice) return;
        this.counts.notices++;
        this.options.versions.observe(notice);
      });
      await bounded(client.query(`LISTEN "${channel.replace(/"/g, '""')}"`));
      if (this.stopped) {
        await client.end();
        return;
      }
      client.on('end', () =>
        this.lose(client, 'version notices: the LISTEN connection was lost; polling until it is back'),
      );
      this.client = client;
      this.pid = row.pid as number;
      this.current = 'listening';
      this.reconnectDelay = this.reconnectMs.min;
      if (this.pollTimer) clearInterval(this.pollTimer);
      this.pollTimer = null;
      this.scheduleHeartbeat(client);
    } catch (error) {
      // Bounded too: end() waits for the server's goodbye, which a silent flow never sends.
      await within(
        STOP_WAIT_MS,
        client.end().catch(() => undefined),
      );
      throw error;
    }
  }

  /**
   * Lets go of the listening connection: destroyed, so a half-open one cannot come back half-alive
   * (answering late, or delivering some notices after polling took over); then polls and reconnects.
   */
  private lose(client: Client, message: string): void {
    if (this.client !== client) return;
    this.client = null;
    this.pid = null;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    client.connection.stream.destroy();
    if (this.stopped) return;
    this.log(message);
    this.degrade();
  }

  private scheduleHeartbeat(client: Client): void {
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      void this.heartbeat(client);
    }, this.heartbeatMs).unref();
  }

  private async heartbeat(client: Client): Promise<void> {
    if (this.client !== client) return;
    const answer = await within(this.heartbeatMs, client.query('SELECT 1')).catch(
      (error: unknown) => new Error(String(error)),
    );
    // Lost or stopped while asking: 'end' or stop() has dealt with it.
    if (this.client !== client) return;
    if (answer === 'timed out') {
      this.counts.heartbeatTimeouts++;
      this.lose(
        client,
        `version notices: the LISTEN connection did not answer a heartbeat within ${this.heartbeatMs} ms; ` +
          'polling until it is back',
      );
    } else if (answer instanceof Error)
      this.lose(
        client,
        `version notices: the LISTEN connection failed a heartbeat (${answer.message}); polling until it is back`,
      );
    else this.scheduleHeartbeat(client);
  }

  /** Polls every pollMs and tries to listen again after the backoff. */
  private degrade(): void {
    if (this.stopped) return;
    this.current = 'polling';
    this.pollTimer ??= setInterval(() => void this.poll(false), this.pollMs).unref();
    if (this.reconnectTimer) return;
    const delay = this.reconnectDelay * (0.75 + Math.random() / 2);
    this.reconnectDelay = Math.min(this.reconnectMs.max, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped) return;
      this.connect().then(
        async () => {
          this.counts.reconnects++;
          this.log('version notices: listening again');
          // What committed while nobody listened.
          await this.poll(false);
        },
        () => this.degrade(),
      );
    }, delay).unref();
  }

  private poll(initial: boolean): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.readOnce(initial)
      .then(() => {
        this.pollFailing = false;
      })
      .catch((error: unknown) => {
        // A poll in flight at stop() may meet the closed pool: nothing to report.
        if (this.stopped) return;
        if (!this.pollFailing)
          this.log(`version poll failed (retrying every ${this.pollMs} ms): ${String(error)}`);
        this.pollFailing = true;
      })
      .finally(() => {
        this.polling = null;
      });
    return this.polling;
  }

  private async readOnce(initial: boolean): Promise<void> {
    const { versions } = this.options;
    const now = Date.now();
    while (this.marks.length > 1 && this.marks[1].at <= now - POLL_OVERLAP_MS) this.marks.shift();
    const since = initial ? null : (this.marks[0]?.mark ?? versions.highestUserVersion);
    const read = await readVersions(this.options.query, since);
    this.counts.polls++;
    for (const row of read) {
      if (row.kind === 'catalog') versions.observe({ kind: 'catalog', version: row.version });
      else if (row.kind === 'index') versions.observe({ kind: 'index', version: row.version });
      else if (row.kind === 'm') {
        if (row.version > 0) versions.observe({ kind: 'model', version: row.version });
      } else if (row.id === 0) {
        if (row.version > versions.highestUserVersion) versions.highestUserVersion = row.version;
      } else versions.observe({ kind: 'user', userId: row.id, version: row.version });
    }
    this.marks.push({ at: now, mark: versions.highestUserVersion });
  }
}
