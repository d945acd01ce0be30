import { type Redact, redactValues } from '../ui/redact.js';

/** What a webhook receives after a deploy or rollback. `text` is what Slack shows. */
export interface DeploySummary {
  text: string;
  app: string;
  stage: string;
  action: 'deploy' | 'rollback';
  ok: boolean;
  exitCode: number;
  release?: string;
  revision?: string;
  user: string;
  ms: number;
  current: Record<string, string | null>;
  error?: string;
}

const OUTCOME: Record<number, string> = {
  0: 'succeeded',
  1: 'failed before publish (nothing changed)',
  2: 'was refused (bad usage or config)',
  3: 'failed after publish and was rolled back',
  4: 'was refused: the stage is locked',
  5: 'FAILED TO ROLL BACK: hosts may differ',
  130: 'was interrupted',
};

/** The summary, with a one-line human text. Pure. */
export function summarize(s: Omit<DeploySummary, 'text'>): DeploySummary {
  const what = s.action === 'deploy' ? `deploy of ${s.app} to ${s.stage}` : `rollback of ${s.app} on ${s.stage}`;
  const rel = s.release ? ` (release ${s.release}${s.revision ? `, ${s.revision.slice(0, 12)}` : ''})` : '';
  const hosts = Object.keys(s.current).length;
  const text =
    `${s.ok ? '✅' : s.exitCode === 5 ? '🚨' : '❌'} ${what}${rel} ${OUTCOME[s.exitCode] ?? `failed (exit ${s.exitCode})`}` +
    ` by ${s.user} in ${(s.ms / 1000).toFixed(1)}s` +
    (hosts ? ` on ${hosts} host${hosts > 1 ? 's' : ''}` : '') +
    (s.error && !s.ok ? `: ${s.error}` : '');
  return { text, ...s };
}

/**
 * POSTs the summary (a deploy's, or a check alert) as JSON. Never throws: a webhook that is down must not fail a deploy
 * that went well; the returned message (without the URL, which is a credential) says why.
 */
export async function postWebhook(url: string, summary: { text: string }, redact: Redact, timeoutMs = 5000): Promise<string | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(redactValues(summary, redact)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? undefined : `the notify webhook answered HTTP ${res.status}`;
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = (e as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs}ms` : (cause?.code ?? cause?.message ?? (e as Error).message);
    return `the notify webhook could not be reached (${redact(why)})`;
  }
}
