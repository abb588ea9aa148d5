/** The utilities, re-exported. */
export { LruCache } from "./lru.js";
export { attempt, err, mapResult, ok, unwrap } from "./result.js";
export type { Result } from "./result.js";
