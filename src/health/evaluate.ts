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

/** Whether one HTTP answer is healthy. Pure. */
export function judgeHttp(res: HttpResponse, expect: HealthExpect): Verdict {
  if (res.status !== expect.status) {
    const snippet = res.body.trim().slice(0, 80).replace(/\s+/g, ' ');
    return { ok: false, detail: `HTTP ${res.status} (expected ${expect.status})${snippet ? `: ${snippet}` : ''}` };
  }
  if (expect.body !== undefined && !res.body.includes(expect.body)) {
    return { ok: false, detail: `HTTP ${res.status} but the body lacks ${JSON.stringify(expect.body)}` };
  }
  return { ok: true, detail: `HTTP ${res.status}` };
}
