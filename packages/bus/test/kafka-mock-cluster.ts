import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { topicNames, topics } from '@iceberg/contracts';

/**
 * A Kafka-protocol cluster for tests: librdkafka's mock cluster (Debian's librdkafka-dev) hosted
 * by tools/kafka-mock/mock-cluster.c, built on demand into .cache/kafka-mock/. Brokers listen on
 * 127.0.0.1 at random ports; brokers can be taken down and brought back; data is kept.
 */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const source = join(repoRoot, 'tools/kafka-mock/mock-cluster.c');
const binary = join(repoRoot, '.cache/kafka-mock/mock-cluster');

/**
 * The mock cluster completes a rebalance only when the group's session timeout (less 1 s)
 * has passed after a member joins or leaves (a real broker moves on once all members rejoined):
 * tests use a short session.
 */
export const mockClusterSettings = { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000 };

export function buildMockCluster(): string {
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    const r = spawnSync('bash', [join(repoRoot, 'tools/kafka-mock/build.sh')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the mock Kafka cluster failed:\n${r.stderr}`);
  }
  return binary;
}

export class MockKafkaCluster {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string) => void> = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly bootstrap: string,
    readonly brokerCount: number,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
  }

  static async start(brokers = 3): Promise<MockKafkaCluster> {
    const bin = buildMockCluster();
    const child = spawn(bin, [String(brokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const first = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout });
      rl.once('line', (line) => {
        rl.close();
        resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`mock cluster exited (${code}): ${stderr}`)));
    });
    const m = /^bootstrap (\S+)$/.exec(first);
    if (!m) throw new Error(`mock cluster said "${first}"`);
    return new MockKafkaCluster(child, m[1]!, brokers);
  }

  get brokers(): string[] {
    return this.bootstrap.split(',');
  }

  /** Sends one command and waits for its "ok …" (commands run one at a time). */
  command(line: string): Promise<string> {
    const run = async () => {
      const answer = new Promise<string>((resolve) => {
        const buffered = this.lines.shift();
        if (buffered !== undefined) resolve(buffered);
        else this.waiters.push(resolve);
      });
      this.child.stdin.write(`${line}\n`);
      const reply = await answer;
      if (!reply.startsWith('ok')) throw new Error(`mock cluster: ${line} → ${reply}`);
      return reply;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    await this.command(`topic ${name} ${partitions}`);
  }

  /** Every topic of the registry, with the prefix. */
  async createIcebergTopics(prefix = 'iceberg.', partitions = 6): Promise<void> {
    for (const t of topicNames) await this.createTopic(prefix + topics[t].name, partitions);
  }

  async down(broker: number | 'all' = 'all'): Promise<void> {
    await this.command(`down ${broker}`);
  }

  async up(broker: number | 'all' = 'all'): Promise<void> {
    await this.command(`up ${broker}`);
  }

  /** Every message of a topic (`iceberg.` + `name`), read with kcat from the beginning, as JSON. */
  readTopic<T>(name: string): T[] {
    const out = kcat([
      '-b',
      this.bootstrap,
      '-C',
      '-t',
      `iceberg.${name}`,
      '-o',
      'beginning',
      '-e',
      '-q',
    ]).trim();
    return out ? out.split('\n').map((l) => JSON.parse(l) as T) : [];
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Debian's kcat, an independent Kafka client. */
export function kcat(args: string[], input?: string, timeoutMs = 60_000): string {
  return execFileSync('kcat', args, {
    input,
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Polls until `check` returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
