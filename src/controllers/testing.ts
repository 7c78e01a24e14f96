// Scaffolding for controller tests: the controllers under test run against a real API
// (apiserver/testing.ts: registry over SQLite, no HTTP) through shared informers, the
// way kube-controller-manager runs them (https://kubernetes.io/docs/concepts/architecture/controller/),
// and are stopped when the test ends. Also the polling and lookup helpers every such
// test needs, since controllers converge asynchronously.

import type { KObject } from "../apimachinery/types.js";
import { startTestApi, type TestApi } from "../apiserver/testing.js";
import type { Clock } from "../client/clock.js";
import { runController, type Controller } from "../client/controller.js";
import { MemoryEventRecorder } from "../client/events.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import type { Client } from "../client/types.js";

/** What node:test's TestContext offers that the harness needs. */
export interface AfterHook {
  after(fn: () => Promise<void>): void;
}

export interface ControllerRunDeps {
  client: Client;
  informers: SharedInformerFactory;
  clock?: Clock;
  recorder: MemoryEventRecorder;
}

/** A controller, or something run like one that is not a `Controller` (the garbage collector). */
export type Runner = Controller | ((deps: ControllerRunDeps, signal: AbortSignal) => Promise<unknown>);

export interface ControllerRun extends ControllerRunDeps {
  api: TestApi;
}

/**
 * Starts `controllers` against `api` with one informer factory and one event recorder
 * (given or a fresh MemoryEventRecorder); when the test ends they are stopped, then the
 * informers, then the API is closed.
 */
export function runControllers(t: AfterHook, api: TestApi, controllers: Runner | Runner[], opts: { clock?: Clock; recorder?: MemoryEventRecorder } = {}): ControllerRun {
  const { clock } = opts;
  const deps: ControllerRunDeps = { client: api.client, informers: new SharedInformerFactory(api.client, { clock }), clock, recorder: opts.recorder ?? new MemoryEventRecorder() };
  const ac = new AbortController();
  const runs = (Array.isArray(controllers) ? controllers : [controllers]).map((c) => (typeof c === "function" ? c(deps, ac.signal) : runController(c, deps, ac.signal)));
  t.after(async () => {
    ac.abort();
    await Promise.all(runs);
    await deps.informers.stopped();
    await api.close();
  });
  return { api, ...deps };
}

/** A fresh test API with `controllers` running against it (see runControllers). */
export async function startControllers(t: AfterHook, controllers: Runner | Runner[], opts: { clock?: Clock; recorder?: MemoryEventRecorder } = {}): Promise<ControllerRun> {
  return runControllers(t, await startTestApi(), controllers, opts);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls every 10 ms until `cond` holds, failing after `ms`. The named form returns the
 * first truthy value of `f` and names `what` in the timeout error.
 */
export function until(cond: () => boolean | Promise<boolean>, ms?: number): Promise<void>;
export function until<T>(what: string, f: () => Promise<T | undefined | false>, ms?: number): Promise<T>;
export async function until<T>(a: string | (() => unknown), b?: number | (() => Promise<T | undefined | false>), c?: number): Promise<unknown> {
  const [what, f, ms] = typeof a === "string" ? [a, b as () => Promise<unknown>, c] : ["condition", a, b as number | undefined];
  const end = Date.now() + (ms ?? 8000);
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The object, or undefined when the API answers 404. */
export async function getIfExists(c: Client, gvr: string, ns: string | undefined, name: string): Promise<KObject | undefined> {
  try {
    return await c.get(gvr, ns, name);
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}
