// Processes a fault test can kill with SIGKILL: a Redis server of the test's own, and Stockgraph
// services started as they are in production (node --import tsx <service>/main.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface ChildService {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGKILL; resolves once the process has exited (at once when it already had). */
  kill(): Promise<void>;
}

/** A port no one listens on now: the kernel's pick for port 0, released. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function killer(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
}

/** Resolves with the first match of `pattern` in the child's stdout; fails if it exits first. */
function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (!match) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      // Keep draining, so that a chatty child never blocks on a full pipe.
      child.stdout!.resume();
      resolve(match);
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * A redis-server of the test's own on `port` (no persistence, as the shared one runs): the shared
 * Redis on 6379 must never be restarted, so a Redis restart is tested on this one.
 */
export async function startRedisServer(port: number): Promise<ChildService> {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForOutput(child, /Ready to accept connections/, `redis-server on ${port}`);
  return { url: `redis://127.0.0.1:${port}`, child, kill: killer(child) };
}

/**
 * A Stockgraph service in a process of its own (`script` is e.g. subgraphs/inventory/main.ts),
 * given only `env` (and PATH); resolves with the URL it logs once listening (`<name> listening`).
 */
export async function startServiceProcess(script: string, name: string, env: Record<string, string>): Promise<ChildService> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = killer(child);
  try {
    const listening = await waitForOutput(child, new RegExp(`"url":"(http://[^"]+)/graphql"[^\\n]*"msg":"${name}[^"]* listening"`), name);
    return { url: listening[1]!, child, kill };
  } catch (error) {
    await kill();
    throw error;
  }
}
