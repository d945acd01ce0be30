import type { HealthExpect } from '../config/types.js';
import type { HttpResponse } from '../transport/types.js';

export interface Verdict {
  ok: boolean;
  detail: string; // "HTTP 200", "HTTP 500 (expected 200)", "body lacks \"ok\""
  /** Asking again cannot help (the host cannot resolve the name): the check ends now. */
  fatal?: boolean;
}

/** A probe's failure that asking again cannot mend: the poll ends with it. */
export class FatalProbe extends Error {}

/** Whether one HTTP answer is healthy. `expect` has its placeholders filled for the host. Pure. */
export function judgeHttp(res: HttpResponse, expect: HealthExpect): Verdict {
  if (res.status !== expect.status) {
    const snippet = res.body.trim().slice(0, 80).replace(/\s+/g, ' ');
    return { ok: false, detail: `HTTP ${res.status} (expected ${expect.status})${snippet ? `: ${snippet}` : ''}` };
  }
  if (expect.body !== undefined && !res.body.includes(expect.body)) {
    const snippet = res.body.trim().slice(0, 80).replace(/\s+/g, ' ');
    return { ok: false, detail: `HTTP ${res.status} but the body lacks ${JSON.stringify(expect.body)}${snippet ? ` (it says: ${snippet})` : ''}` };
  }
  for (const [name, want] of Object.entries(expect.header ?? {})) {
    const got = res.headers?.[name.toLowerCase()];
    if (got === undefined)
      return { ok: false, detail: `HTTP ${res.status} but the answer has no ${name} header (expected one containing ${JSON.stringify(want)})` };
    if (!got.includes(want))
      return { ok: false, detail: `HTTP ${res.status} but header ${name} is ${JSON.stringify(got)} (expected it to contain ${JSON.stringify(want)})` };
  }
  return { ok: true, detail: `HTTP ${res.status}` };
}
